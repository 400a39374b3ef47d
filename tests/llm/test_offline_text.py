"""OfflineLLMTasks: extractive summaries, MemTree aggregation and pseudo-relevance feedback."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import locomo_turns

from memsvc.embed.hashing import HashingEmbedder
from memsvc.llm.offline import DEFAULT_SUMMARY_CHARS, OfflineLLMTasks
from memsvc.types import SummaryKind


@pytest.fixture
def tasks(hashing: HashingEmbedder) -> OfflineLLMTasks:
    return OfflineLLMTasks(hashing)


def test_summarize_session_keeps_statements_in_the_third_person(
    tasks: OfflineLLMTasks, locomo: list[dict[str, Any]]
) -> None:
    turns = locomo_turns(locomo[0], [1])
    summary = tasks.summarize([f"{t.speaker}: {t.text}" for t in turns], SummaryKind.SESSION)
    assert 50 < len(summary) <= DEFAULT_SUMMARY_CHARS[SummaryKind.SESSION]
    assert "?" not in summary
    assert "Hey Mel" not in summary
    assert " I " not in f" {summary} "
    assert "Caroline" in summary and "Melanie" in summary


def test_summarize_episode_is_shorter_than_session(
    tasks: OfflineLLMTasks, locomo: list[dict[str, Any]]
) -> None:
    lines = [f"{t.speaker}: {t.text}" for t in locomo_turns(locomo[0], [1])]
    episode = tasks.summarize(lines, SummaryKind.EPISODE)
    session = tasks.summarize(lines, SummaryKind.SESSION)
    assert len(episode) <= DEFAULT_SUMMARY_CHARS[SummaryKind.EPISODE] < len(session)


def test_summarize_keeps_original_order_and_drops_duplicates(tasks: OfflineLLMTasks) -> None:
    texts = [
        "Alice lives in Lisbon.",
        "Alice works at Acme as a designer.",
        "alice lives in lisbon",
        "Alice has a sister named Anna.",
    ]
    summary = tasks.summarize(texts, SummaryKind.PROFILE)
    assert summary.count("Lisbon") + summary.count("lisbon") == 1
    assert summary.index("Lisbon") < summary.index("Acme") < summary.index("Anna")


def test_summarize_profile_prefers_slot_facts_when_space_is_short(
    hashing: HashingEmbedder,
) -> None:
    tasks = OfflineLLMTasks(hashing, summary_chars={SummaryKind.PROFILE: 40})
    texts = ["Alice felt tired after the long walk today.", "Alice lives in Lisbon."]
    assert tasks.summarize(texts, SummaryKind.PROFILE) == "Alice lives in Lisbon."


def test_summarize_empty_input_is_empty(tasks: OfflineLLMTasks) -> None:
    assert tasks.summarize([], SummaryKind.DAY) == ""


def test_aggregate_first_entry_is_the_new_text(tasks: OfflineLLMTasks) -> None:
    assert tasks.aggregate("", "Alice moved to Lisbon.", 0) == "Alice moved to Lisbon."


def test_aggregate_bound_shrinks_as_entries_accumulate(tasks: OfflineLLMTasks) -> None:
    topics = [
        "jazz",
        "tennis",
        "Lisbon",
        "pottery",
        "chess",
        "sushi",
        "Kafka",
        "kayaking",
        "astronomy",
        "violin",
        "gardening",
        "Rome",
        "marathons",
        "baking",
        "poetry",
    ]
    node = " ".join(f"Alice talked at length about {t} on day {i}." for i, t in enumerate(topics))
    few = tasks.aggregate(node, "Alice visited the tile museum.", 1)
    many = tasks.aggregate(node, "Alice visited the tile museum.", 12)
    assert len(many) < len(few) <= 560


def test_aggregate_keeps_new_information_when_the_node_is_young(tasks: OfflineLLMTasks) -> None:
    merged = tasks.aggregate("Alice likes hiking in the mountains.", "Alice adopted a cat.", 1)
    assert "hiking" in merged and "cat" in merged


def test_refine_query_appends_distinctive_terms_of_the_top_results(
    tasks: OfflineLLMTasks,
) -> None:
    retrieved = [
        "Caroline is researching adoption agencies to build a family.",
        "Caroline chose an adoption agency that helps LGBTQ+ folks.",
        "Melanie ran a charity race.",
    ]
    question = "What did Caroline research?"
    refined = tasks.refine_query(question, retrieved)
    assert refined.startswith(question + " ")
    added = refined[len(question) :].split()
    assert "adoption" in added
    assert "caroline" not in added  # already asked
    assert refined == tasks.refine_query(question, retrieved)  # deterministic


def test_refine_query_without_results_is_the_question(tasks: OfflineLLMTasks) -> None:
    assert tasks.refine_query("Where does Alice live?", []) == "Where does Alice live?"


def test_offline_usage_counts_calls(tasks: OfflineLLMTasks) -> None:
    tasks.refine_query("q", [])
    tasks.summarize([], SummaryKind.DAY)
    assert tasks.usage.calls == 2
    assert tasks.usage.prompt_tokens == 0
    assert tasks.name == "offline:hashing-v1-384"

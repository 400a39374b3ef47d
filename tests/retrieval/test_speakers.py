"""People named in a query: the neutral dense query and the speaker match."""

from __future__ import annotations

import pytest

from memsvc.retrieval.speakers import name_query, speaker_match

SPEAKERS = ["Caroline", "Melanie"]


@pytest.mark.parametrize(
    ("query", "neutral", "names"),
    [
        ("What did Caroline research?", "What did they research?", ("Caroline",)),
        ("What is Caroline's identity?", "What is their identity?", ("Caroline",)),
        ("What did melanie paint?", "What did they paint?", ("Melanie",)),
        (
            "What does Melanie think about Caroline's decision?",
            "What does they think about their decision?",
            ("Caroline", "Melanie"),
        ),
        ("How long have Mel and her husband been married?", "How long have Mel and her "
         "husband been married?", ()),
        ("Carolines and Carol", "Carolines and Carol", ()),
    ],
)  # fmt: skip
def test_name_query_neutralises_speakers_named(
    query: str, neutral: str, names: tuple[str, ...]
) -> None:
    named = name_query(query, SPEAKERS)

    assert named.neutral == neutral
    assert named.names == names


def test_name_query_keeps_a_query_that_is_only_a_name() -> None:
    assert name_query("Caroline's", SPEAKERS).neutral == "Caroline's"


def test_name_query_without_speakers_changes_nothing() -> None:
    assert name_query("What did Caroline research?", []).neutral == "What did Caroline research?"


def test_speaker_match_by_speaker_or_by_name_in_text() -> None:
    assert speaker_match(["Caroline"], speaker="caroline", text="I went hiking")
    assert speaker_match(["Caroline"], speaker=None, text="Caroline went hiking.")
    assert not speaker_match(["Caroline"], speaker="Melanie", text="I went hiking")
    assert not speaker_match([], speaker="Caroline", text="Caroline")

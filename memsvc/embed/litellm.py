"""Embeddings from any provider through litellm (OpenAI, Cohere, Ollama, vLLM, ...)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from memsvc.config import EmbedSettings
from memsvc.embed.base import Vectors
from memsvc.errors import EmbeddingFailed

__all__ = ["LiteLLMEmbedder", "no_stray_event_loop"]


@contextmanager
def no_stray_event_loop() -> Iterator[None]:
    """Close an event loop that a blocking litellm call leaves set on the calling thread.

    litellm's service logging calls ``asyncio.get_event_loop()`` from its blocking API, which on
    the main thread creates a loop, sets it as current and never closes it. A later
    ``asyncio.run`` in the caller's program replaces it and the loop is garbage-collected
    unclosed (a ``ResourceWarning``). A loop that was current before the call is left alone.
    """
    policy = asyncio.get_event_loop_policy()
    before = _current_loop(policy)
    try:
        yield
    finally:
        after = _current_loop(policy)
        if after is not None and after is not before and not after.is_running():
            policy.set_event_loop(None)
            after.close()


def _current_loop(policy: asyncio.AbstractEventLoopPolicy) -> asyncio.AbstractEventLoop | None:
    """The loop set on this thread, without creating one (``None`` when there is none)."""
    local = getattr(policy, "_local", None)
    loop = getattr(local, "_loop", None)
    return loop if isinstance(loop, asyncio.AbstractEventLoop) else None


class LiteLLMEmbedder:
    """Calls ``litellm.embedding`` in batches; rows are L2-normalised here.

    ``cfg.model`` is a litellm model string (``"text-embedding-3-small"``,
    ``"ollama/nomic-embed-text"``); ``cfg.dim`` must be the model's vector size.
    """

    def __init__(self, cfg: EmbedSettings) -> None:
        self._cfg = cfg

    @property
    def model_id(self) -> str:
        """The litellm model string."""
        return f"litellm:{self._cfg.model}"

    @property
    def dim(self) -> int:
        """The configured vector size."""
        return self._cfg.dim

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts``; a provider failure raises :class:`EmbeddingFailed`."""
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        size = self._cfg.batch_size
        for start in range(0, len(texts), size):
            chunk = list(texts[start : start + size])
            kwargs: dict[str, Any] = {"model": self._cfg.model, "input": chunk}
            if self._cfg.api_key is not None:
                kwargs["api_key"] = self._cfg.api_key.get_secret_value()
            if self._cfg.api_base:
                kwargs["api_base"] = self._cfg.api_base
            try:
                with no_stray_event_loop():
                    response = litellm.embedding(**kwargs)
                rows = [item["embedding"] for item in response.data]
            except Exception as exc:  # provider errors are many types; all become one
                raise EmbeddingFailed(
                    f"embedding provider failed: {type(exc).__name__}",
                    detail={"model": self._cfg.model},
                ) from exc
            block = np.asarray(rows, dtype=np.float32)
            if block.shape != (len(chunk), self.dim):
                raise EmbeddingFailed(
                    "embedding provider returned vectors of an unexpected shape",
                    detail={"expected_dim": self.dim, "shape": list(block.shape)},
                )
            out[start : start + len(chunk)] = block
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        out /= norms
        return out

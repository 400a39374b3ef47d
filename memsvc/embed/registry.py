"""The built (fast) embedders by configuration; nothing is imported or read until first use."""

from __future__ import annotations

import logging
from pathlib import Path

from memsvc.config import EmbedSettings
from memsvc.embed.base import Embedder
from memsvc.embed.onnx import MANIFEST_FILE, BuiltModel, OnnxEmbedder
from memsvc.embed.sentence_transformers import PACKAGED_MODEL

__all__ = ["DEFAULT_BUILDS", "built_embedder", "built_model_dir"]

logger = logging.getLogger(__name__)

#: What the packaged model's name means for each built backend.
DEFAULT_BUILDS = {"onnx": "minilm-onnx-int8", "static": "minilm-static"}


def built_model_dir(cfg: EmbedSettings) -> Path:
    """The folder of the model ``cfg`` names for the onnx/static backends."""
    name = cfg.model
    if name in {PACKAGED_MODEL, f"sentence-transformers/{PACKAGED_MODEL}"}:
        name = DEFAULT_BUILDS[cfg.backend]
    path = Path(name).expanduser()
    if path.is_absolute() or path.is_dir():
        return path
    return cfg.models_dir.expanduser() / name


def built_embedder(cfg: EmbedSettings) -> Embedder:
    """The onnx or static embedder ``cfg`` asks for.

    A missing model that ``memsvc embed build`` knows how to make is built on first use (and
    logged); anything else missing fails then with :class:`~memsvc.errors.EmbeddingFailed`.
    """
    directory = built_model_dir(cfg)

    def ensure() -> None:
        if (directory / MANIFEST_FILE).exists():
            return
        from memsvc.embed.build import BUILDS, build_model

        if directory.name in BUILDS:
            logger.warning("embedding model %s is not built yet: building it now", directory.name)
            build_model(directory.name, directory.parent)

    model = BuiltModel(directory, ensure=ensure)
    if cfg.backend == "static":
        from memsvc.embed.static import StaticEmbedder

        return StaticEmbedder(model)
    return OnnxEmbedder(model, batch_size=cfg.batch_size, threads=cfg.threads)

"""Which class implements each ``LLMSettings.backend``, resolved lazily.

The registry maps a backend name to ``"module:Class"``; the module is imported only when that
backend is built, so the offline default never imports litellm or transformers. Every class
offers ``from_settings(cfg, *, embedder)``; a third-party backend registers the same way.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from memsvc.config import LLMSettings
from memsvc.embed.base import Embedder
from memsvc.errors import ConfigError
from memsvc.llm.base import LLMTasks

__all__ = ["BACKENDS", "make_llm"]

#: Backend name -> ``"module:Class"`` of a class with ``from_settings(cfg, *, embedder)``.
BACKENDS: Mapping[str, str] = {
    "offline": "memsvc.llm.offline:OfflineLLMTasks",
    "litellm": "memsvc.llm.litellm:LiteLLMTasks",
    "local": "memsvc.llm.local:LocalLLMTasks",
}


def _resolve(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            "the LLM backend cannot be loaded", detail={"target": target, "error": str(exc)}
        ) from exc


def make_llm(
    cfg: LLMSettings, *, embedder: Embedder, backends: Mapping[str, str] | None = None
) -> LLMTasks:
    """Build the language tasks that ``cfg.backend`` names.

    Args:
        cfg: the LLM settings.
        embedder: the service's embedder (the offline backend uses it).
        backends: a registry to use instead of :data:`BACKENDS` (plugins, tests).

    Raises:
        ConfigError: the backend is unknown or its module cannot be imported.
    """
    registry = BACKENDS if backends is None else backends
    target = registry.get(cfg.backend)
    if target is None:
        raise ConfigError(
            f"unknown LLM backend {cfg.backend!r}", detail={"known": sorted(registry)}
        )
    factory = getattr(_resolve(target), "from_settings", None)
    if not callable(factory):
        raise ConfigError(
            "the LLM backend has no from_settings(cfg, *, embedder)", detail={"target": target}
        )
    tasks = factory(cfg, embedder=embedder)
    if not isinstance(tasks, LLMTasks):
        raise ConfigError("the LLM backend does not implement LLMTasks", detail={"target": target})
    return tasks

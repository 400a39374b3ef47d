"""memsvc: long-term memory for chatbots and LLM agents.

The embedded client is :class:`memsvc.Memory`; the HTTP client is :class:`memsvc.sdk.MemoryClient`.
Importing this package is light: nothing heavy (faiss, torch, sqlalchemy, fastapi) is loaded
until a :class:`Memory` is built.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "AlreadyExists",
    "AuthenticationFailed",
    "InvalidInput",
    "Memory",
    "MemoryNotFound",
    "MemsvcError",
    "PermissionDenied",
    "RateLimited",
    "Settings",
    "StoreUnavailable",
    "__version__",
]

if TYPE_CHECKING:
    from memsvc.config import Settings
    from memsvc.errors import (
        AlreadyExists,
        AuthenticationFailed,
        InvalidInput,
        MemoryNotFound,
        MemsvcError,
        PermissionDenied,
        RateLimited,
        StoreUnavailable,
    )
    from memsvc.memory import Memory


_ERRORS = (
    "AlreadyExists",
    "AuthenticationFailed",
    "InvalidInput",
    "MemoryNotFound",
    "MemsvcError",
    "PermissionDenied",
    "RateLimited",
    "StoreUnavailable",
)
# the errors a caller catches, here so that `from memsvc import MemoryNotFound` works (the same
# classes the SDK raises over HTTP)
_LAZY = {"Memory": "memsvc.memory", "Settings": "memsvc.config"}
_LAZY.update(dict.fromkeys(_ERRORS, "memsvc.errors"))


def __getattr__(name: str) -> Any:
    # Resolved on first use so that `import memsvc` (and the light SDK) loads nothing heavy.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(name)
    return getattr(importlib.import_module(module), name)

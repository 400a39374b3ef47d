"""memsvc: long-term memory for chatbots and LLM agents.

The embedded client is :class:`memsvc.Memory`; the HTTP client is :class:`memsvc.sdk.MemoryClient`.
Importing this package is light: nothing heavy (faiss, torch, sqlalchemy, fastapi) is loaded
until a :class:`Memory` is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Memory", "Settings", "__version__"]

if TYPE_CHECKING:
    from memsvc.config import Settings
    from memsvc.memory import Memory


def __getattr__(name: str) -> Any:
    if name == "Memory":
        from memsvc.memory import Memory

        return Memory
    if name == "Settings":
        from memsvc.config import Settings

        return Settings
    raise AttributeError(name)

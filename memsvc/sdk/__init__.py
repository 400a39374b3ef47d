"""The memsvc Python SDK: HTTP clients with the same methods as the embedded ``Memory``.

Light by design: it imports httpx, pydantic and memsvc's wire models and errors only (no torch,
faiss, sqlalchemy or fastapi).

Example::

    from memsvc.sdk import MemoryClient

    with MemoryClient("http://127.0.0.1:8765", api_key="msk_...") as memory:
        memory.add("I moved to Paris last week", user_id="alice")
        print(memory.search("where does alice live?", user_id="alice").hits[0].memory.content)
"""

from __future__ import annotations

from memsvc.sdk._errors import ServiceUnreachable
from memsvc.sdk.client import AsyncMemoryClient, MemoryClient

__all__ = ["AsyncMemoryClient", "MemoryClient", "ServiceUnreachable"]

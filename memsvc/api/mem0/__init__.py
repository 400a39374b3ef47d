"""mem0-compatible REST routes: mem0's own clients talk to memsvc unchanged (issue 18)."""

from memsvc.api.mem0.routes import router

__all__ = ["router"]

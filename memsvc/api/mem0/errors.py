"""mem0's error shape for the mem0-compatible routes.

mem0's clients read an error body's ``detail`` as its message (the Python client) or take the
whole body as the message (the TypeScript client), and pick their exception class from the HTTP
status alone: 400 and 422 are ``ValidationError``, 401/403 ``AuthenticationError``, 404
``MemoryNotFoundError``, 429 ``RateLimitError``. So every error of these routes is
``{"detail": message, "code": memsvc code, "details": {...}}`` with mem0's statuses (bad input is
400, as mem0 answers), and the native ``{"error": {...}}`` shape stays on the native routes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from memsvc.api.errors import status_for
from memsvc.errors import AuthenticationFailed, InvalidInput, MemsvcError, RateLimited

__all__ = ["MEM0_RESPONSES", "Mem0ErrorBody", "Mem0Route", "Unsupported", "mem0_error"]


class Mem0ErrorBody(BaseModel):
    """mem0's error body: ``detail`` is the message its clients show."""

    detail: str
    code: str = Field(description="memsvc's stable error code (invalid_input, unsupported ...).")
    details: dict[str, Any] = Field(default_factory=dict)


_DESCRIPTIONS = {
    400: "Invalid input, or an option or filter memsvc cannot honour (code unsupported).",
    401: "Missing, unknown or revoked API key (Authorization: Token <key>).",
    403: "The key lacks the right for this route.",
    404: "No such memory in the caller's namespace.",
    409: "Scope conflict.",
    429: "Rate limited; retry after the Retry-After header.",
    502: "The language model failed.",
    503: "The database, index or embedder is unavailable; retry later.",
    504: "The language model timed out.",
}
MEM0_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Mem0ErrorBody, "description": text} for status, text in _DESCRIPTIONS.items()
}
"""The error responses documented on every mem0-compatible route."""


class Unsupported(InvalidInput):
    """A mem0 option or filter that memsvc cannot honour (400, ``unsupported``)."""

    code = "unsupported"


def mem0_error(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> JSONResponse:
    """A JSON error response in mem0's shape."""
    return JSONResponse(
        {"detail": message, "code": code, "details": dict(details or {})}, status_code=status
    )


def _from_memsvc(exc: MemsvcError) -> JSONResponse:
    status = 400 if isinstance(exc, InvalidInput) else status_for(exc)
    details = {
        k: v if isinstance(v, str | int | float | bool) else str(v) for k, v in exc.detail.items()
    }
    response = mem0_error(status, exc.code, exc.message, details)
    if isinstance(exc, RateLimited):
        retry = float(exc.detail.get("retry_after_s", 1.0))
        response.headers["Retry-After"] = str(max(1, math.ceil(retry)))
    if isinstance(exc, AuthenticationFailed):
        response.headers["WWW-Authenticate"] = "Token"
    return response


def _from_validation(exc: RequestValidationError) -> JSONResponse:
    # Field locations and messages only: the rejected input is the caller's data.
    errors = [
        {"loc": [str(p) for p in err.get("loc", ())], "msg": str(err.get("msg", ""))[:200]}
        for err in exc.errors()[:20]
    ]
    where = ".".join(errors[0]["loc"]) if errors else "body"
    first = errors[0]["msg"] if errors else "invalid request"
    return mem0_error(
        400, "invalid_input", f"invalid request: {where}: {first}", {"errors": errors}
    )


class Mem0Route(APIRoute):
    """An ``APIRoute`` whose errors are written in mem0's shape instead of memsvc's."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, wrapped so domain and schema errors answer in mem0's shape."""
        handler = super().get_route_handler()

        async def mem0_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except MemsvcError as exc:
                return _from_memsvc(exc)
            except RequestValidationError as exc:
                return _from_validation(exc)

        return mem0_handler

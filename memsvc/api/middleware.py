"""Pure ASGI middleware: the request body limit and the catch-all for unexpected errors.

Pure ASGI (not ``BaseHTTPMiddleware``) so that neither adds a task or a copy of the body to
each request.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memsvc.api.errors import error_body

__all__ = ["BodySizeLimitMiddleware", "CatchAllMiddleware"]

logger = logging.getLogger(__name__)


class _BodyTooLarge(HTTPException):
    """Raised from ``receive`` when the streamed body passes the limit.

    A FastAPI ``HTTPException``, because FastAPI re-raises those from body parsing (any other
    exception there becomes a 400); the HTTP error handler then answers 413 limit_exceeded.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class BodySizeLimitMiddleware:
    """Answer 413 ``limit_exceeded`` to a request whose body is larger than ``max_bytes``.

    A declared ``Content-Length`` above the limit is refused before anything is read; a chunked
    body is counted as it streams and refused as soon as it passes the limit.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if started:
                raise
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = error_body(
            "limit_exceeded",
            f"the request body is larger than {self.max_bytes} bytes",
            {"limit": self.max_bytes},
        )
        await _send_json(send, 413, body)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class CatchAllMiddleware:
    """Turn any unexpected exception into 500 ``internal_error``, logged here with its traceback.

    The client gets the error body only: no traceback, no exception text.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            route = scope.get("route")
            # The type only at ERROR: an error's text may quote a request (traceback at DEBUG).
            logger.error(
                "unhandled error on %s %s: %s",
                scope.get("method", "?"),
                getattr(route, "path", "<unmatched>"),
                type(exc).__name__,
            )
            logger.debug("unhandled error", exc_info=True)
            if started:
                raise
            await _send_json(send, 500, error_body("internal_error", "internal server error"))

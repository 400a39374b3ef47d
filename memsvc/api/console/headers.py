"""A Content-Security-Policy on the pages a browser renders: the console, ``/docs``, ``/redoc``.

The policy lets a page load only from this server, so an offline page never tries the
network: ReDoc's bundle, for one, links a logo on its vendor's CDN, which the browser now
does not fetch. The console needs no inline script; Swagger UI and ReDoc start from one.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["PagePolicyMiddleware"]

_CONSOLE = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_DOCS = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; worker-src 'self' blob:; frame-ancestors 'none'"
)


class PagePolicyMiddleware:
    """Adds the policy and ``X-Content-Type-Options: nosniff`` to ``/ui``, ``/docs``, ``/redoc``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path == "/ui" or path.startswith("/ui/"):
            policy = _CONSOLE
        elif path in ("/docs", "/redoc"):
            policy = _DOCS
        else:
            await self.app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"content-security-policy", policy.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_policy)

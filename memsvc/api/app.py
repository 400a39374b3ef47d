"""The FastAPI application factory.

Run it with ``memsvc serve``, or ``uvicorn --factory memsvc.api.app:create_app`` (settings then
come from ``MEMSVC_*`` variables). There is no module-level app: every call builds a new one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware

import memsvc
from memsvc.api.auth import Authenticator
from memsvc.api.console import PagePolicyMiddleware, install_console
from memsvc.api.deps import ApiState
from memsvc.api.errors import install_error_handlers
from memsvc.api.metrics import Metrics, RequestTimingMiddleware
from memsvc.api.middleware import BodySizeLimitMiddleware, CatchAllMiddleware
from memsvc.api.ratelimit import RateLimiter
from memsvc.api.routes import admin, health, memories, search
from memsvc.config import Settings

if TYPE_CHECKING:
    from memsvc.service.facade import MemoryService

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

_DESCRIPTION = """\
Long-term memory for chatbots and LLM agents.

Send what was said with `POST /v1/memories`; ask what matters with `POST /v1/search`.
Every request carries an API key (`Authorization: Bearer <key>` or `X-API-Key`) that confines it
to one namespace; another tenant's memories answer 404. Every error body is
`{"error": {"code", "message", "detail"}}` with a stable `code`.
"""


def _lifespan(owns_service: bool) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state: ApiState = app.state.api
        if getattr(app.state, "service", None) is None:
            from memsvc.wiring import build_service

            app.state.service = await run_in_threadpool(build_service, state.settings)
        try:
            yield
        finally:
            service: MemoryService = app.state.service
            if owns_service:
                await run_in_threadpool(service.close)
                app.state.service = None
            else:
                await run_in_threadpool(service.flush)

    return lifespan


def create_app(
    settings: Settings | None = None, *, service: MemoryService | None = None
) -> FastAPI:
    """Build the REST API.

    Args:
        settings: configuration (default: the service's, else ``Settings()`` from the
            environment).
        service: an already built service. It is put on ``app.state.service`` at once (so an
            ``httpx.ASGITransport``, which runs no lifespan, works) and is flushed, not closed,
            on shutdown: its owner closes it. Without it the lifespan builds one with
            ``build_service`` and closes it on shutdown.
    """
    if settings is None:
        settings = service.settings if service is not None else Settings()
    if not settings.api.auth:
        logger.warning(
            "API authentication is OFF: every request acts on namespace %r with admin rights. "
            "Use this for local development only (set api.auth=true).",
            settings.namespace,
        )
    metrics = Metrics(lambda: getattr(app.state, "service", None), settings.namespace)
    # Swagger UI and ReDoc from fastapi-offline's packaged copies, not from a CDN: /docs and
    # /redoc must work on a machine with no internet (issue 17).
    app = FastAPIOffline(
        title="memsvc",
        version=memsvc.__version__,
        description=_DESCRIPTION,
        lifespan=_lifespan(owns_service=service is None),
        middleware=_middleware(settings, metrics),
    )
    app.state.api = ApiState(
        settings=settings,
        authenticator=Authenticator(settings.api, default_namespace=settings.namespace),
        limiter=RateLimiter(settings.api.rate_limit_per_minute),
        metrics=metrics,
        search_slots=anyio.CapacityLimiter(settings.api.search_concurrency),
    )
    app.state.service = service
    install_error_handlers(app)
    for module in (memories, search, admin, health):
        app.include_router(module.router)
    if settings.api.mem0_compat:
        from memsvc.api import mem0

        app.include_router(mem0.router)
    install_console(app)
    return app


def _middleware(settings: Settings, metrics: Metrics) -> list[Middleware]:
    """Outermost first: timing sees every answer, including the catch-all's 500s and 413s."""
    stack = [
        Middleware(RequestTimingMiddleware, metrics=metrics),
        Middleware(CatchAllMiddleware),
        Middleware(BodySizeLimitMiddleware, max_bytes=settings.api.max_body_bytes),
        Middleware(PagePolicyMiddleware),
    ]
    if settings.api.cors_origins:
        stack.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.api.cors_origins,
                allow_methods=["GET", "POST", "PATCH", "DELETE"],
                allow_headers=["Authorization", "X-API-Key", "Content-Type"],
            )
        )
    return stack

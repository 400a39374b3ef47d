"""Running the API: ``run_server`` (what ``memsvc serve`` calls) and ``BackgroundServer``.

``BackgroundServer`` runs uvicorn in a thread on a socket it has already bound, so tests and
examples get a live server on a free port with no race.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from memsvc.api.app import create_app
from memsvc.config import Settings

__all__ = ["BackgroundServer", "NoDelayHttpProtocol", "app_from_environment", "run_server"]

logger = logging.getLogger(__name__)

try:  # uvicorn[standard]'s parser when installed, else the pure-Python h11
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _HttpProtocol
except ImportError:  # pragma: no cover - httptools is a dependency
    from uvicorn.protocols.http.h11_impl import (  # type: ignore[assignment]
        H11Protocol as _HttpProtocol,
    )


class NoDelayHttpProtocol(_HttpProtocol):
    """uvicorn's HTTP protocol with Nagle's algorithm switched off on every connection.

    asyncio turns on ``TCP_NODELAY`` only for sockets created with ``proto=IPPROTO_TCP``;
    uvicorn's multi-worker mode binds its listening socket with ``proto=0``, so the workers'
    connections kept Nagle's algorithm on. A response written in two segments then waited for
    the client's delayed ACK: every request of a keep-alive connection took ~45 ms more
    (``rest_bench.py --workers 2``: one client p50 60 ms against a 13 ms search).
    """

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Switch Nagle off, then let uvicorn set the connection up."""
        set_nodelay(transport.get_extra_info("socket"))
        super().connection_made(transport)  # type: ignore[arg-type]


def set_nodelay(sock: Any) -> None:
    """Set ``TCP_NODELAY`` on a TCP socket (anything else is left alone)."""
    if sock is None or getattr(sock, "family", None) not in (socket.AF_INET, socket.AF_INET6):
        return
    with contextlib.suppress(OSError):  # a closed or exotic socket: nothing to tune
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


# Worker processes cannot be handed a Settings object, so run_server passes it as JSON in the
# environment. The name lacks the MEMSVC_ prefix so that Settings never reads it as a field.
_SETTINGS_ENV = "_MEMSVC_SERVE_SETTINGS"


def run_server(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
    log_level: str = "info",
) -> None:
    """Serve the API with uvicorn until interrupted (blocking).

    Args:
        settings: the configuration; ``host``, ``port`` and ``workers`` default to ``settings.api``.
        workers: worker processes. With more than one, each process builds its own service
            from the same settings and this process deals connections to them
            (:mod:`memsvc.api.balancer`; uvicorn's shared socket where that is not supported).
            SQLite serialises writers across them: use PostgreSQL for write-heavy loads.
        log_level: uvicorn's log level.
    """
    host = host or settings.api.host
    port = port if port is not None else settings.api.port
    workers = workers or settings.api.workers
    logger.info("serving memsvc on http://%s:%d with %d worker(s)", host, port, workers)
    api = settings.api
    if workers > 1 and api.rate_limit_per_minute and api.rate_limit_storage.startswith("memory"):
        logger.warning(
            "rate limit counts are per worker (api.rate_limit_storage=memory://): %d workers "
            "allow %d times the rate; set api.rate_limit_storage=redis://... to share them",
            workers,
            workers,
        )
    if workers == 1:
        uvicorn.run(
            create_app(settings),
            host=host,
            port=port,
            log_level=log_level,
            http=NoDelayHttpProtocol,
        )
        return
    from memsvc.api import balancer

    if balancer.is_supported():
        balancer.serve_balanced(
            settings_to_json(settings), host=host, port=port, workers=workers, log_level=log_level
        )
        return
    os.environ[_SETTINGS_ENV] = settings_to_json(settings)
    uvicorn.run(
        "memsvc.api.server:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        http=NoDelayHttpProtocol,
    )


def app_from_environment() -> FastAPI:
    """The app of one uvicorn worker process started by :func:`run_server`."""
    raw = os.environ.get(_SETTINGS_ENV)
    return create_app(Settings.model_validate_json(raw) if raw else Settings())


def settings_to_json(settings: Settings) -> str:
    """The settings as JSON that ``Settings.model_validate_json`` reads back, secrets included."""

    def reveal(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        if isinstance(value, dict):
            return {k: reveal(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [reveal(v) for v in value]
        if isinstance(value, Path):
            return str(value)
        return value

    return json.dumps(reveal(settings.model_dump()))


class BackgroundServer:
    """A live uvicorn server in a daemon thread, on ``host`` and a free port.

    Example::

        with BackgroundServer(create_app(settings)) as base_url:
            client = MemoryClient(base_url)

    Args:
        app: the ASGI app; its lifespan runs in the server thread.
        host: interface to bind.
        port: 0 picks a free port.
        startup_timeout_s: how long ``__enter__`` waits for the server to accept requests.
    """

    def __init__(
        self,
        app: FastAPI,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        startup_timeout_s: float = 30.0,
    ) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._startup_timeout_s = startup_timeout_s
        self._config = uvicorn.Config(
            app, log_level=log_level, lifespan="on", http=NoDelayHttpProtocol
        )
        self._server = uvicorn.Server(self._config)
        self._thread: threading.Thread | None = None
        self.base_url = ""

    def __enter__(self) -> str:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        port = sock.getsockname()[1]
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="memsvc-api", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the API server did not start")
            time.sleep(0.01)
        self.base_url = f"http://{self._host}:{port}"
        return self.base_url

    def stop(self) -> None:
        """Ask the server to finish and wait for its thread (the lifespan shutdown runs)."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

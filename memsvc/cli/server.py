"""Long-running commands: ``memsvc serve`` (REST API), ``memsvc worker`` (consolidation
processes) and ``memsvc mcp`` (Model Context Protocol server)."""

from __future__ import annotations

import ipaddress
import logging
import multiprocessing
import os
import signal
import socket
import threading
from collections.abc import Callable
from types import FrameType

import click

from memsvc.cli.context import CliState, pass_state
from memsvc.cli.logs import LogFormat, configure_logging
from memsvc.cli.output import console, emit_json, json_option
from memsvc.config import Settings
from memsvc.errors import ConfigError

__all__ = ["mcp_command", "serve_command", "worker_command"]

logger = logging.getLogger(__name__)

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_SUPERVISE_POLL_S = 1.0
_CHILD_STOP_TIMEOUT_S = 60.0


@click.command("serve")
@click.option("--host", help="Interface to listen on (default: api.host).")
@click.option("--port", type=click.IntRange(1, 65535), help="TCP port (default: api.port).")
@click.option(
    "--workers", type=click.IntRange(1, 64), help="uvicorn worker processes (default: api.workers)."
)
@click.option(
    "--insecure-no-auth",
    "is_insecure_no_auth",
    is_flag=True,
    help="Serve with auth off on a non-loopback --host anyway (every caller is admin).",
)
@click.option(
    "--migrate",
    "is_migrating",
    is_flag=True,
    help="Migrate the database to the code's revision first (SQLite always does).",
)
@pass_state
def serve_command(
    state: CliState,
    host: str | None,
    port: int | None,
    workers: int | None,
    is_insecure_no_auth: bool,
    is_migrating: bool,
) -> None:
    """Run the REST API server in the foreground, with the web console at /ui and the API's
    documentation at /docs (Ctrl-C stops it).

    With auth off it listens only on a loopback address unless --insecure-no-auth is given.
    On PostgreSQL it refuses a database that is not migrated: run `memsvc db upgrade` first,
    or pass --migrate.
    """
    from memsvc.api.server import run_server

    state.use_default_log_level("INFO")
    settings = state.settings
    check_protected_mode(settings, host or settings.api.host, is_insecure=is_insecure_no_auth)
    _check_schema(settings, is_migrating=is_migrating)
    run_server(
        state.settings,
        host=host,
        port=port,
        workers=workers,
        log_level=(state.log_level or "info").lower(),
    )


def check_protected_mode(settings: Settings, host: str, *, is_insecure: bool) -> None:
    """Refuse to serve with auth off on an address other machines reach (Redis's protected
    mode): there every caller would be admin of the default namespace.

    Raises:
        ConfigError: auth is off, ``host`` is not loopback and ``is_insecure`` is false.
    """
    if settings.api.auth or _is_loopback(host):
        return
    if is_insecure:
        logger.warning(
            "serving on %s with authentication OFF (--insecure-no-auth): anyone who reaches "
            "this address is admin of namespace %r",
            host,
            settings.namespace,
        )
        return
    raise ConfigError(
        f"refusing to serve on {host} with auth off: anyone reaching it would be admin. "
        "Turn auth on (MEMSVC_API__AUTH=true with MEMSVC_API__ADMIN_KEY, see the README), "
        "listen on 127.0.0.1, or pass --insecure-no-auth"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_schema(settings: Settings, *, is_migrating: bool) -> None:
    """Migrate (``--migrate``) or refuse a PostgreSQL database behind the code's revision
    (SQLite migrates itself when the service is built)."""
    from memsvc.store import migrate

    if is_migrating:
        migrate.upgrade(settings.db)
        return
    if settings.db.url.startswith("sqlite"):
        return
    current, expected = migrate.current(settings.db), migrate.head()
    if current != expected:
        raise ConfigError(
            f"the database is at schema revision {current or '(none: a fresh database)'}, "
            f"this memsvc needs {expected}: run `memsvc db upgrade` first (or serve --migrate)"
        )


@click.command("mcp")
@click.option(
    "--transport",
    type=click.Choice(["stdio", "streamable-http"]),
    default="stdio",
    show_default=True,
    help="stdio (an agent launches this process) or streamable-http.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface for HTTP.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8766, show_default=True, help="Port for HTTP."
)
@click.option("--user-id", help="Default user_id for tool calls that name no scope.")
@pass_state
def mcp_command(state: CliState, transport: str, host: str, port: int, user_id: str | None) -> None:
    """Run the MCP server, so agents can add and search memories as tools.

    With --url the tools go to that memsvc server; otherwise to the configured database.
    """
    from memsvc.mcp_server import run_mcp

    state.use_default_log_level("INFO")
    run_mcp(
        None if state.is_remote else state.settings,
        "streamable-http" if transport == "streamable-http" else "stdio",
        url=state.url,
        api_key=state.api_key,
        host=host,
        port=port,
        user_id=user_id,
        namespace=state.namespace,
    )


@click.command("worker")
@click.option(
    "--processes",
    "-n",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes, each claiming jobs from the database queue.",
)
@click.option(
    "--once", "is_once", is_flag=True, help="Run queued jobs until none is ready, then exit."
)
@json_option
@pass_state
def worker_command(state: CliState, processes: int, is_once: bool, as_json: bool) -> None:
    """Run consolidation workers until SIGTERM/SIGINT (each finishes its current job first).

    Set consolidation.in_process_worker=false on the API servers when workers run apart.
    """
    state.use_default_log_level("INFO")
    settings = state.settings
    if not settings.consolidation.enabled:
        logger.warning("consolidation.enabled is false: workers will find no jobs")
    if is_once:
        ran = state.service().run_pending_jobs()
        if as_json:
            emit_json({"jobs_run": ran})
        else:
            console().print(f"ran {ran} consolidation job(s)")
        return
    from memsvc.store import migrate

    if settings.db.url.startswith("sqlite"):
        migrate.upgrade(settings.db)  # once here, not racing in every child
    level = state.log_level or ("DEBUG" if state.is_debug else "INFO")
    if processes == 1:
        run_worker_process(settings, index=0, log_level=level, log_format=state.log_format)
        return
    _supervise(settings, processes=processes, log_level=level, log_format=state.log_format)


def run_worker_process(
    settings: Settings, *, index: int, log_level: str, log_format: LogFormat
) -> None:
    """Body of one worker process: claim and run jobs until SIGTERM or SIGINT.

    Module-level so that ``multiprocessing`` (spawn) can start it in a fresh interpreter.
    """
    from memsvc.wiring import build_service

    configure_logging(log_level, log_format)
    stop = threading.Event()
    _on_stop_signals(lambda: stop.set())
    service = build_service(settings, migrate_db=False, start_worker=False)
    try:
        service.start_worker(worker_id=f"{socket.gethostname()}:{os.getpid()}:w{index}")
        while not stop.wait(_SUPERVISE_POLL_S):
            pass
        logger.info("worker %d stopping: finishing the current job", index)
    finally:
        service.close()


def _supervise(
    settings: Settings, *, processes: int, log_level: str, log_format: LogFormat
) -> None:
    """Start ``processes`` worker processes and forward SIGTERM/SIGINT to them."""
    spawn = multiprocessing.get_context("spawn")
    children = [
        spawn.Process(
            target=run_worker_process,
            args=(settings,),
            kwargs={"index": i, "log_level": log_level, "log_format": log_format},
            name=f"memsvc-worker-{i}",
        )
        for i in range(processes)
    ]
    stop = threading.Event()
    _on_stop_signals(lambda: stop.set())
    for child in children:
        child.start()
    logger.info("started %d worker processes", processes)
    while not stop.wait(_SUPERVISE_POLL_S):
        alive = [c for c in children if c.is_alive()]
        if len(alive) < len(children):
            for dead in (c for c in children if not c.is_alive()):
                logger.error("worker process %s exited with status %s", dead.name, dead.exitcode)
            children = alive
        if not children:
            raise click.ClickException("every worker process exited")
    for child in children:
        child.terminate()  # SIGTERM: the child finishes its current job and exits
    for child in children:
        child.join(_CHILD_STOP_TIMEOUT_S)
    logger.info("worker processes stopped")


def _on_stop_signals(callback: Callable[[], None]) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001
        callback()

    for sig in _STOP_SIGNALS:
        signal.signal(sig, handler)

"""Several worker processes on one port, each new connection given to the least busy one.

uvicorn's own ``--workers`` lets every worker accept from one shared socket: the worker that
wakes first takes every connection waiting, so a handful of keep-alive clients usually lands on
one process while the others idle (measured with 8 clients on 2 workers: 7 connections on one
worker, search p95 89 ms; the second core did little). Here the parent process accepts and deals
each connection, over a Unix socket (``SCM_RIGHTS``), to the ready worker holding the fewest
open connections; the worker serves it with uvicorn's protocol as if it had accepted it itself.

The parent also restarts a worker that dies after it was ready, stops everything when one fails
during startup (a configuration error would fail again), and passes SIGTERM on for a graceful
shutdown. Linux and other Unixes only (``socket.send_fds``); :func:`is_supported` tells.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import selectors
import signal
import socket
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.context import SpawnProcess
from typing import Any

import uvicorn

from memsvc.api.server import NoDelayHttpProtocol

__all__ = ["is_supported", "serve_balanced"]

logger = logging.getLogger(__name__)

_READY = b"R"
_STARTUP_FAILURE = 3
_STOP_TIMEOUT_S = 30.0

# In a worker process: its shared "connections closed" counter and its own slot in it.
_closed_counter: Any = None
_closed_index = 0


def is_supported() -> bool:
    """Whether connections can be handed to worker processes on this platform."""
    return hasattr(socket, "send_fds") and hasattr(socket, "SOCK_SEQPACKET")


class _CountedProtocol(NoDelayHttpProtocol):
    """The worker's HTTP protocol: also counts closed connections for the parent."""

    def connection_lost(self, exc: Exception | None) -> None:
        """Let uvicorn clean up, then count the connection as closed."""
        super().connection_lost(exc)
        _count_closed()


def _count_closed() -> None:
    """One connection of this worker is over (the parent deals by open connections)."""
    if _closed_counter is not None:
        _closed_counter[_closed_index] += 1


class _HandedServer(uvicorn.Server):
    """A uvicorn server with no listening socket: it serves connections the parent sends."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket) -> None:
        super().__init__(config)
        self._channel = channel
        self._handing: set[asyncio.Task[None]] = set()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:  # noqa: ARG002
        """Run the app's startup; then take connections from the channel and say ready."""
        await super().startup(sockets=[])
        if self.should_exit:
            return
        loop = asyncio.get_running_loop()
        self._channel.setblocking(False)
        loop.add_reader(self._channel.fileno(), self._receive, loop)
        self._channel.send(_READY)

    def _protocol(self) -> asyncio.Protocol:
        # What uvicorn's own startup builds for each connection its listener accepts.
        protocol: asyncio.Protocol = self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config, server_state=self.server_state, app_state=self.lifespan.state
        )
        return protocol

    def _receive(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            try:
                message, fds, _, _ = socket.recv_fds(self._channel, 16, 1)
            except BlockingIOError:
                return
            except OSError:
                message, fds = b"", []
            if not message and not fds:  # the parent is gone: finish what is open, then exit
                loop.remove_reader(self._channel.fileno())
                self.should_exit = True
                return
            for fd in fds:
                task = loop.create_task(_serve_connection(loop, self._protocol, fd))
                self._handing.add(task)  # the loop keeps only a weak reference to a task
                task.add_done_callback(self._handing.discard)


async def _serve_connection(loop: asyncio.AbstractEventLoop, protocol: Any, fd: int) -> None:
    conn = socket.socket(fileno=fd)
    try:
        await loop.connect_accepted_socket(protocol, conn)
    except OSError:  # the client left before the worker got to it: count it as closed
        conn.close()
        _count_closed()


def _worker_main(
    index: int,
    channel: socket.socket,
    settings_json: str,
    log_level: str,
    closed: Any,
    logs: tuple[int, logging.Formatter | None, dict[str, int]],
) -> None:
    """One worker process: build the app from the settings and serve handed connections."""
    global _closed_counter, _closed_index
    _closed_counter, _closed_index = closed, index
    _use_logging(*logs)
    from memsvc.api.app import create_app
    from memsvc.config import Settings

    app = create_app(Settings.model_validate_json(settings_json))
    config = uvicorn.Config(app, http=_CountedProtocol, log_level=log_level, lifespan="on")
    server = _HandedServer(config, channel)
    server.run(sockets=[])
    if not server.started:
        sys.exit(_STARTUP_FAILURE)


def _logging_of_this_process() -> tuple[int, logging.Formatter | None, dict[str, int]]:
    """The root logger's level, the format of its stream handler and the levels set on named
    loggers (what ``memsvc --log-level/--log-format`` set up), for the workers to log alike."""
    root = logging.getLogger()
    formatter = next(
        (h.formatter for h in root.handlers if isinstance(h, logging.StreamHandler)), None
    )
    levels = {
        name: logger.level
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger) and logger.level != logging.NOTSET
    }
    return root.level, formatter, levels


def _use_logging(level: int, formatter: logging.Formatter | None, levels: dict[str, int]) -> None:
    """Log to stderr as the parent does (a spawned process starts with no handler at all)."""
    for name, named_level in levels.items():
        logging.getLogger(name).setLevel(named_level)
    if formatter is None:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)


@dataclass
class _Worker:
    index: int
    process: SpawnProcess
    channel: socket.socket
    ready: bool = False  # takes connections now
    started: bool = False  # said ready once (a death before that is a startup failure)
    sent: int = 0


@dataclass
class _Pool:
    """The parent's view of its workers."""

    settings_json: str
    log_level: str
    size: int
    context: Any = field(default_factory=lambda: multiprocessing.get_context("spawn"))
    workers: list[_Worker] = field(default_factory=list)
    turn: int = 0

    def __post_init__(self) -> None:
        # Connections each worker has closed, written by the workers; the parent counts the
        # ones it sent, so open = sent - closed without any message per close.
        self.closed: Any = self.context.Array("q", self.size, lock=False)

    def start(self, index: int) -> _Worker:
        parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.closed[index] = 0
        process = self.context.Process(
            target=_worker_main,
            args=(
                index,
                child_end,
                self.settings_json,
                self.log_level,
                self.closed,
                _logging_of_this_process(),
            ),
            name=f"memsvc-worker-{index}",
        )
        process.start()
        child_end.close()
        parent_end.setblocking(False)
        return _Worker(index=index, process=process, channel=parent_end)

    def live(self, worker: _Worker) -> int:
        return worker.sent - int(self.closed[worker.index])

    def pick(self, skip: set[int] | frozenset[int] = frozenset()) -> _Worker | None:
        """The ready worker with the fewest open connections (ties in turn), not in ``skip``."""
        ready = [w for w in self.workers if w.ready and w.index not in skip]
        if not ready:
            return None
        self.turn += 1
        order = ready[self.turn % len(ready) :] + ready[: self.turn % len(ready)]
        return min(order, key=self.live)


def serve_balanced(
    settings_json: str, *, host: str, port: int, workers: int, log_level: str
) -> None:
    """Serve the API from ``workers`` processes behind one listening socket (blocking).

    Args:
        settings_json: the settings, as :func:`memsvc.api.server.settings_to_json` writes them.
        host, port: where to listen.
        workers: worker processes (at least 2; one worker needs no parent).
        log_level: uvicorn's log level in the workers.

    Raises:
        SystemExit: a worker failed during startup (the others are stopped first).
    """
    listener = socket.create_server((host, port), backlog=2048)
    listener.setblocking(False)
    pool = _Pool(settings_json=settings_json, log_level=log_level, size=workers)
    stopping = False

    def on_signal(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        logger.info("received signal %d: stopping %d workers", signum, workers)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    selector = selectors.DefaultSelector()
    pending: deque[socket.socket] = deque()
    failed = is_up = False
    try:
        for i in range(workers):
            worker = pool.start(i)
            pool.workers.append(worker)
            selector.register(worker.channel, selectors.EVENT_READ, worker)
        selector.register(listener, selectors.EVENT_READ, None)
        logger.info("memsvc listening on http://%s:%d with %d workers", host, port, workers)
        while not stopping:
            for key, _ in selector.select(timeout=0.5):
                if key.data is None:
                    _accept_all(listener, pending)
                else:
                    _read_status(key.data, selector)
            failed = _replace_dead(pool, selector)
            if failed:
                break
            # Nothing is dealt until every worker has started: a client that connects early
            # would otherwise stay on the first worker ready for as long as it keeps alive.
            is_up = is_up or all(w.started for w in pool.workers)
            if is_up:
                _deal(pool, pending)
    finally:
        selector.close()
        listener.close()
        for conn in pending:
            conn.close()
        _stop(pool.workers)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failed:
        raise SystemExit(_STARTUP_FAILURE)


def _accept_all(listener: socket.socket, pending: deque[socket.socket]) -> None:
    while True:
        try:
            conn, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # e.g. out of file descriptors: try again on the next wake-up
            logger.warning("accept failed: %s", exc)
            return
        pending.append(conn)


def _read_status(worker: _Worker, selector: selectors.BaseSelector) -> None:
    try:
        message = worker.channel.recv(16)
    except BlockingIOError:
        return
    except OSError:
        message = b""
    if message == _READY:
        worker.ready = worker.started = True
        logger.debug("worker %d (pid %s) ready", worker.index, worker.process.pid)
    elif not message:  # the worker is gone; _replace_dead deals with it
        selector.unregister(worker.channel)
        worker.ready = False


def _deal(pool: _Pool, pending: deque[socket.socket]) -> None:
    """Hand out waiting connections; a worker whose channel is full is passed over this round."""
    full: set[int] = set()
    while pending:
        target = pool.pick(skip=full)
        if target is None:
            return
        conn = pending.popleft()
        try:
            socket.send_fds(target.channel, [b"c"], [conn.fileno()])
        except BlockingIOError:  # its event loop is not reading: keep the connection waiting
            pending.appendleft(conn)
            full.add(target.index)
            continue
        except OSError:
            logger.warning("worker %d did not take a connection; it is closed", target.index)
        else:
            target.sent += 1
        conn.close()  # the worker has its own descriptor now


def _replace_dead(pool: _Pool, selector: selectors.BaseSelector) -> bool:
    """Restart workers that died after startup; ``True`` when one died during startup."""
    for i, worker in enumerate(pool.workers):
        if worker.process.is_alive():
            continue
        code = worker.process.exitcode
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(worker.channel)
        worker.channel.close()
        if not worker.started:
            logger.error("worker %d failed during startup (exit code %s)", worker.index, code)
            return True
        logger.error("worker %d died (exit code %s); starting a new one", worker.index, code)
        replacement = pool.start(worker.index)
        pool.workers[i] = replacement
        selector.register(replacement.channel, selectors.EVENT_READ, replacement)
    return False


def _stop(workers: list[_Worker]) -> None:
    """SIGTERM to every worker (uvicorn finishes open requests), then wait; kill stragglers."""
    for worker in workers:
        if worker.process.is_alive():
            worker.process.terminate()
    deadline = time.monotonic() + _STOP_TIMEOUT_S
    for worker in workers:
        worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
        if worker.process.is_alive():
            logger.warning("worker %d did not stop in time; killing it", worker.index)
            worker.process.kill()
            worker.process.join()
        with contextlib.suppress(OSError):
            worker.channel.close()

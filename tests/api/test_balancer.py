"""The parent's dealing of connections to workers, on real sockets (no worker processes: the
channels' far ends stand in for them, receiving the descriptors as a worker's loop does)."""

from __future__ import annotations

import select
import socket
from collections import deque
from collections.abc import Iterator
from typing import Any

import pytest

from memsvc.api import balancer
from memsvc.api.balancer import _deal, _Pool, _Worker

pytestmark = pytest.mark.skipif(not balancer.is_supported(), reason="needs socket.send_fds")


_OPEN: list[socket.socket] = []


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock
    while _OPEN:  # every socket a test made or received
        _OPEN.pop().close()


def _keep(*socks: socket.socket) -> list[socket.socket]:
    _OPEN.extend(socks)
    return list(socks)


def _connections(listener: socket.socket, n: int) -> tuple[list[socket.socket], deque[Any]]:
    clients = _keep(*(socket.create_connection(listener.getsockname()) for _ in range(n)))
    return clients, deque(_keep(*(listener.accept()[0] for _ in range(n))))


def _pool(n: int) -> tuple[_Pool, list[socket.socket]]:
    pool = _Pool(settings_json="{}", log_level="warning", size=n)
    far_ends = []
    for i in range(n):
        near, far = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        near.setblocking(False)
        pool.workers.append(_Worker(index=i, process=None, channel=near, ready=True, started=True))  # type: ignore[arg-type]
        far_ends.append(far)
        _keep(near, far)
    return pool, far_ends


def _received(far: socket.socket) -> list[socket.socket]:
    far.setblocking(False)
    out = []
    while True:
        try:
            _, fds, _, _ = socket.recv_fds(far, 16, 1)
        except BlockingIOError:
            return out
        out += _keep(*(socket.socket(fileno=fd) for fd in fds))


def test_connections_go_to_the_worker_with_the_fewest_open(listener: socket.socket) -> None:
    pool, far = _pool(2)
    clients, pending = _connections(listener, 4)
    _deal(pool, pending)
    got = [_received(f) for f in far]
    assert [len(g) for g in got] == [2, 2]
    assert not pending
    # the descriptors are the accepted connections: what a client sends arrives at one of them
    clients[0].sendall(b"ping")
    handed = [s for g in got for s in g]
    readable, _, _ = select.select(handed, [], [], 5)
    assert len(readable) == 1 and readable[0].recv(4) == b"ping"

    pool.closed[0] = 2  # worker 0's connections closed: the next ones go there
    _more, pending = _connections(listener, 2)
    _deal(pool, pending)
    assert [len(_received(f)) for f in far] == [2, 0]


def test_a_worker_whose_channel_is_full_is_passed_over(listener: socket.socket) -> None:
    pool, far = _pool(2)
    stuffed = 0
    while True:  # fill worker 0's channel as a worker whose loop does not read would leave it
        try:
            pool.workers[0].channel.send(b"x")
            stuffed += 1
        except BlockingIOError:
            break
    _clients, pending = _connections(listener, 3)
    _deal(pool, pending)
    assert not pending
    assert len(_received(far[1])) == 3
    assert pool.workers[0].sent == 0 and pool.workers[1].sent == 3
    assert stuffed > 0


def test_nothing_is_dealt_while_no_worker_is_ready(listener: socket.socket) -> None:
    pool, far = _pool(2)
    for worker in pool.workers:
        worker.ready = False
    _clients, pending = _connections(listener, 2)
    _deal(pool, pending)
    assert len(pending) == 2
    assert [len(_received(f)) for f in far] == [0, 0]

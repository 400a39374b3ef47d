"""``memsvc serve --workers 2`` as a real process: connections are dealt evenly to the workers,
a write through one worker is found through the other, a dead worker is replaced, SIGTERM
stops everything, and a worker that cannot start stops the server with an error."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from cli.processes import start_cli, stop, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to see who holds a socket"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(
    base_args: list[str], port: int, workers: int = 2
) -> tuple[subprocess.Popen[str], queue.Queue[str]]:
    proc, lines = start_cli(
        *base_args, "-s", "api.auth", "false", "serve", "--port", str(port),
        "--workers", str(workers),
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc, lines
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise AssertionError(f"server did not start: {list(lines.queue)}")
        time.sleep(0.2)


def _children(pid: int) -> list[int]:
    """Worker processes: the server's children that hold TCP sockets (not the resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and "spawn_main" in (
            (entry / "cmdline").read_text(errors="replace")
        ):
            found.append(int(entry.name))
    return found


def _owners(port: int, workers: list[int]) -> Counter[int]:
    """How many established connections to ``port`` each worker process holds."""
    inodes: dict[str, int] = {}
    for pid in workers:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes[target[8:-1]] = pid
    owners: Counter[int] = Counter()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == "01" and fields[9] in inodes:  # 01: ESTABLISHED
            owners[inodes[fields[9]]] += 1
    return owners


def test_connections_are_dealt_evenly_and_workers_share_the_store(base_args: list[str]) -> None:
    port = _free_port()
    proc, lines = _serve(base_args, port)
    base = f"http://127.0.0.1:{port}"
    clients = [httpx.Client(base_url=base, timeout=30) for _ in range(4)]
    try:
        for client in clients:  # one keep-alive connection each
            assert client.get("/healthz").status_code == 200
        workers = _children(proc.pid)
        assert len(workers) == 2
        assert sorted(_owners(port, workers).values()) == [2, 2]

        added = clients[0].post(
            "/v1/memories", json={"messages": "Gina adopted a cat named Miso", "user_id": "g"}
        )
        assert added.status_code == 202, added.text
        deadline = time.monotonic() + 30
        seen = set()
        while seen != set(range(4)):  # every connection, so both workers, finds the new event
            assert time.monotonic() < deadline, f"only connections {seen} found the event"
            for i, client in enumerate(clients):
                found = client.post("/v1/search", json={"query": "cat Miso", "user_id": "g"})
                assert found.status_code == 200, found.text
                if any("Miso" in h["memory"]["content"] for h in found.json()["hits"]):
                    seen.add(i)
            time.sleep(0.2)

        os.kill(workers[0], signal.SIGKILL)
        wait_for(lines, "starting a new one", 1, timeout=30)
        deadline = time.monotonic() + 120
        while len(replaced := _children(proc.pid)) != 2 or workers[0] in replaced:
            assert time.monotonic() < deadline, "the dead worker was not replaced"
            time.sleep(0.2)
        fresh = [httpx.Client(base_url=base, timeout=30) for _ in range(2)]
        try:
            deadline = time.monotonic() + 120
            for client in fresh:
                while True:  # the replacement takes connections once it is ready
                    try:
                        if client.get("/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        assert time.monotonic() < deadline, "no answer after the restart"
                        time.sleep(0.2)
        finally:
            for client in fresh:
                client.close()
    finally:
        for client in clients:
            client.close()
        code = stop(proc)
    assert code == 0
    assert _children(proc.pid) == []


def test_a_worker_that_cannot_start_stops_the_server(base_args: list[str], tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    args = [*base_args, "-s", "db.url", f"sqlite:///{blocker}/memsvc.db"]
    port = _free_port()
    proc, lines = start_cli(*args, "-s", "api.auth", "false", "serve", "--port", str(port),
                            "--workers", "2")  # fmt: skip
    try:
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code != 0
    wait_for(lines, "failed during startup", 1, timeout=5)


def test_workers_log_in_the_format_the_cli_was_given(base_args: list[str]) -> None:
    port = _free_port()
    proc, lines = _serve([*base_args, "--log-format", "json"], port)
    try:
        # each worker warns that auth is off while it builds its app, in JSON like the parent
        seen = wait_for(lines, "API authentication is OFF", 2, timeout=30)
    finally:
        stop(proc)
    warnings = [json.loads(line) for line in seen if "API authentication is OFF" in line]
    assert len(warnings) == 2 and {w["level"] for w in warnings} == {"WARNING"}

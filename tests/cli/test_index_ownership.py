"""Many processes on one data directory, as real processes: the three failures of issue 13.

1. ``serve --workers 2``: on shutdown both workers saved the index at once; afterwards every
   request answered 503 ``index_out_of_sync`` ("index snapshot is missing") while ``/readyz``
   said ok, and ``memsvc index rebuild`` failed the same way.
2. Four parallel ``memsvc add``: one exited 1 after its events were committed.
3. (the BM25 save/load race is in tests/index/test_snapshot_processes.py)

Plus: a snapshot that is missing when a process starts is rebuilt from SQL by itself.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from cli.processes import ROOT, start_cli, stop

pytestmark = pytest.mark.slow


def _cli(base_args: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, "-m", "memsvc.cli.main", *base_args, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path, "HF_HUB_OFFLINE": "1"},
        timeout=180,
        check=False,
    )


def _popen(base_args: list[str], *args: str) -> subprocess.Popen[str]:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return subprocess.Popen(
        [sys.executable, "-m", "memsvc.cli.main", *base_args, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path, "HF_HUB_OFFLINE": "1"},
    )


def _events(db_path: Path) -> int:
    with closing(sqlite3.connect(db_path)) as conn:
        return int(conn.execute("SELECT count(*) FROM event").fetchone()[0])


def _verify_clean(base_args: list[str]) -> None:
    done = _cli(base_args, "index", "verify", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["ok"] is True, done.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(base: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
        time.sleep(0.2)


def test_parallel_cli_adds_all_succeed_and_the_index_is_clean(
    base_args: list[str], db_path: Path
) -> None:
    procs = [
        _popen(base_args, "add", f"note {i}: the parcel arrived on day {i}", "-u", "pat")
        for i in range(4)
    ]
    results = []
    for p in procs:
        _, err = p.communicate(timeout=180)
        results.append((p.returncode, err))
    assert [code for code, _ in results] == [0, 0, 0, 0], [err[-1500:] for _, err in results]
    assert _events(db_path) == 4
    _verify_clean(base_args)


def test_serve_workers_stop_and_start_again_with_a_working_index(
    base_args: list[str], db_path: Path
) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    args = [*base_args, "-s", "api.auth", "false", "-s", "index.save_every", "1"]
    for round_ in range(2):
        proc, lines = start_cli(*args, "serve", "--port", str(port), "--workers", "2")
        try:
            _wait_ready(base, proc)
            clients = [httpx.Client(base_url=base, timeout=30) for _ in range(4)]
            try:
                for i, client in enumerate(clients):  # four connections: both workers write
                    body = {"messages": f"round {round_} note {i} about kites", "user_id": "kim"}
                    added = client.post("/v1/memories", json=body)
                    assert added.status_code == 202, added.text
                for client in clients:
                    found = client.post("/v1/search", json={"query": "kites", "user_id": "kim"})
                    assert found.status_code == 200, found.text
            finally:
                for client in clients:
                    client.close()
        finally:
            code = stop(proc)
        logged = "".join(lines.queue)
        assert code == 0, logged[-3000:]
        assert "Traceback" not in logged and "shutdown failed" not in logged, logged[-3000:]
    assert _events(db_path) == 8
    _verify_clean(base_args)


def test_a_missing_snapshot_is_rebuilt_by_the_next_process(
    base_args: list[str], tmp_path: Path
) -> None:
    added = _cli(base_args, "add", "Quentin keeps bees on the roof", "-u", "q")
    assert added.returncode == 0, added.stderr[-2000:]
    dense = next((tmp_path / "index").glob("ns_*/dense"))
    (dense / "CURRENT").write_text("snap-gone", encoding="utf-8")
    found = _cli(base_args, "search", "bees", "-u", "q", "--json")
    assert found.returncode == 0, found.stderr[-2000:]
    assert "bees" in found.stdout
    assert "rebuilding it from SQL" in found.stderr
    (dense / "CURRENT").write_text("snap-gone-again", encoding="utf-8")
    rebuilt = _cli(base_args, "index", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    _verify_clean(base_args)

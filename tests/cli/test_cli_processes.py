"""Long-running commands as real processes: `worker -n 2` and `serve` stop cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from cli.processes import ROOT
from cli.processes import start_cli as _start
from cli.processes import stop as _stop
from cli.processes import wait_for as _wait_for
from click.testing import CliRunner

from memsvc.cli.main import cli


@pytest.mark.slow
def test_worker_processes_consolidate_and_stop_on_sigterm(
    base_args: list[str], db_path: Path
) -> None:
    added = CliRunner().invoke(cli, [*base_args, "add", "I adopted a cat named Miso", "-u", "gina"])
    assert added.exit_code == 0, added.stderr
    proc, lines = _start(*base_args, "worker", "--processes", "2")
    try:
        _wait_for(lines, "consolidation worker", 2, timeout=90)
        deadline = time.monotonic() + 60
        while _jobs_done(db_path) < 1:
            assert time.monotonic() < deadline, "the workers did not run the queued job"
            time.sleep(0.1)
    finally:
        code = _stop(proc)
    assert code == 0
    _wait_for(lines, "worker processes stopped", 1, timeout=5)


def _jobs_done(db_path: Path) -> int:
    with closing(sqlite3.connect(db_path)) as conn:
        return int(conn.execute("SELECT count(*) FROM job WHERE status = 'done'").fetchone()[0])


@pytest.mark.slow
def test_serve_answers_and_stops_on_sigterm(base_args: list[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc, lines = _start(*base_args, "serve", "--port", str(port))
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"server did not start: {list(lines.queue)}")
            time.sleep(0.1)
    finally:
        code = _stop(proc)
    # uvicorn shuts down gracefully, then re-raises the signal it caught
    assert code in (0, -signal.SIGTERM)
    _wait_for(lines, "memory service closed", 1, timeout=5)


def test_long_running_commands_have_help() -> None:
    for command in ("serve", "worker", "mcp"):
        result = CliRunner().invoke(cli, [command, "--help"])
        assert result.exit_code == 0 and "--" in result.stdout


@pytest.mark.slow
def test_mcp_stdio_lists_the_memory_tools(base_args: list[str]) -> None:
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2024-11-05",
                "capabilities": {},
                "clientInfo": {"name": "test", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    ]
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    # stdin stays open until the tools/list reply is read: the server stops at end of input,
    # and closing it at once raced the answer to the last request.
    with subprocess.Popen(
        [sys.executable, "-m", "memsvc.cli.main", *base_args, "mcp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path, "HF_HUB_OFFLINE": "1"},
    ) as proc:
        watchdog = threading.Timer(120, proc.kill)
        watchdog.start()
        try:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
            proc.stdin.flush()
            replies: dict[int, dict[str, object]] = {}
            for line in proc.stdout:
                reply = json.loads(line)
                if "id" in reply:
                    replies[reply["id"]] = reply
                if 2 in replies:
                    break
            proc.stdin.close()
            stderr = proc.stderr.read() if proc.stderr is not None else ""
            returncode = proc.wait()
        finally:
            watchdog.cancel()
    assert returncode == 0, stderr[-2000:]
    result = replies[2]["result"]
    assert isinstance(result, dict)
    tools = {tool["name"] for tool in result["tools"]}
    assert {"add", "search"} <= tools

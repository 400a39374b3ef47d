"""A live ``memsvc serve`` process with auth on, for mem0's own clients and the LangGraph store.

The server is a real process (``python -m memsvc.cli.main serve``) on a free port, on a copy of
the migrated template database with the hashing embedder; a namespace's API key is made with
``memsvc keys create`` before it starts. mem0's Python client writes to ``MEM0_DIR`` and sends
telemetry unless ``MEM0_TELEMETRY`` is false: both are pointed away for every test here.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cli.processes import ROOT, start_cli, stop

# mem0 reads both when it is imported: no telemetry, and its config folder away from $HOME.
os.environ["MEM0_TELEMETRY"] = "false"
os.environ.setdefault("MEM0_DIR", tempfile.mkdtemp(prefix="mem0-"))


@dataclass(frozen=True)
class Served:
    """A running server: its URL, one namespace's API key and the CLI settings it runs on."""

    url: str
    key: str
    namespace: str
    args: tuple[str, ...]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _settings_args(tmp: Path, template: Path) -> list[str]:
    db = tmp / "memsvc.db"
    shutil.copy(template, db)
    return [
        "-s", "db.url", f"sqlite:///{db}",
        "-s", "index.dir", str(tmp / "index"),
        "-s", "embed.backend", "hashing",
        "-s", "consolidation.in_process_worker", "false",
        "-s", "api.auth", "true",
        "-s", "api.rate_limit_per_minute", "0",
    ]  # fmt: skip


def _create_key(args: list[str], namespace: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "memsvc.cli.main", *args, "keys", "create",
         "--namespace", namespace, "--json"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=True,
    )  # fmt: skip
    return str(json.loads(done.stdout)["secret"])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Iterator[Served]:
    """``memsvc serve`` as a real process, auth on; stopped (SIGTERM) after the module."""
    tmp = tmp_path_factory.mktemp("served")
    args = _settings_args(tmp, template_db)
    key = _create_key(args, "acme")
    port = free_port()
    proc, lines = start_cli(*args, "serve", "--port", str(port))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"server did not start: {list(lines.queue)[-20:]}")
            time.sleep(0.2)
        yield Served(url, key, "acme", tuple(args))
    finally:
        stop(proc)

"""No user text above DEBUG: plant unique tokens, do everything, and look for them in the logs.

In process (adds, searches, an invalid request, a job failing with a real SQL error whose
parameters are the token) and through a real ``memsvc serve`` process at INFO (its access log
included: query strings are cut).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from memsvc.errors import InvalidInput
from memsvc.service.facade import MemoryService
from memsvc.types import Scope

ROOT = Path(__file__).resolve().parents[2]


def test_in_process_logs_at_info_hold_no_user_text(
    service: MemoryService, caplog: pytest.LogCaptureFixture
) -> None:
    token = f"zq{uuid.uuid4().hex[:12]}"
    caplog.set_level(logging.INFO)
    alice = Scope(user_id="alice")
    service.add(f"my locker code is {token}", scope=alice, metadata={"note": token})
    service.search(f"what is {token}", scope=alice)
    with pytest.raises(InvalidInput):
        service.add(f"{token} " * 100_000, scope=alice)

    def failing(*args: object, **kwargs: object) -> object:
        with service.begin() as session:  # a real constraint error whose parameter is the token
            session.execute(
                sa.text("INSERT INTO namespace (id, name, created_at) VALUES (:i, :n, :c)"),
                {"i": service.namespace_id(), "n": token, "c": "2020-01-01"},
            )
        raise AssertionError("unreachable")

    service.llm.extract_facts = failing  # type: ignore[method-assign]
    service.run_pending_jobs()
    assert any("failed" in r.getMessage() for r in caplog.records)
    leaked = [r.getMessage() for r in caplog.records if token in r.getMessage()]
    leaked += [r.exc_text or "" for r in caplog.records if token in (r.exc_text or "")]
    assert leaked == []
    formatted = "\n".join(logging.Formatter().format(r) for r in caplog.records)
    assert token not in formatted


@pytest.fixture
def base_args_for_serve(tmp_path: Path, template_db: Path) -> list[str]:
    db = tmp_path / "serve.db"
    shutil.copy(template_db, db)
    return [
        "-s", "db.url", f"sqlite:///{db}",
        "-s", "index.dir", str(tmp_path / "index"),
        "-s", "embed.backend", "hashing",
    ]  # fmt: skip


@pytest.mark.slow
def test_a_served_process_logs_no_user_text_at_info(base_args_for_serve: list[str]) -> None:
    token = f"zq{uuid.uuid4().hex[:12]}"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "memsvc.cli.main", "--log-level", "INFO", *base_args_for_serve,
         "-s", "api.auth", "false", "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        with httpx.Client(base_url=base, timeout=30) as http:
            body = {"messages": f"the wifi password is {token}", "user_id": "u1"}
            assert http.post("/v1/memories", json=body).status_code == 202
            assert http.post("/v1/search", json={"query": token, "user_id": "u1"}).is_success
            listed = http.get(
                "/v1/memories", params={"user_id": "u1", "filters": json.dumps({"k": token})}
            )
            assert listed.status_code == 200
            bad = http.post("/v1/memories", json={"messages": token, "user_id": "bad|" + token})
            assert bad.status_code == 422
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=60)
    assert "POST /v1/memories" in output  # the access log is on, and was read
    assert token not in output, [line for line in output.splitlines() if token in line]

"""Two ``memsvc serve`` replicas and a ``memsvc worker`` on one PostgreSQL, as real processes:
a write through one replica is searchable through the other within a bounded lag, and the
worker consolidates it (what docker-compose.yml runs)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from cli.processes import ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def pg_url(postgres_url: str) -> Iterator[str]:
    schema = f"memsvc_replicas_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = sa.make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_write_through_one_replica_is_found_through_another(pg_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}

    def cli(index: str, *args: str) -> list[str]:
        return [
            sys.executable, "-m", "memsvc.cli.main", "-s", "db.url", pg_url,
            "-s", "index.dir", str(tmp_path / index), "-s", "embed.backend", "hashing",
            "-s", "api.auth", "false", "-s", "index.sync_interval_s", "0.5",
            "-s", "consolidation.in_process_worker", "false", *args,
        ]  # fmt: skip

    subprocess.run(cli("i0", "db", "upgrade"), env=env, cwd=ROOT, check=True, timeout=120)
    ports = [_free_port(), _free_port()]
    procs = [
        subprocess.Popen(cli(f"i{i}", "serve", "--port", str(p)), env=env, cwd=ROOT,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for i, p in enumerate(ports)
    ] + [subprocess.Popen(cli("iw", "worker"), env=env, cwd=ROOT,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]  # fmt: skip
    a, b = (f"http://127.0.0.1:{p}" for p in ports)
    try:
        for base in (a, b):
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"{base} did not start"
                time.sleep(0.2)
        lags = []
        for i in range(3):
            token = f"kite{i}{uuid.uuid4().hex[:6]}"
            added = httpx.post(
                f"{a}/v1/memories", json={"messages": f"I fly a {token}", "user_id": "r"}
            )
            assert added.status_code == 202, added.text
            sent = time.monotonic()
            while True:
                hits = httpx.post(f"{b}/v1/search", json={"query": token, "user_id": "r"}).json()
                if any(token in h["memory"]["content"] for h in hits["hits"]):
                    lags.append(time.monotonic() - sent)
                    break
                assert time.monotonic() - sent < 15, "replica B never found the write"
                time.sleep(0.05)
        assert max(lags) < 15
        deadline = time.monotonic() + 60
        while True:  # the worker process consolidated what the replicas took
            kinds = httpx.get(
                f"{b}/v1/memories", params={"user_id": "r", "kinds": "episode"}
            ).json()["items"]
            if kinds:
                break
            assert time.monotonic() < deadline, "the worker did not consolidate"
            time.sleep(0.5)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(60)

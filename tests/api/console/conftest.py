"""Console fixtures: a service with a user whose fact was superseded, and an app with auth on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.live import ADMIN_KEY, live_settings
from memsvc.api.app import create_app
from memsvc.service.facade import MemoryService
from memsvc.types import Scope
from memsvc.wiring import build_service

ALICE = Scope(user_id="alice")
T0 = datetime(2023, 3, 1, 10, 0, tzinfo=UTC)


def seed(service: MemoryService) -> None:
    """Alice lived in Berlin, then moved to Paris: the Berlin fact is superseded."""
    service.add(
        {"role": "user", "name": "Alice", "content": "I live in Berlin."},
        scope=ALICE,
        occurred_at=T0,
    )
    service.run_pending_jobs()
    service.add(
        {"role": "user", "name": "Alice", "content": "I moved to Paris."},
        scope=ALICE,
        occurred_at=T0 + timedelta(days=90),
    )
    service.run_pending_jobs()


@pytest.fixture
def console_service(tmp_path: Path, template_db: Path) -> Iterator[MemoryService]:
    """A service (auth on, admin key ``ADMIN_KEY``) with Alice's facts consolidated."""
    svc = build_service(live_settings(tmp_path, template_db), migrate_db=False)
    seed(svc)
    yield svc
    svc.close()


@pytest.fixture
def console_app(console_service: MemoryService) -> FastAPI:
    return create_app(service=console_service)


@pytest.fixture
def admin_ui(console_app: FastAPI) -> Iterator[TestClient]:
    """A TestClient logged in to the console with the admin key."""
    with TestClient(console_app, follow_redirects=False) as client:
        answer = client.post("/ui/login", data={"api_key": ADMIN_KEY, "next": "/ui"})
        assert answer.status_code == 303
        yield client

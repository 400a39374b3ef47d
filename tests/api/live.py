"""A live uvicorn server on 127.0.0.1 (a free port, in a thread) for API and SDK tests.

The server runs the real app on a real service (SQLite copy of the migrated template, hashing
embedder, no background worker) with auth on. ``Tenant`` bundles an API key of one namespace
with an ``httpx.Client`` that sends it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from memsvc.api.app import create_app
from memsvc.api.server import BackgroundServer
from memsvc.config import (
    ApiSettings,
    ConsolidationSettings,
    DatabaseSettings,
    EmbedSettings,
    IndexSettings,
    Settings,
)
from memsvc.service.facade import MemoryService
from memsvc.wiring import build_service

ADMIN_KEY = "test-admin-key-0123456789"


def live_settings(tmp: Path, template: Path, **overrides: Any) -> Settings:
    """Settings on a copy of the template database, auth on, no rate limit unless overridden."""
    db = tmp / "memsvc.db"
    shutil.copy(template, db)
    api = {"auth": True, "admin_key": SecretStr(ADMIN_KEY), "rate_limit_per_minute": 0}
    api.update(overrides.pop("api", {}))
    return Settings(
        db=DatabaseSettings(url=f"sqlite:///{db}"),
        index=IndexSettings(dir=tmp / "index"),
        embed=EmbedSettings(backend="hashing"),
        consolidation=ConsolidationSettings(in_process_worker=False),
        api=ApiSettings(**api),
        **overrides,
    )


@dataclass
class Live:
    """A running server, its service and a way to make tenants."""

    base_url: str
    service: MemoryService
    settings: Settings

    def client(self, key: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)

    def tenant(self, namespace: str, *, is_admin: bool = False) -> Tenant:
        created = self.service.create_key(namespace=namespace, name="test", is_admin=is_admin)
        return Tenant(created.secret, created.id, namespace, self.client(created.secret))


@dataclass
class Tenant:
    """One API key and a client that sends it."""

    key: str
    key_id: int
    namespace: str
    http: httpx.Client


def start_live(factory: pytest.TempPathFactory, template: Path, **overrides: Any) -> Iterator[Live]:
    """Build a service and serve it until the generator is closed."""
    settings = live_settings(factory.mktemp("live"), template, **overrides)
    service = build_service(settings, migrate_db=False, start_worker=False)
    try:
        with BackgroundServer(create_app(settings, service=service)) as base_url:
            yield Live(base_url, service, settings)
    finally:
        service.close()

"""API fixtures: live servers (see ``live.py``) shared per module, admin client, tenants."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from api.live import ADMIN_KEY, Live, Tenant, start_live
from memsvc.config import LimitSettings


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Iterator[Live]:
    """A live server with auth on and no rate limit, shared by a test module."""
    yield from start_live(tmp_path_factory, template_db)


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Iterator[Live]:
    """A live server with small limits: 4 KiB bodies, 3 messages, 100 chars, top_k 10, 5 req/min."""
    yield from start_live(
        tmp_path_factory,
        template_db,
        api={"max_body_bytes": 4096, "rate_limit_per_minute": 5},
        limits=LimitSettings(max_batch=3, max_content_chars=100, max_top_k=10),
    )


@pytest.fixture
def admin(live: Live) -> Iterator[httpx.Client]:
    """A client sending the configured admin key."""
    with live.client(ADMIN_KEY) as client:
        yield client


@pytest.fixture
def make_tenant(live: Live) -> Iterator[Callable[..., Tenant]]:
    """Make tenants (a fresh API key each) on the shared live server; clients are closed after."""
    made: list[Tenant] = []

    def make(namespace: str, *, is_admin: bool = False) -> Tenant:
        tenant = live.tenant(namespace, is_admin=is_admin)
        made.append(tenant)
        return tenant

    yield make
    for tenant in made:
        tenant.http.close()

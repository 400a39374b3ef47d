"""SDK fixtures: a live server per module (see ``tests/api/live.py``) and clients of one tenant."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api.live import ADMIN_KEY, Live, start_live

from memsvc.sdk import MemoryClient


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Iterator[Live]:
    """A live server with auth on."""
    yield from start_live(tmp_path_factory, template_db)


@pytest.fixture(scope="module")
def api_key(live: Live) -> str:
    """A key of namespace ``sdk`` (shared by the module: tests use distinct user ids)."""
    return live.service.create_key(namespace="sdk", name="sdk-tests").secret


@pytest.fixture
def client(live: Live, api_key: str) -> Iterator[MemoryClient]:
    with MemoryClient(live.base_url, api_key=api_key) as memory:
        yield memory


@pytest.fixture
def admin_client(live: Live) -> Iterator[MemoryClient]:
    with MemoryClient(live.base_url, api_key=ADMIN_KEY) as memory:
        yield memory

"""Shared fixtures: real objects all the way down.

``settings`` points at a SQLite file and an index folder under ``tmp_path`` and uses the hashing
embedder (deterministic, no model). The database is migrated once per session into a template
file with alembic, and each test gets a copy: fast, and the migrations are still what builds it.
Tests that need the real embedding model ask for ``real_settings``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from memsvc.config import (
    ConsolidationSettings,
    DatabaseSettings,
    EmbedSettings,
    IndexSettings,
    Settings,
)

LOCOMO = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "locomo" / "locomo10.json"


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per test session."""
    from memsvc.store import migrate

    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(DatabaseSettings(url=f"sqlite:///{path}"))
    return path


def make_settings(tmp_path: Path, template: Path, **overrides: object) -> Settings:
    """Settings on a copy of the template database under ``tmp_path``."""
    db = tmp_path / "memsvc.db"
    shutil.copy(template, db)
    base: dict[str, object] = {
        "db": DatabaseSettings(url=f"sqlite:///{db}"),
        "index": IndexSettings(dir=tmp_path / "index"),
        "embed": EmbedSettings(backend="hashing"),
        "consolidation": ConsolidationSettings(in_process_worker=False),
    }
    base.update(overrides)
    return Settings(**base)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, template_db: Path) -> Settings:
    """Hashing embedder, offline LLM, SQLite copy; the worker runs only when a test asks."""
    return make_settings(tmp_path, template_db)


@pytest.fixture
def real_settings(tmp_path: Path, template_db: Path) -> Settings:
    """Like ``settings`` but with the real packaged embedding model."""
    return make_settings(tmp_path, template_db, embed=EmbedSettings())


@pytest.fixture
def service(settings: Settings) -> Iterator[object]:
    """A MemoryService on ``settings`` (no background worker: tests run jobs explicitly)."""
    from memsvc.wiring import build_service

    svc = build_service(settings, migrate_db=False)
    yield svc
    svc.close()


@pytest.fixture
def memory(service: object) -> Iterator[object]:
    """The embedded Memory client over ``service``."""
    from memsvc.memory import Memory

    yield Memory(service=service)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def locomo_path() -> Path:
    """The LoCoMo file, or a skip when ../shared is absent (a user's machine)."""
    if not LOCOMO.exists():
        pytest.skip(
            f"LoCoMo data not found at {LOCOMO} (../shared/data is only on CI and dev machines)"
        )
    return LOCOMO


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL URL from MEMSVC_TEST_POSTGRES_URL, or a skip."""
    url = os.environ.get("MEMSVC_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("MEMSVC_TEST_POSTGRES_URL is not set: no PostgreSQL to test against")
    return url

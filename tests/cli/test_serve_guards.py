"""``memsvc serve`` refuses what would go wrong silently (issue 17): auth off on an address
other machines reach (protected mode), and a PostgreSQL database the migrations never reached;
``/readyz`` reports that schema too."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient

from memsvc.api.app import create_app
from memsvc.cli.main import cli
from memsvc.cli.server import check_protected_mode
from memsvc.config import ApiSettings, DatabaseSettings, Settings
from memsvc.errors import ConfigError
from memsvc.store import migrate
from memsvc.wiring import build_service


def _serve(base_args: list[str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [*base_args, "-s", "api.auth", "false", "serve", *args])
    return result.exit_code, result.stderr


def test_serve_with_auth_off_refuses_a_public_host(base_args: list[str]) -> None:
    code, stderr = _serve(base_args, "--host", "0.0.0.0", "--port", "1")
    assert code == 1
    assert "refusing to serve on 0.0.0.0 with auth off" in stderr
    assert "--insecure-no-auth" in stderr
    assert len(stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_protected_mode_lets_loopback_through(host: str) -> None:
    check_protected_mode(Settings(api=ApiSettings(auth=False)), host, is_insecure=False)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "memsvc.example"])
def test_protected_mode_needs_auth_or_the_explicit_flag(host: str) -> None:
    with pytest.raises(ConfigError, match="--insecure-no-auth"):
        check_protected_mode(Settings(api=ApiSettings(auth=False)), host, is_insecure=False)
    check_protected_mode(Settings(api=ApiSettings(auth=False)), host, is_insecure=True)
    check_protected_mode(Settings(api=ApiSettings(auth=True)), host, is_insecure=False)


@pytest.fixture
def fresh_pg(postgres_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database (dropped afterwards)."""
    name = f"memsvc_serve_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_serve_refuses_an_unmigrated_postgres_naming_db_upgrade(
    fresh_pg: str, tmp_path: Path
) -> None:
    args = ["-s", "db.url", fresh_pg, "-s", "index.dir", str(tmp_path / "index")]
    result = CliRunner().invoke(cli, [*args, "-s", "embed.backend", "hashing", "serve"])
    assert result.exit_code == 1
    assert "run `memsvc db upgrade` first" in result.stderr
    assert "(none: a fresh database)" in result.stderr


@pytest.mark.postgres
def test_readyz_reports_an_unmigrated_postgres(fresh_pg: str, tmp_path: Path) -> None:
    settings = Settings(
        db=DatabaseSettings(url=fresh_pg),
        index={"dir": tmp_path / "index"},  # type: ignore[arg-type]
        embed={"backend": "hashing"},  # type: ignore[arg-type]
    )
    service = build_service(settings, start_worker=False)
    try:
        with TestClient(create_app(settings, service=service)) as client:
            before = client.get("/readyz")
            migrate.upgrade(settings.db)
            after = client.get("/readyz")
    finally:
        service.close()
    assert before.status_code == 503
    assert "run memsvc db upgrade" in before.json()["checks"]["schema"]
    assert after.status_code == 200
    assert after.json()["checks"]["schema"] == "ok"

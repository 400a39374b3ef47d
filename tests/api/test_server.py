"""run_server's hand-over of settings to worker processes, and the lifespan-built service."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from api.live import ADMIN_KEY, live_settings
from memsvc.api.app import create_app
from memsvc.api.server import BackgroundServer, app_from_environment, settings_to_json
from memsvc.config import Settings


def test_settings_to_json_round_trips_secrets_and_paths(tmp_path: Path, template_db: Path) -> None:
    settings = live_settings(tmp_path, template_db)
    restored = Settings.model_validate_json(settings_to_json(settings))
    assert restored == settings
    assert restored.api.admin_key == SecretStr(ADMIN_KEY)
    assert restored.index.dir == tmp_path / "index"


def test_app_from_environment_uses_the_handed_over_settings(
    tmp_path: Path, template_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = live_settings(tmp_path, template_db)
    monkeypatch.setenv("_MEMSVC_SERVE_SETTINGS", settings_to_json(settings))
    app = app_from_environment()
    assert app.state.api.settings == settings
    assert app.state.service is None  # built by the lifespan, in the worker process


def test_lifespan_builds_and_closes_its_own_service(tmp_path: Path, template_db: Path) -> None:
    app = create_app(live_settings(tmp_path, template_db))
    with BackgroundServer(app) as base_url:
        assert app.state.service is not None
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        response = httpx.post(
            f"{base_url}/v1/memories", json={"messages": "hi", "user_id": "u"}, headers=headers
        )
        assert response.status_code == 202
    assert app.state.service is None

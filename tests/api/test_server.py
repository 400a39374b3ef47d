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


def test_every_served_connection_has_nagle_switched_off() -> None:
    # uvicorn's multi-worker socket is made with proto=0, for which asyncio leaves Nagle on;
    # the protocol switches it off itself (a real accepted TCP socket, not a mock).
    import socket

    from memsvc.api.server import set_nodelay

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with socket.create_connection(listener.getsockname()):
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
                set_nodelay(accepted)
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


@pytest.mark.parametrize("slots", [1, 3])
def test_searches_beyond_the_configured_concurrency_wait_their_turn(
    tmp_path: Path, template_db: Path, slots: int
) -> None:
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from memsvc.wiring import build_service

    settings = live_settings(tmp_path, template_db, api={"search_concurrency": slots})
    service = build_service(settings)
    running, most = 0, 0
    lock = threading.Lock()
    real_search = service.search

    def observed_search(*args: object, **kwargs: object) -> object:
        # The real search, wrapped to see how many run at once (and made to take a while).
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            time.sleep(0.1)
            return real_search(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            with lock:
                running -= 1

    service.search = observed_search  # type: ignore[method-assign]
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    try:
        with BackgroundServer(create_app(settings, service=service)) as base_url:

            def one(i: int) -> int:
                body = {"query": f"anything {i}", "user_id": "u"}
                return httpx.post(f"{base_url}/v1/search", json=body, headers=headers).status_code

            with ThreadPoolExecutor(6) as pool:
                codes = list(pool.map(one, range(6)))
    finally:
        service.close()
    assert codes == [200] * 6
    assert most == slots

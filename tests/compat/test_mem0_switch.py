"""``api.mem0_compat`` mounts the mem0 routes (on by default) and leaves them out when false;
``Authorization: Token <key>`` authenticates like ``Bearer``."""

from __future__ import annotations

from pathlib import Path

from conftest import make_settings
from fastapi.testclient import TestClient
from pydantic import SecretStr

from memsvc.api.app import create_app
from memsvc.config import ApiSettings
from memsvc.wiring import build_service


def test_mem0_routes_follow_the_setting_and_token_auth_works(
    tmp_path: Path, template_db: Path
) -> None:
    on = make_settings(tmp_path, template_db, api=ApiSettings(auth=True))
    service = build_service(on, migrate_db=False)
    try:
        key = service.create_key(namespace="acme").secret
        with TestClient(create_app(on, service=service)) as http:
            ok = http.get("/v1/ping/", headers={"Authorization": f"Token {key}"})
            assert ok.status_code == 200 and ok.json()["namespace"] == "acme"
            native = http.get("/v1/stats", headers={"Authorization": f"Token {key}"})
            assert native.status_code == 200
            bad = http.get("/v1/ping/", headers={"Authorization": "Token nope"})
            assert bad.status_code == 401 and "API key" in bad.json()["detail"]
        off = on.model_copy(update={"api": ApiSettings(auth=True, mem0_compat=False)})
        with TestClient(create_app(off, service=service)) as http:
            gone = http.get("/v1/ping/", headers={"Authorization": f"Token {key}"})
            assert gone.status_code == 404
    finally:
        service.close()


def test_mem0_errors_keep_mem0s_shape_and_native_errors_keep_memsvcs(
    tmp_path: Path, template_db: Path
) -> None:
    settings = make_settings(
        tmp_path, template_db, api=ApiSettings(auth=True, admin_key=SecretStr("admin-0123456789"))
    )
    service = build_service(settings, migrate_db=False)
    try:
        headers = {"Authorization": "Token admin-0123456789"}
        with TestClient(create_app(settings, service=service), headers=headers) as http:
            mem0 = http.get("/v1/memories/event_999/")
            assert mem0.status_code == 404
            assert mem0.json()["code"] == "memory_not_found" and "detail" in mem0.json()
            native = http.get("/v1/memories/event_999")
            assert native.json()["error"]["code"] == "memory_not_found"
            schema = http.post("/v3/memories/search/", json={"filters": {"user_id": "a"}})
            assert schema.status_code == 400 and "query" in schema.json()["detail"]
            exports = http.post("/v1/exports/", json={})
            assert exports.status_code == 501 and "memory exports" in exports.json()["detail"]
    finally:
        service.close()

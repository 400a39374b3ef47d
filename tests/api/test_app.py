"""The REST routes end to end against a live server: memories, search, structure, jobs, health."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from api.live import Live, Tenant, live_settings
from memsvc.api.app import create_app


def _user() -> str:
    return f"u-{uuid.uuid4().hex[:10]}"


def _add(http: httpx.Client, user: str, *texts: str, **extra: object) -> list[str]:
    body = {"messages": [{"content": t} for t in texts], "user_id": user, **extra}
    response = http.post("/v1/memories", json=body)
    assert response.status_code == 202, response.text
    return [e["id"] for e in response.json()["events"]]


def test_add_answers_202_with_event_ids_and_a_job(make_tenant: Callable[..., Tenant]) -> None:
    tenant = make_tenant("app-add")
    response = tenant.http.post(
        "/v1/memories",
        json={
            "messages": "I moved to Paris last week",
            "user_id": "alice",
            "metadata": {"ref": "d1"},
        },
    )
    assert response.status_code == 202
    body = response.json()
    assert [e["kind"] for e in body["events"]] == ["event"]
    assert body["events"][0]["metadata"] == {"ref": "d1"}
    assert isinstance(body["job_id"], int)


def test_search_finds_what_was_just_added(make_tenant: Callable[..., Tenant]) -> None:
    tenant = make_tenant("app-search")
    user = _user()
    ids = _add(tenant.http, user, "I adopted a cat named Miso", "The weather was grey today")
    response = tenant.http.post(
        "/v1/search", json={"query": "cat named Miso", "user_id": user, "top_k": 1}
    )
    assert response.status_code == 200
    hits = response.json()["hits"]
    assert [h["memory"]["id"] for h in hits] == [ids[0]]


def test_memory_lifecycle_get_update_history_delete(make_tenant: Callable[..., Tenant]) -> None:
    http = make_tenant("app-life").http
    (memory_id,) = _add(http, _user(), "I work at Acme")
    assert http.get(f"/v1/memories/{memory_id}").json()["content"] == "I work at Acme"
    patched = http.patch(f"/v1/memories/{memory_id}", json={"content": "I work at Globex"})
    assert patched.status_code == 200
    assert patched.json()["content"] == "I work at Globex"
    assert http.delete(f"/v1/memories/{memory_id}").status_code == 204
    assert http.get(f"/v1/memories/{memory_id}").status_code == 404
    operations = [
        e["operation"] for e in http.get(f"/v1/memories/{memory_id}/history").json()["items"]
    ]
    assert operations == ["update", "delete"]


def test_list_pages_with_cursor_and_metadata_filters(make_tenant: Callable[..., Tenant]) -> None:
    http = make_tenant("app-list").http
    user = _user()
    _add(http, user, "one", "two", "three", metadata={"topic": "numbers"})
    _add(http, user, "red", metadata={"topic": "colours"})
    first = http.get("/v1/memories", params={"user_id": user, "limit": 2}).json()
    second = http.get(
        "/v1/memories", params={"user_id": user, "limit": 2, "cursor": first["next_cursor"]}
    ).json()
    seen = [m["content"] for m in first["items"] + second["items"]]
    assert sorted(seen) == ["one", "red", "three", "two"]
    filtered = http.get(
        "/v1/memories", params={"user_id": user, "filters": '{"topic": "colours"}'}
    ).json()
    assert [m["content"] for m in filtered["items"]] == ["red"]


def test_delete_scope_erases_only_that_scope(make_tenant: Callable[..., Tenant]) -> None:
    http = make_tenant("app-erase").http
    gone, kept = _user(), _user()
    _add(http, gone, "a", "b")
    _add(http, kept, "c")
    body = http.delete("/v1/memories", params={"user_id": gone}).json()
    assert body["deleted"] == 2 and body["counts"]["deleted_event"] == 2
    assert http.get("/v1/memories", params={"user_id": gone}).json()["items"] == []
    assert len(http.get("/v1/memories", params={"user_id": kept}).json()["items"]) == 1


def test_consolidation_job_builds_episodes_tree_and_profile(
    live: Live, make_tenant: Callable[..., Tenant]
) -> None:
    http = make_tenant("app-consolidate").http
    user = _user()
    _add(http, user, "I'm Alice and I live in Paris.", "I love climbing on weekends.",
         "My sister Emma is a doctor.", "I started learning Japanese.")  # fmt: skip
    job = http.post("/v1/consolidate", json={"user_id": user})
    assert job.status_code == 202
    live.service.run_pending_jobs()
    status = http.get(f"/v1/jobs/{job.json()['id']}").json()["status"]
    assert status == "done"
    episodes = http.get("/v1/episodes", params={"user_id": user}).json()["items"]
    assert episodes and all(e["kind"] == "episode" for e in episodes)
    assert http.get("/v1/tree", params={"user_id": user}).status_code == 200
    assert "profile" in http.get("/v1/profile", params={"user_id": user}).json()


def test_stats_counts_the_callers_namespace(make_tenant: Callable[..., Tenant]) -> None:
    tenant = make_tenant("app-stats")
    _add(tenant.http, _user(), "x", "y")
    stats = tenant.http.get("/v1/stats").json()
    assert stats["namespace"] == "app-stats"
    assert stats["memories"]["event"] == 2
    assert stats["index"]["dense"] == 2


def test_healthz_and_readyz_answer_without_a_key(live: Live) -> None:
    with live.client(None) as anonymous:
        assert anonymous.get("/healthz").json() == {"status": "ok"}
        ready = anonymous.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"


def test_metrics_expose_latency_index_sizes_queue_and_llm_tokens(
    live: Live, admin: httpx.Client, make_tenant: Callable[..., Tenant]
) -> None:
    tenant = make_tenant("app-metrics")
    _add(tenant.http, _user(), "hello")
    text = admin.get("/metrics").text
    assert (
        'memsvc_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/v1/memories"'
        in text.replace(',status="202"', "")
    )
    assert 'memsvc_index_size{index="dense",namespace="app-metrics"} 1.0' in text
    assert 'memsvc_jobs{namespace="app-metrics",status="pending"} 1.0' in text
    assert "memsvc_llm_tokens_total" in text


def test_metrics_need_an_admin_key(make_tenant: Callable[..., Tenant]) -> None:
    assert make_tenant("app-metrics-denied").http.get("/metrics").status_code == 403


def test_openapi_documents_routes_errors_and_examples(live: Live) -> None:
    with live.client(None) as anonymous:
        schema = anonymous.get("/openapi.json").json()
    paths = schema["paths"]
    expected = {
        "/v1/memories": {"get", "post", "delete"},
        "/v1/memories/{memory_id}": {"get", "patch", "delete"},
        "/v1/memories/{memory_id}/history": {"get"},
        "/v1/search": {"post"},
        "/v1/episodes": {"get"},
        "/v1/tree": {"get"},
        "/v1/profile": {"get"},
        "/v1/consolidate": {"post"},
        "/v1/jobs/{job_id}": {"get"},
        "/healthz": {"get"},
        "/readyz": {"get"},
        "/metrics": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    assert {"401", "404", "422", "429", "500"} <= set(paths["/v1/search"]["post"]["responses"])
    assert schema["components"]["schemas"]["SearchRequestBody"]["examples"]
    assert "HTTPBearer" in schema["components"]["securitySchemes"]


def test_create_app_warns_loudly_when_auth_is_off(
    tmp_path: Path, template_db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = live_settings(tmp_path, template_db, api={"auth": False})
    with caplog.at_level(logging.WARNING, logger="memsvc.api.app"):
        create_app(settings)
    assert any("authentication is OFF" in r.getMessage() for r in caplog.records)


def test_readyz_says_not_ready_while_an_index_rebuilds(
    live: Live, make_tenant: Callable[..., Tenant]
) -> None:
    tenant = make_tenant("app-rebuilding")
    _add(tenant.http, _user(), "a note to rebuild")
    ns = live.service.namespace_id("app-rebuilding")
    answers: list[tuple[int, dict[str, str]]] = []

    def during(done: int, total: int) -> None:
        with live.client(None) as anonymous:
            ready = anonymous.get("/readyz")
        answers.append((ready.status_code, ready.json()["checks"]))

    live.service.indexes.rebuild(ns, progress=during)
    assert answers and all(code == 503 for code, _ in answers)
    assert answers[0][1]["index"] == "not ready: rebuilding"
    with live.client(None) as anonymous:
        after = anonymous.get("/readyz")
    assert after.status_code == 200 and after.json()["checks"]["index"] == "ok"

"""Tenant isolation: a key confines each request to its namespace; others' memories are 404."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from api.live import Live, Tenant


@pytest.fixture
def tenants(make_tenant: Callable[..., Tenant]) -> tuple[Tenant, Tenant]:
    return make_tenant("tenant-a"), make_tenant("tenant-b")


def _add_secret(tenant: Tenant) -> str:
    body = {"messages": "My bank PIN is 4921", "user_id": "shared-user"}
    response = tenant.http.post("/v1/memories", json=body)
    assert response.status_code == 202
    return str(response.json()["events"][0]["id"])


def test_other_tenant_cannot_read_update_delete_or_see_history(
    tenants: tuple[Tenant, Tenant],
) -> None:
    a, b = tenants
    memory_id = _add_secret(a)
    path = f"/v1/memories/{memory_id}"
    for response in (
        b.http.get(path),
        b.http.patch(path, json={"content": "hijacked"}),
        b.http.delete(path),
        b.http.get(f"{path}/history"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "memory_not_found"
    assert a.http.get(path).json()["content"] == "My bank PIN is 4921"


def test_other_tenant_search_and_list_see_nothing(tenants: tuple[Tenant, Tenant]) -> None:
    a, b = tenants
    _add_secret(a)
    hits = b.http.post("/v1/search", json={"query": "bank PIN", "user_id": "shared-user"})
    assert hits.json()["hits"] == []
    listed = b.http.get("/v1/memories", params={"user_id": "shared-user"})
    assert listed.json()["items"] == []


def test_other_tenant_scope_erase_leaves_the_owner_untouched(
    tenants: tuple[Tenant, Tenant],
) -> None:
    a, b = tenants
    memory_id = _add_secret(a)
    assert b.http.delete("/v1/memories", params={"user_id": "shared-user"}).json()["deleted"] == 0
    assert a.http.get(f"/v1/memories/{memory_id}").status_code == 200


def test_other_tenant_cannot_see_a_job(tenants: tuple[Tenant, Tenant]) -> None:
    a, b = tenants
    job = a.http.post("/v1/consolidate", json={"user_id": "shared-user"}).json()
    response = b.http.get(f"/v1/jobs/{job['id']}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "job_not_found"


def test_admin_creates_a_key_that_works_and_revokes_it_at_once(
    live: Live, admin: httpx.Client
) -> None:
    created = admin.post("/v1/admin/keys", json={"namespace": "tenant-new", "name": "ci"})
    assert created.status_code == 201
    key = created.json()
    with live.client(key["secret"]) as client:
        assert client.get("/v1/stats").json()["namespace"] == "tenant-new"
        listed = admin.get("/v1/admin/keys", params={"namespace": "tenant-new"}).json()["items"]
        assert [k["id"] for k in listed] == [key["id"]]
        assert "secret" not in listed[0]
        assert admin.delete(f"/v1/admin/keys/{key['id']}").json() == {
            "id": key["id"],
            "revoked": True,
        }
        assert client.get("/v1/stats").status_code == 401


def test_revoking_an_unknown_key_reports_false(admin: httpx.Client) -> None:
    assert admin.delete("/v1/admin/keys/99999999").json()["revoked"] is False


def test_admin_api_key_may_call_admin_routes(make_tenant: Callable[..., Tenant]) -> None:
    admin_tenant = make_tenant("tenant-ops", is_admin=True)
    assert admin_tenant.http.get("/v1/admin/keys").status_code == 200

"""Every documented error code, with its status and the one error body shape, on a live server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from api.live import Live, Tenant
from memsvc.api.errors import status_for
from memsvc.errors import MemsvcError, ScopeConflict


def _error_classes() -> list[type[MemsvcError]]:
    """Every class of the error tree in memsvc.errors."""
    found: list[type[MemsvcError]] = [MemsvcError]
    for cls in found:
        found.extend(c for c in cls.__subclasses__() if c.__module__ == "memsvc.errors")
    return sorted(found, key=lambda c: c.code)


ERROR_CLASSES = _error_classes()


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "detail"}
    assert body["error"]["code"] == code
    return body["error"]


@pytest.fixture
def http(make_tenant: Callable[..., Tenant]) -> httpx.Client:
    return make_tenant("errors").http


def test_schema_violation_is_invalid_input_without_echoing_the_input(http: httpx.Client) -> None:
    secret_text = "x" * 5000
    response = http.post("/v1/search", json={"user_id": "u", "unknown": secret_text})
    error = _error(response, 422, "invalid_input")
    assert {tuple(e["loc"]) for e in error["detail"]["errors"]} >= {("body", "query")}
    assert secret_text not in response.text


def test_malformed_json_is_invalid_json_with_its_position(http: httpx.Client) -> None:
    # issue 17: it said "does not match the schema" at ["body", "1"]
    response = http.post(
        "/v1/search", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    error = _error(response, 422, "invalid_json")
    assert error["message"].startswith("the body is not valid JSON: ")
    assert "at character 1" in error["message"]


def test_a_bad_role_is_one_error_at_its_field(http: httpx.Client) -> None:
    # issue 17: four errors, one per branch of the messages union, at pydantic-internal paths
    body = {"messages": [{"role": "r" * 40, "content": "hi"}], "user_id": "u"}
    error = _error(http.post("/v1/memories", json=body), 422, "invalid_input")
    assert error["detail"]["errors"] == [
        {
            "field": "messages[0].role",
            "loc": ["body", "messages", "0", "role"],
            "msg": "String should have at most 32 characters",
            "type": "string_too_long",
        }
    ]
    assert error["message"] == "messages[0].role: String should have at most 32 characters"


def test_messages_of_no_accepted_type_is_one_wrong_type_error(http: httpx.Client) -> None:
    error = _error(
        http.post("/v1/memories", json={"messages": 5, "user_id": "u"}), 422, "invalid_input"
    )
    assert [e["field"] for e in error["detail"]["errors"]] == ["messages"]
    assert "wrong type (expected a string or an object or a list)" in error["message"]


def test_missing_scope_is_invalid_scope(http: httpx.Client) -> None:
    _error(http.post("/v1/memories", json={"messages": "hi"}), 422, "invalid_scope")
    _error(http.get("/v1/memories"), 422, "invalid_scope")


def test_empty_content_is_invalid_content(http: httpx.Client) -> None:
    response = http.post("/v1/memories", json={"messages": "   ", "user_id": "u"})
    _error(response, 422, "invalid_content")


def test_overly_nested_metadata_is_invalid_metadata(http: httpx.Client) -> None:
    nested: dict[str, Any] = {"v": 1}
    for _ in range(12):
        nested = {"n": nested}
    response = http.post(
        "/v1/memories", json={"messages": "hi", "user_id": "u", "metadata": nested}
    )
    _error(response, 422, "invalid_metadata")


def test_unusable_filters_are_invalid_query_and_empty_update_nothing_to_update(
    http: httpx.Client,
) -> None:
    _error(http.get("/v1/memories", params={"user_id": "u", "filters": "[1"}), 422, "invalid_query")
    added = http.post("/v1/memories", json={"messages": "a", "user_id": "u"}).json()
    memory_id = added["events"][0]["id"]
    _error(http.patch(f"/v1/memories/{memory_id}", json={}), 422, "nothing_to_update")


@pytest.mark.parametrize("when", ["9999-12-31T00:00:00Z", "1066-10-14T09:00:00Z"])
def test_an_impossible_time_is_invalid_time(http: httpx.Client, when: str) -> None:
    body = {"messages": "hi", "user_id": "u", "occurred_at": when}
    error = _error(http.post("/v1/memories", json=body), 422, "invalid_time")
    assert "between the years 1800 and 2200" in error["message"]


def test_top_k_above_the_limit_is_limit_exceeded(http: httpx.Client) -> None:
    response = http.post("/v1/search", json={"query": "q", "user_id": "u", "top_k": 10_000})
    error = _error(response, 422, "limit_exceeded")
    assert error["detail"]["limit"] == 200


@pytest.mark.parametrize(
    "memory_id", ["fact_424242", "event_0", "nonsense", "fact_99999999999999999999999", "%20"]
)
def test_unknown_or_malformed_ids_are_memory_not_found(http: httpx.Client, memory_id: str) -> None:
    _error(http.get(f"/v1/memories/{memory_id}"), 404, "memory_not_found")


def test_unknown_job_is_job_not_found(http: httpx.Client) -> None:
    _error(http.get("/v1/jobs/987654321"), 404, "job_not_found")


def test_missing_or_unknown_key_is_authentication_failed(live: Live) -> None:
    for key in (None, "msk_not-a-real-key"):
        with live.client(key) as client:
            response = client.get("/v1/stats")
        _error(response, 401, "authentication_failed")
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_x_api_key_header_is_accepted(live: Live, make_tenant: Callable[..., Tenant]) -> None:
    tenant = make_tenant("errors-header")
    with httpx.Client(base_url=live.base_url, headers={"X-API-Key": tenant.key}) as client:
        assert client.get("/v1/stats").json()["namespace"] == "errors-header"


def test_non_admin_key_on_admin_route_is_permission_denied(http: httpx.Client) -> None:
    _error(http.get("/v1/admin/keys"), 403, "permission_denied")


def test_unknown_route_and_wrong_method_have_error_bodies(http: httpx.Client) -> None:
    _error(http.get("/v1/nothing-here"), 404, "not_found")
    response = http.put("/v1/search", json={})
    _error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["allow"]


@pytest.fixture
def broken(live: Live, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Exception], None]]:
    """Make ``MemoryService.stats`` raise a given exception (a failure injected at a boundary)."""

    def inject(exc: Exception) -> None:
        def fail(**_: object) -> dict[str, Any]:
            raise exc

        monkeypatch.setattr(live.service, "stats", fail)

    yield inject


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.code)
def test_every_error_class_reaches_the_client_with_its_status_and_code(
    http: httpx.Client, broken: Callable[[Exception], None], cls: type[MemsvcError]
) -> None:
    broken(cls("injected failure", detail={"retry_after_s": 2}))
    response = http.get("/v1/stats")
    error = _error(response, status_for(cls("x")), cls.code)
    assert error["message"] == "injected failure"
    if cls.code == "rate_limited":
        assert response.headers["Retry-After"] == "2"


def test_unexpected_exception_is_internal_error_without_a_traceback(
    http: httpx.Client, broken: Callable[[Exception], None]
) -> None:
    broken(RuntimeError("secret internals /etc/passwd"))
    response = http.get("/v1/stats")
    error = _error(response, 500, "internal_error")
    assert error["message"] == "internal server error"
    assert "Traceback" not in response.text
    assert "secret internals" not in response.text


def test_status_table_gives_every_error_class_a_4xx_or_5xx() -> None:
    statuses = {cls.code: status_for(cls("x")) for cls in ERROR_CLASSES}
    assert all(400 <= s < 600 for s in statuses.values()), statuses
    assert statuses["invalid_scope"] == 422
    assert statuses["memory_not_found"] == 404
    assert statuses[ScopeConflict.code] == 409
    assert statuses["internal_error"] == 500

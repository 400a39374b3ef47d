"""Limits on a live server with small settings: body size, batch, content, top_k, rate per key."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from api.live import Live, Tenant
from memsvc.api.ratelimit import RateLimiter
from memsvc.errors import RateLimited


@pytest.fixture
def tenant(limited: Live, request: pytest.FixtureRequest) -> Iterator[Tenant]:
    """A fresh key (a full rate-limit bucket of 5) on the limited server."""
    made = limited.tenant(f"limits-{request.node.name[:40]}")
    yield made
    made.http.close()


def _code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


def test_body_over_the_limit_is_413_before_it_is_read(tenant: Tenant) -> None:
    response = tenant.http.post("/v1/memories", json={"messages": "a" * 5000, "user_id": "u"})
    assert response.status_code == 413
    assert _code(response) == "limit_exceeded"
    assert response.json()["error"]["detail"] == {"limit": 4096}


def test_chunked_body_over_the_limit_is_413(tenant: Tenant) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"messages": "'
        for _ in range(10):
            yield b"a" * 1000
        yield b'", "user_id": "u"}'

    response = tenant.http.post(
        "/v1/memories", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert _code(response) == "limit_exceeded"


def test_batch_content_and_top_k_limits_are_limit_exceeded(tenant: Tenant) -> None:
    batch = tenant.http.post(
        "/v1/memories", json={"messages": [{"content": "m"}] * 4, "user_id": "u"}
    )
    content = tenant.http.post("/v1/memories", json={"messages": "c" * 101, "user_id": "u"})
    top_k = tenant.http.post("/v1/search", json={"query": "q", "user_id": "u", "top_k": 11})
    for response in (batch, content, top_k):
        assert response.status_code == 422
        assert _code(response) == "limit_exceeded"


def test_rate_limit_answers_429_with_retry_after_per_key(limited: Live, tenant: Tenant) -> None:
    statuses = [tenant.http.get("/v1/stats").status_code for _ in range(5)]
    assert statuses == [200] * 5
    refused = tenant.http.get("/v1/stats")
    assert refused.status_code == 429
    assert _code(refused) == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    other = limited.tenant("limits-other-key")
    try:
        assert other.http.get("/v1/stats").status_code == 200
    finally:
        other.http.close()


def test_rate_limiter_allows_the_rate_per_minute_and_says_when_to_retry() -> None:
    limiter = RateLimiter(60)
    for _ in range(60):
        limiter.acquire("k")
    with pytest.raises(RateLimited) as caught:
        limiter.acquire("k")
    assert 0 < caught.value.detail["retry_after_s"] <= 60
    limiter.acquire("another key")


def _redis_or_skip() -> str:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    return "redis://127.0.0.1:6379"


def test_workers_sharing_redis_share_one_limit() -> None:
    uri = _redis_or_skip()
    prefix = f"memsvc-test-{uuid.uuid4().hex[:8]}"
    workers = [RateLimiter(10, storage=uri, key_prefix=prefix) for _ in range(3)]  # 3 processes
    allowed = 0
    for i in range(30):
        try:
            workers[i % 3].acquire("key-1")
            allowed += 1
        except RateLimited:
            pass
    assert allowed == 10


def test_rate_limiter_zero_means_unlimited() -> None:
    limiter = RateLimiter(0)
    for _ in range(10_000):
        limiter.acquire("k")


def test_rate_limit_is_off_by_default_only_with_auth_off() -> None:
    # issue 17: with auth off a local bulk import over REST failed at 10 requests a second
    from memsvc.config import ApiSettings

    assert ApiSettings(auth=False).rate_limit_per_minute == 0
    assert ApiSettings(auth=True).rate_limit_per_minute == 600
    assert ApiSettings(auth=False, rate_limit_per_minute=60).rate_limit_per_minute == 60

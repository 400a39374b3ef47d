"""Retries with backoff on 429/503/connection errors, and no network I/O in constructors.

Failures are injected at the transport boundary: ``FlakyTransport`` answers or raises as
planned for the first requests and then forwards to the live server.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator

import httpx
import pytest
from api.live import Live

from memsvc.errors import RateLimited, StoreUnavailable
from memsvc.sdk import AsyncMemoryClient, MemoryClient, ServiceUnreachable

Step = int | type[httpx.TransportError] | str
LOST = "lost"
"""A plan step: forward the request to the server, then lose its reply (a read error)."""


class FlakyTransport(httpx.BaseTransport):
    """Plays ``plan`` (a status to answer, or a transport error to raise), then forwards."""

    def __init__(self, plan: list[Step]) -> None:
        self.plan = list(plan)
        self.requests: list[httpx.Request] = []
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.plan:
            return self._inner.handle_request(request)
        step = self.plan.pop(0)
        if step == LOST:
            self._inner.handle_request(request).read()
            raise httpx.ReadError("reply lost", request=request)
        if isinstance(step, int):
            code = "rate_limited" if step == 429 else "store_unavailable"
            body = {"error": {"code": code, "message": "injected", "detail": {}}}
            return httpx.Response(step, headers={"Retry-After": "0"}, json=body)
        assert not isinstance(step, str)
        raise step("injected", request=request)

    def close(self) -> None:
        self._inner.close()


MakeClient = Callable[..., MemoryClient]


@pytest.fixture
def flaky(live: Live, api_key: str) -> Iterator[MakeClient]:
    """Make clients whose transport plays a plan of failures; their pools are closed after."""
    pools: list[httpx.Client] = []

    def make(plan: list[Step], retries: int = 2) -> MemoryClient:
        http = httpx.Client(transport=FlakyTransport(plan))
        pools.append(http)
        return MemoryClient(live.base_url, api_key=api_key, retries=retries, http_client=http)

    yield make
    for pool in pools:
        pool.close()


def _transport(client: MemoryClient) -> FlakyTransport:
    transport = client._http._transport  # the injected boundary, to count what was sent
    assert isinstance(transport, FlakyTransport)
    return transport


def test_client_retries_429_and_503_then_succeeds(flaky: MakeClient) -> None:
    client = flaky([429, 503])
    assert client.stats().namespace == "sdk"
    assert len(_transport(client).requests) == 3


def test_client_gives_up_after_its_retries_with_the_mapped_error(flaky: MakeClient) -> None:
    with pytest.raises(StoreUnavailable):
        flaky([503, 503, 503]).stats()
    with pytest.raises(RateLimited):
        flaky([429], retries=0).stats()


def test_client_resends_reads_after_a_read_error(flaky: MakeClient) -> None:
    client = flaky([httpx.ReadError])
    assert client.stats().namespace == "sdk"
    assert len(_transport(client).requests) == 2


def test_client_resends_an_add_whose_reply_was_lost_and_it_is_stored_once(
    flaky: MakeClient,
) -> None:
    client = flaky([LOST, LOST])
    added = client.add("stored exactly once", user_id="retry-user")
    sent = _transport(client).requests
    assert len(sent) == 3
    keys = {r.headers["Idempotency-Key"] for r in sent}
    assert len(keys) == 1  # one key per call, the same on every retry
    assert [m.id for m in client.get_all(user_id="retry-user").items] == [
        e.id for e in added.events
    ]


def test_each_add_call_sends_its_own_idempotency_key(flaky: MakeClient) -> None:
    client = flaky([])
    client.add("first", user_id="retry-user-3")
    client.add("first", user_id="retry-user-3")
    sent = _transport(client).requests
    assert len({r.headers["Idempotency-Key"] for r in sent}) == 2
    assert len(client.get_all(user_id="retry-user-3").items) == 2


def test_client_does_not_resend_a_non_idempotent_call_after_a_503(flaky: MakeClient) -> None:
    client = flaky([503])
    with pytest.raises(StoreUnavailable):
        client.create_key(namespace="x", name="k")  # a POST without an idempotency key
    assert len(_transport(client).requests) == 1


def test_client_resends_an_add_whose_connection_was_refused(flaky: MakeClient) -> None:
    client = flaky([httpx.ConnectError])
    assert client.add("stored once", user_id="retry-user-2").events
    assert len(client.get_all(user_id="retry-user-2").items) == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_client_unreachable_server_raises_service_unreachable() -> None:
    with (
        MemoryClient(f"http://127.0.0.1:{_closed_port()}", retries=1) as client,
        pytest.raises(ServiceUnreachable) as caught,
    ):
        client.get("fact_1")
    assert caught.value.code == "service_unreachable"


def test_constructors_do_no_network_io() -> None:
    transport = FlakyTransport([])
    with httpx.Client(transport=transport) as http:
        MemoryClient("http://192.0.2.1:9", http_client=http)
    MemoryClient("http://192.0.2.1:9", api_key="k").close()
    asyncio.run(AsyncMemoryClient("http://192.0.2.1:9", api_key="k").aclose())
    assert transport.requests == []

"""HTTP clients of the memsvc REST API: :class:`MemoryClient` and :class:`AsyncMemoryClient`.

They have the same methods, arguments and return types as the embedded :class:`memsvc.Memory`,
so code moves from one to the other by changing the line that builds the client::

    memory = Memory(settings)                                  # in-process
    memory = MemoryClient("http://127.0.0.1:8765", api_key=k)  # over HTTP

Each operation is defined once in ``_operations`` (the request and how to read the answer);
the two classes below only differ in how they send it. Errors come back as the same
:mod:`memsvc.errors` classes. Constructors do no network I/O.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import random
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar

import httpx

import memsvc
from memsvc.errors import ConfigError
from memsvc.sdk import _operations as ops
from memsvc.sdk._errors import ServiceUnreachable, error_from_response
from memsvc.sdk._operations import Call

__all__ = ["DEFAULT_URL", "AsyncMemoryClient", "MemoryClient"]

DEFAULT_URL = "http://127.0.0.1:8765"
"""Where ``memsvc serve`` listens by default; the clients' URL when none is given."""

P = ParamSpec("P")
T = TypeVar("T")

_RETRY_STATUSES = frozenset({429, 503})
_BACKOFF_BASE_S = 0.25
_BACKOFF_MAX_S = 8.0
_RETRY_AFTER_MAX_S = 60.0


class _BaseClient:
    """What both clients share: configuration, request building, retry policy, parsing."""

    def __init__(self, base_url: str | None, *, api_key: str | None, retries: int) -> None:
        if retries < 0:
            raise ValueError("retries must be >= 0")
        base_url = base_url or os.environ.get("MEMSVC_URL") or DEFAULT_URL
        if api_key is None:
            api_key = os.environ.get("MEMSVC_API_KEY") or None
        if "://" not in base_url:
            raise ConfigError(
                f"the server URL {base_url!r} has no scheme: write http://{base_url}",
                detail={"url": base_url[:200]},
            )
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self._headers = {
            "Accept": "application/json",
            "User-Agent": f"memsvc-sdk/{memsvc.__version__}",
        }
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"

    def _request_kwargs(self, call: Call[Any]) -> dict[str, Any]:
        return {
            "method": call.method,
            "url": self.base_url + call.path,
            "params": call.params or None,
            "json": call.json,
            "headers": {**self._headers, **call.headers} if call.headers else self._headers,
        }

    def _should_retry_status(self, response: httpx.Response, call: Call[Any], attempt: int) -> bool:
        if attempt >= self.retries or response.status_code not in _RETRY_STATUSES:
            return False
        # 429 means "not processed"; a 503 may come after the write happened (outcome_unknown),
        # so only a request that is safe to send twice is sent again.
        return response.status_code == 429 or call.is_safe_to_resend

    def _should_retry_error(self, exc: httpx.TransportError, call: Call[Any], attempt: int) -> bool:
        if attempt >= self.retries:
            return False
        # A refused connection never reached the server; anything later may have.
        never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        return never_sent or call.is_safe_to_resend

    @staticmethod
    def _delay(attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            retry_after = response.headers.get("Retry-After", "")
            try:
                seconds = float(retry_after)
            except ValueError:
                pass
            else:
                return min(_RETRY_AFTER_MAX_S, max(0.0, seconds))
        backoff = min(_BACKOFF_MAX_S, _BACKOFF_BASE_S * 2.0**attempt)
        return backoff * (0.5 + random.random() / 2)

    @staticmethod
    def _result(call: Call[T], response: httpx.Response) -> T:
        if response.is_success:
            return call.parse(response)
        raise error_from_response(response)

    @staticmethod
    def _unreachable(exc: httpx.TransportError, base_url: str) -> ServiceUnreachable:
        reason = "timeout" if isinstance(exc, httpx.TimeoutException) else type(exc).__name__
        return ServiceUnreachable(
            f"memsvc server at {base_url} did not answer ({reason})", detail={"reason": reason}
        )


def _method_signature(op: Callable[..., Any]) -> inspect.Signature:
    """``op``'s signature with ``self`` first and ``Call[X]`` unwrapped to ``X`` (for help())."""
    sig = inspect.signature(op)
    ret = sig.return_annotation
    if isinstance(ret, str) and ret.startswith("Call[") and ret.endswith("]"):
        ret = ret[len("Call[") : -1]
    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sig.replace(parameters=[self_param, *sig.parameters.values()], return_annotation=ret)


def _sync(op: Callable[P, Call[T]]) -> Callable[Concatenate[MemoryClient, P], T]:
    @functools.wraps(op)
    def method(self: MemoryClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._execute(op(*args, **kwargs))

    setattr(method, "__signature__", _method_signature(op))  # noqa: B010
    return method


def _async(op: Callable[P, Call[T]]) -> Callable[Concatenate[AsyncMemoryClient, P], Awaitable[T]]:
    @functools.wraps(op)
    async def method(self: AsyncMemoryClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._execute(op(*args, **kwargs))

    setattr(method, "__signature__", _method_signature(op))  # noqa: B010
    return method


class MemoryClient(_BaseClient):
    """The memsvc REST API, synchronously.

    Args:
        base_url: the server, e.g. ``"http://127.0.0.1:8765"`` (default: ``MEMSVC_URL``, else
            that address).
        api_key: sent as ``Authorization: Bearer <key>``; confines every call to its namespace
            (default: ``MEMSVC_API_KEY``; ``""`` sends none).
        timeout: seconds per request (of the connection pool built here; a given
            ``http_client`` keeps its own).
        retries: extra attempts on 429 (honouring ``Retry-After``), 503 and connection errors,
            with exponential backoff and jitter.
        http_client: an ``httpx.Client`` to send through (a Starlette ``TestClient`` works); it
            is not closed by :meth:`close`.

    Example::

        with MemoryClient("http://127.0.0.1:8765", api_key="msk_...") as memory:
            memory.add("I moved to Paris last week", user_id="alice")
            hits = memory.search("where does alice live?", user_id="alice").hits
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        retries: int = 2,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(base_url, api_key=api_key, retries=retries)
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else httpx.Client(timeout=timeout)

    def _execute(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            try:
                response = self._http.request(**self._request_kwargs(call))
            except httpx.TransportError as exc:
                if not self._should_retry_error(exc, call, attempt):
                    raise self._unreachable(exc, self.base_url) from exc
                time.sleep(self._delay(attempt, None))
            else:
                if not self._should_retry_status(response, call, attempt):
                    return self._result(call, response)
                time.sleep(self._delay(attempt, response))
            attempt += 1

    add = _sync(ops.add)
    search = _sync(ops.search)
    get = _sync(ops.get)
    get_all = _sync(ops.get_all)
    update = _sync(ops.update)
    delete = _sync(ops.delete)
    delete_all = _sync(ops.delete_all)
    erase = _sync(ops.erase)
    history = _sync(ops.history)
    episodes = _sync(ops.episodes)
    tree = _sync(ops.tree)
    entities = _sync(ops.entities)
    answer = _sync(ops.answer)
    profile = _sync(ops.profile)
    consolidate = _sync(ops.consolidate)
    job = _sync(ops.job)
    stats = _sync(ops.stats)
    create_key = _sync(ops.create_key)
    list_keys = _sync(ops.list_keys)
    revoke_key = _sync(ops.revoke_key)

    def close(self) -> None:
        """Close the HTTP connection pool (unless it was passed in)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> MemoryClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncMemoryClient(_BaseClient):
    """The memsvc REST API for asyncio: the methods of :class:`MemoryClient`, awaited.

    Args:
        base_url: the server (default: ``MEMSVC_URL``, else ``http://127.0.0.1:8765``).
        api_key: sent as ``Authorization: Bearer <key>`` (default: ``MEMSVC_API_KEY``).
        timeout: seconds per request (of the client built here; a given ``http_client`` keeps
            its own).
        retries: extra attempts on 429, 503 and connection errors, with backoff.
        http_client: an ``httpx.AsyncClient`` to send through (not closed by :meth:`aclose`).
        transport: an httpx transport for a client built here, e.g.
            ``httpx.ASGITransport(app)`` to call an app in-process.

    Example::

        async with AsyncMemoryClient("http://127.0.0.1:8765", api_key="msk_...") as memory:
            await memory.add("I moved to Paris last week", user_id="alice")
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        retries: int = 2,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, api_key=api_key, retries=retries)
        if http_client is not None and transport is not None:
            raise ValueError("give http_client or transport, not both")
        self._owns_http = http_client is None
        self._http = (
            http_client
            if http_client is not None
            else httpx.AsyncClient(timeout=timeout, transport=transport)
        )

    async def _execute(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            try:
                response = await self._http.request(**self._request_kwargs(call))
            except httpx.TransportError as exc:
                if not self._should_retry_error(exc, call, attempt):
                    raise self._unreachable(exc, self.base_url) from exc
                await asyncio.sleep(self._delay(attempt, None))
            else:
                if not self._should_retry_status(response, call, attempt):
                    return self._result(call, response)
                await asyncio.sleep(self._delay(attempt, response))
            attempt += 1

    add = _async(ops.add)
    search = _async(ops.search)
    get = _async(ops.get)
    get_all = _async(ops.get_all)
    update = _async(ops.update)
    delete = _async(ops.delete)
    delete_all = _async(ops.delete_all)
    erase = _async(ops.erase)
    history = _async(ops.history)
    episodes = _async(ops.episodes)
    tree = _async(ops.tree)
    entities = _async(ops.entities)
    answer = _async(ops.answer)
    profile = _async(ops.profile)
    consolidate = _async(ops.consolidate)
    job = _async(ops.job)
    stats = _async(ops.stats)
    create_key = _async(ops.create_key)
    list_keys = _async(ops.list_keys)
    revoke_key = _async(ops.revoke_key)

    async def aclose(self) -> None:
        """Close the HTTP connection pool (unless it was passed in)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncMemoryClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

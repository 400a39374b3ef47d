"""Dependencies of the route handlers, as ``Annotated`` aliases.

``ServiceDep`` is the app's :class:`MemoryService`; ``CallerDep`` authenticates the request,
applies the per-key rate limit and yields the :class:`Caller` whose namespace confines every
operation; ``AdminDep`` additionally requires the admin right.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import anyio
from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from memsvc.api.auth import Authenticator, Caller
from memsvc.api.metrics import Metrics
from memsvc.api.ratelimit import RateLimiter
from memsvc.config import Settings
from memsvc.errors import PermissionDenied, StoreUnavailable
from memsvc.service.facade import MemoryService

__all__ = [
    "AdminDep",
    "ApiState",
    "ApiStateDep",
    "CallerDep",
    "ServiceDep",
    "get_admin",
    "get_api_state",
    "get_caller",
    "get_service",
]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer msk_...`.")
_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key, as an alternative header."
)


@dataclass(frozen=True)
class ApiState:
    """What the app keeps besides the service (``app.state.api``)."""

    settings: Settings
    authenticator: Authenticator
    limiter: RateLimiter
    metrics: Metrics
    search_slots: anyio.CapacityLimiter


async def get_api_state(request: Request) -> ApiState:
    """The app's :class:`ApiState`."""
    state: ApiState = request.app.state.api
    return state


async def get_service(request: Request) -> MemoryService:
    """The app's service (503 ``store_unavailable`` while it is not built yet)."""
    service: MemoryService | None = getattr(request.app.state, "service", None)
    if service is None:
        raise StoreUnavailable("the memory service is not ready")
    return service


ServiceDep = Annotated[MemoryService, Depends(get_service)]
ApiStateDep = Annotated[ApiState, Depends(get_api_state)]


async def get_caller(
    request: Request,
    service: ServiceDep,
    state: ApiStateDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
    api_key: Annotated[str | None, Security(_api_key_header)] = None,
) -> Caller:
    """Authenticate the request and take one token from its key's rate-limit bucket.

    Raises:
        AuthenticationFailed: auth is on and no valid key was given (401).
        RateLimited: the key has used its allowance (429).
    """
    secret = bearer.credentials if bearer is not None else api_key
    if secret is None:
        # mem0's clients send ``Authorization: Token <key>``.
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "token" and token.strip():
            secret = token.strip()
    host = request.client.host if request.client is not None else None
    caller = state.authenticator.lookup(secret, client_host=host)
    if caller is None:
        assert secret is not None
        caller = await run_in_threadpool(state.authenticator.verify, service, secret)
    state.limiter.acquire(caller.principal)
    state.metrics.seen(caller.namespace)
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


async def get_admin(caller: CallerDep) -> Caller:
    """The caller, who must hold the admin right (403 ``permission_denied`` otherwise)."""
    if not caller.is_admin:
        raise PermissionDenied("this route needs an admin key")
    return caller


AdminDep = Annotated[Caller, Depends(get_admin)]

"""Operations: consolidation jobs and stats (any key, own namespace) and API keys (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from memsvc.api.deps import AdminDep, ApiStateDep, CallerDep, ServiceDep
from memsvc.api.errors import ERROR_RESPONSES
from memsvc.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyPublic,
    ApiKeyRevoked,
    ConsolidateRequest,
    JobPublic,
    StatsPublic,
)
from memsvc.types import Scope

__all__ = ["router"]

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)

_MAX_ID = 2**63 - 1


@router.post(
    "/consolidate",
    status_code=status.HTTP_202_ACCEPTED,
    tags=["consolidation"],
    summary="Consolidate a scope now",
)
def consolidate(body: ConsolidateRequest, caller: CallerDep, service: ServiceDep) -> JobPublic:
    """Queue consolidation of a scope (episodes, facts, summaries, tree); poll the job."""
    scope = Scope(body.user_id, body.agent_id, body.session_id)
    job_id = service.consolidate(scope=scope, namespace=caller.namespace)
    return JobPublic.from_job(service.job(job_id, namespace=caller.namespace))


@router.get("/jobs/{job_id}", tags=["consolidation"], summary="A consolidation job's status")
def job(
    job_id: Annotated[int, Path(ge=1, le=_MAX_ID)], caller: CallerDep, service: ServiceDep
) -> JobPublic:
    """Status, attempts and last error of a job of the caller's namespace."""
    return JobPublic.from_job(service.job(job_id, namespace=caller.namespace))


@router.get("/stats", tags=["operations"], summary="The namespace's statistics")
def stats(caller: CallerDep, service: ServiceDep) -> StatsPublic:
    """Counts per kind, index sizes, queue depth, consolidation lag and LLM usage."""
    return StatsPublic.from_stats(service.stats(namespace=caller.namespace))


@router.post(
    "/admin/keys",
    status_code=status.HTTP_201_CREATED,
    tags=["admin"],
    summary="Create an API key",
)
def create_key(body: ApiKeyCreate, _: AdminDep, service: ServiceDep) -> ApiKeyCreated:
    """Create a key for a namespace (created when new). The secret is returned only here."""
    created = service.create_key(namespace=body.namespace, name=body.name, is_admin=body.is_admin)
    return ApiKeyCreated(
        id=created.id,
        namespace=created.namespace,
        name=created.name,
        secret=created.secret,
        is_admin=created.is_admin,
    )


@router.get("/admin/keys", tags=["admin"], summary="List API keys")
def list_keys(
    _: AdminDep,
    service: ServiceDep,
    namespace: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
) -> ApiKeyList:
    """Keys (never their secrets), optionally of one namespace."""
    return ApiKeyList(
        items=[ApiKeyPublic.model_validate(k) for k in service.list_keys(namespace=namespace)]
    )


@router.delete("/admin/keys/{key_id}", tags=["admin"], summary="Revoke an API key")
def revoke_key(
    key_id: Annotated[int, Path(ge=1, le=_MAX_ID)],
    _: AdminDep,
    service: ServiceDep,
    state: ApiStateDep,
) -> ApiKeyRevoked:
    """Revoke a key; it stops working at once on this server (``revoked`` is false when no
    live key had this id)."""
    is_revoked = service.revoke_key(key_id)
    if is_revoked:
        state.authenticator.forget_all()
    return ApiKeyRevoked(id=key_id, revoked=is_revoked)

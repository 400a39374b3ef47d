"""``/healthz`` (liveness), ``/readyz`` (readiness) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

import functools
import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from memsvc.api.deps import AdminDep, ApiStateDep
from memsvc.api.errors import ERROR_RESPONSES
from memsvc.errors import MemsvcError
from memsvc.schemas import HealthResponse, ReadyResponse

__all__ = ["router"]

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> HealthResponse:
    """The process answers. No authentication, no I/O."""
    return HealthResponse(status="ok")


@router.get(
    "/readyz",
    summary="Readiness",
    response_model=ReadyResponse,
    responses={503: {"model": ReadyResponse, "description": "Not ready."}},
)
def readyz(request: Request) -> JSONResponse:
    """The service is built, its database answers and is migrated to the revision this code
    expects (503 otherwise, naming ``memsvc db upgrade``), and no index is being rebuilt (503);
    a failing snapshot save is reported in ``checks.index`` (serving goes on). No
    authentication."""
    service = getattr(request.app.state, "service", None)
    if service is None:
        body = ReadyResponse(status="unavailable", checks={"service": "starting"})
        return JSONResponse(body.model_dump(), status_code=503)
    try:
        service.ping()
        revision = service.schema_revision()
    except MemsvcError as exc:
        logger.warning("readiness check failed: %s", exc.code)
        body = ReadyResponse(status="unavailable", checks={"service": "ok", "database": exc.code})
        return JSONResponse(body.model_dump(), status_code=503)
    expected = _schema_head()
    if revision != expected:
        # a database the migrations never reached answers every write with a 503: say why here
        logger.warning("readiness: schema at %s, code expects %s", revision, expected)
        checks = {
            "service": "ok",
            "database": "ok",
            "schema": f"at {revision or 'no revision'}, expected {expected}: run memsvc db upgrade",
        }
        body = ReadyResponse(status="unavailable", checks=checks)
        return JSONResponse(body.model_dump(), status_code=503)
    index_state = service.indexes.state()
    if index_state == "rebuilding":
        # Requests wait while an index is rebuilt from SQL: never "ok" while they would fail.
        checks = {
            "service": "ok",
            "database": "ok",
            "schema": "ok",
            "index": "not ready: rebuilding",
        }
        body = ReadyResponse(status="unavailable", checks=checks)
        return JSONResponse(body.model_dump(), status_code=503)
    checks = {"service": "ok", "database": "ok", "schema": "ok", "index": index_state}
    return JSONResponse(ReadyResponse(status="ok", checks=checks).model_dump())


@functools.cache
def _schema_head() -> str:
    from memsvc.store.migrate import head

    return head()


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Text exposition format."},
        **ERROR_RESPONSES,
    },
)
def metrics(_: AdminDep, state: ApiStateDep) -> Response:
    """Request latency by route, memories and index sizes per namespace, queue depth, LLM
    tokens. Needs an admin key when auth is on."""
    return Response(content=state.metrics.render(), media_type=CONTENT_TYPE_LATEST)

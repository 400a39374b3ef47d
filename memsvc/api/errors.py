"""The one table from error class to HTTP status, and the handlers that write error bodies.

Every error response is ``{"error": {"code", "message", "detail"}}`` (``ErrorResponse``). Codes
are stable: they are the ``code`` of the :mod:`memsvc.errors` class, which the SDK maps back to
the same class, plus four HTTP-level codes that have no domain class:

=====================  ======  ===========================================================
code                   status  when
=====================  ======  ===========================================================
invalid_input          422     the body or a parameter does not match the schema
invalid_scope ...      422     any other ``InvalidInput`` subclass (content, metadata, query)
limit_exceeded         422     top_k, batch, content or metadata above a limit
limit_exceeded         413     the request body is larger than ``api.max_body_bytes``
memory_not_found       404     unknown id, malformed id, or another tenant's memory
job_not_found          404
scope_conflict         409
idempotency_conflict   409     an Idempotency-Key reused with a different request body
authentication_failed  401     missing, unknown or revoked API key
permission_denied      403     a non-admin key on an admin route
rate_limited           429     with a ``Retry-After`` header
store_unavailable      503
outcome_unknown        503     the connection died during COMMIT; retry with the same key
index_out_of_sync      503
embedding_failed       503
llm_error              502     (``llm_output_invalid`` 502, ``llm_timeout`` 504)
config_error           500
not_found              404     no such route
method_not_allowed     405
internal_error         500     anything unexpected; never carries a traceback
=====================  ======  ===========================================================
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from memsvc.errors import (
    AuthenticationFailed,
    ConfigError,
    EmbeddingFailed,
    IdempotencyConflict,
    IndexOutOfSync,
    InvalidInput,
    JobNotFound,
    LimitExceeded,
    LLMError,
    LLMOutputInvalid,
    LLMTimeout,
    MemoryNotFound,
    MemsvcError,
    PermissionDenied,
    RateLimited,
    ScopeConflict,
    StoreUnavailable,
)
from memsvc.schemas import ErrorResponse

__all__ = [
    "ERROR_RESPONSES",
    "STATUS_BY_ERROR",
    "error_body",
    "install_error_handlers",
    "status_for",
]

logger = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[MemsvcError], int] = {
    InvalidInput: 422,
    LimitExceeded: 422,
    MemoryNotFound: 404,
    JobNotFound: 404,
    ScopeConflict: 409,
    IdempotencyConflict: 409,
    AuthenticationFailed: 401,
    PermissionDenied: 403,
    RateLimited: 429,
    StoreUnavailable: 503,
    IndexOutOfSync: 503,
    EmbeddingFailed: 503,
    LLMError: 502,
    LLMOutputInvalid: 502,
    LLMTimeout: 504,
    ConfigError: 500,
    MemsvcError: 500,
}
"""The one mapping from error class to HTTP status; a subclass inherits its parent's status."""

_HTTP_CODES = {
    400: "invalid_input",
    404: "not_found",
    405: "method_not_allowed",
    413: "limit_exceeded",
}

_DESCRIPTIONS = {
    401: "Missing, unknown or revoked API key (authentication_failed).",
    403: "The key lacks the admin right (permission_denied).",
    404: "No such memory or job in the caller's namespace.",
    409: "Scope conflict, or an Idempotency-Key reused for another request.",
    413: "Request body too large (limit_exceeded).",
    422: "Invalid input: invalid_input, invalid_scope, invalid_content, invalid_metadata, "
    "invalid_query or limit_exceeded.",
    429: "Rate limited; retry after the Retry-After header (rate_limited).",
    500: "Unexpected error (internal_error); no traceback is ever returned.",
    502: "The language model failed (llm_error, llm_output_invalid).",
    503: "The database, index or embedder is unavailable; retry later (outcome_unknown: the "
    "add may be stored; retry with the same Idempotency-Key).",
    504: "The language model timed out (llm_timeout).",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text} for status, text in _DESCRIPTIONS.items()
}
"""The error responses documented on every ``/v1`` route (OpenAPI ``responses``)."""


def status_for(exc: MemsvcError) -> int:
    """The HTTP status of an error: the entry of its nearest class in :data:`STATUS_BY_ERROR`."""
    for cls in type(exc).__mro__:
        status = STATUS_BY_ERROR.get(cls)
        if status is not None:
            return status
    return 500


def error_body(code: str, message: str, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON error body ``{"error": {"code", "message", "detail"}}``."""
    return {"error": {"code": code, "message": message, "detail": dict(detail or {})}}


async def _memsvc_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MemsvcError)
    status = status_for(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        retry_after = float(exc.detail.get("retry_after_s", 1.0))
        headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    if isinstance(exc, AuthenticationFailed):
        headers["WWW-Authenticate"] = "Bearer"
    if status >= 500:
        logger.warning("request failed with %s: %s", exc.code, type(exc).__name__)
    return JSONResponse(
        error_body(exc.code, exc.message, _json_safe(exc.detail)),
        status_code=status,
        headers=headers,
    )


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Field locations and messages only: the rejected input is the caller's data and may be
    # large, so it is never echoed back.
    errors = [
        {
            "loc": [str(part) for part in err.get("loc", ())],
            "msg": str(err.get("msg", ""))[:200],
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()[:20]
    ]
    return JSONResponse(
        error_body("invalid_input", "the request does not match the schema", {"errors": errors}),
        status_code=422,
    )


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else "HTTP error"
    # FastAPI answers 400 to a body it cannot decode (say, invalid UTF-8); every other input
    # error is a 422, so this one is too.
    status = 422 if exc.status_code == 400 else exc.status_code
    return JSONResponse(
        error_body(code, message[:200]), status_code=status, headers=dict(exc.headers or {})
    )


def _json_safe(detail: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in detail.items():
        if value is None or isinstance(value, bool | int | float | str):
            out[str(key)] = value
        else:
            out[str(key)] = str(value)[:200]
    return out


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers for domain errors, schema errors and HTTP errors on ``app``.

    Unexpected exceptions are handled by :class:`memsvc.api.middleware.CatchAllMiddleware`.
    """
    app.add_exception_handler(MemsvcError, _memsvc_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)

"""The one table from error class to HTTP status, and the handlers that write error bodies.

Every error response is ``{"error": {"code", "message", "detail"}}`` (``ErrorResponse``). Codes
are stable: they are the ``code`` of the :mod:`memsvc.errors` class, which the SDK maps back to
the same class, plus four HTTP-level codes that have no domain class:

=====================  ======  ===========================================================
code                   status  when
=====================  ======  ===========================================================
invalid_input          422     the body or a parameter does not match the schema (one error per
                               mistake, by field path: ``messages[0].role``)
invalid_json           422     the body is not JSON
invalid_scope ...      422     any other ``InvalidInput`` subclass (content, metadata, query)
limit_exceeded         422     top_k, batch, content or metadata above a limit
limit_exceeded         413     the request body is larger than ``api.max_body_bytes``
memory_not_found       404     unknown id, malformed id, or another tenant's memory
job_not_found          404
scope_conflict         409
already_exists         409     an import of rows that exist (``on_conflict`` skip or replace)
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
    AlreadyExists,
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
    AlreadyExists: 409,
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
    raw = list(exc.errors())
    bad_json = next((e for e in raw if e.get("type") == "json_invalid"), None)
    if bad_json is not None:
        where = [str(p) for p in bad_json.get("loc", ())][1:2]
        reason = str((bad_json.get("ctx") or {}).get("error", "JSON decode error"))[:100]
        at = f" at character {where[0]}" if where else ""
        return JSONResponse(
            error_body("invalid_json", f"the body is not valid JSON: {reason}{at}"),
            status_code=422,
        )
    errors = readable_errors(raw)[:20]
    first = errors[0] if errors else {"field": "request", "msg": "invalid request"}
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    # Field locations and messages only: the rejected input is the caller's data and may be
    # large, so it is never echoed back.
    return JSONResponse(
        error_body("invalid_input", f"{first['field']}: {first['msg']}{more}", {"errors": errors}),
        status_code=422,
    )


_TYPE_MISMATCH = frozenset(
    {
        "string_type",
        "model_type",
        "model_attributes_type",
        "list_type",
        "dict_type",
        "int_type",
        "int_parsing",
        "float_type",
        "bool_type",
        "none_required",
        "is_instance_of",
    }
)
_SCALAR_TAGS = frozenset({"str", "int", "float", "bool", "none", "dict", "list"})


def _is_branch_tag(part: object) -> bool:
    """A union branch pydantic names in a location (``str``, ``MessageIn``, ``list[...]``),
    as opposed to a field name (our fields are snake_case) or a list index."""
    if not isinstance(part, str):
        return False
    return part in _SCALAR_TAGS or "[" in part or part[:1].isupper()


def readable_errors(raw: list[Any]) -> list[dict[str, Any]]:
    """One error per real mistake, located by field path (``messages[0].role``).

    A value checked against a union (a string, a message, or a list of them) fails once per
    branch; the branches whose type simply did not match are dropped when another branch got
    further, and merged into one "wrong type" error when none did.
    """
    entries = []
    for err in raw:
        loc = list(err.get("loc", ()))
        tags = [i for i, part in enumerate(loc) if _is_branch_tag(part)]
        is_mismatch = bool(tags) and tags[-1] == len(loc) - 1 and err.get("type") in _TYPE_MISMATCH
        entries.append((loc, tags, is_mismatch, err))
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for loc, tags, is_mismatch, err in entries:
        if is_mismatch:
            prefix = loc[: tags[-1]]
            rivals = [
                e
                for e in entries
                if not e[2] and len(e[0]) > len(prefix) and e[0][: len(prefix)] == prefix
            ]
            if rivals:
                continue
            field, msg = _field_name(prefix), "has the wrong type"
            expected = [str(e[0][-1]) for e in entries if e[2] and e[0][: len(prefix)] == prefix]
            if expected:
                msg += " (expected " + " or ".join(_branch_word(t) for t in expected) + ")"
        else:
            field, msg = _field_name(loc), str(err.get("msg", ""))[:200]
            if err.get("type") == "extra_forbidden":
                msg = "unknown field"
            if str(err.get("type", "")).startswith(("datetime", "date")):
                msg += " (ISO 8601, e.g. 2024-05-01T12:00:00Z; a time without an offset is UTC)"
        if field in seen:
            continue
        seen.add(field)
        clean = [str(p) for p in loc if not _is_branch_tag(p)]
        out.append({"field": field, "loc": clean, "msg": msg, "type": str(err.get("type", ""))})
    return out


def _field_name(loc: list[Any]) -> str:
    name = ""
    for part in loc:
        if _is_branch_tag(part) or (not name and part in ("body", "query", "path")):
            continue
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"


def _branch_word(tag: str) -> str:
    if tag.startswith("list"):
        return "a list"
    if tag in ("str", "int", "float", "bool"):
        return {"str": "a string", "int": "an integer", "float": "a number", "bool": "true/false"}[
            tag
        ]
    return "an object"


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

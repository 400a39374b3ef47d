"""Error responses back to the :mod:`memsvc.errors` classes, so ``except MemoryNotFound`` works
the same in-process and over HTTP."""

from __future__ import annotations

from typing import Any

import httpx

from memsvc.errors import (
    AuthenticationFailed,
    InvalidInput,
    LimitExceeded,
    MemsvcError,
    PermissionDenied,
    RateLimited,
    StoreUnavailable,
    error_class_for_code,
)

__all__ = ["ServiceUnreachable", "error_from_response"]


class ServiceUnreachable(MemsvcError):
    """The memsvc server could not be reached or did not answer in time (after retries).

    This is the SDK's own: the server never sends it. When it follows a read timeout on an
    ``add``, the add may have been stored.
    """

    code = "service_unreachable"


# For answers without a memsvc error body (a proxy, a load balancer, a wrong base URL).
_BY_STATUS: dict[int, type[MemsvcError]] = {
    400: InvalidInput,
    401: AuthenticationFailed,
    403: PermissionDenied,
    413: LimitExceeded,
    422: InvalidInput,
    429: RateLimited,
    502: StoreUnavailable,
    503: StoreUnavailable,
    504: StoreUnavailable,
}


def error_from_response(response: httpx.Response) -> MemsvcError:
    """The exception an error response stands for."""
    body = _error_body(response)
    if body is not None:
        code, message, detail = body
        return error_class_for_code(code)(message, detail=detail)
    cls = _BY_STATUS.get(response.status_code, MemsvcError)
    detail = {"status_code": response.status_code}
    return cls(f"HTTP {response.status_code} from the server", detail=detail)


def _error_body(response: httpx.Response) -> tuple[str, str, dict[str, Any]] | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), str):
        return None
    detail = error.get("detail")
    message = error.get("message")
    return (
        error["code"],
        message if isinstance(message, str) else error["code"],
        dict(detail) if isinstance(detail, dict) else {},
    )

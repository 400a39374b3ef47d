"""The one error tree of memsvc.

Every error a caller can see is a :class:`MemsvcError`. Each class carries a stable ``code``
(the wire name used by the REST API and mapped back to the same class by the SDK) and states a
fact rather than an action::

    MemsvcError
    ├── InvalidInput                 code "invalid_input"          (400/422)
    │   ├── InvalidScope             code "invalid_scope"          scope keys missing or malformed
    │   ├── InvalidContent           code "invalid_content"        empty, oversized or not UTF-8
    │   ├── InvalidMetadata          code "invalid_metadata"       not a flat JSON object, too large
    │   ├── InvalidQuery             code "invalid_query"          search query or filters unusable
    │   └── LimitExceeded            code "limit_exceeded"         batch, top_k or body too big
    ├── MemoryNotFound               code "memory_not_found"       unknown id (or another tenant's)
    ├── JobNotFound                  code "job_not_found"
    ├── ScopeConflict                code "scope_conflict"         an id used with a different scope
    ├── AuthenticationFailed         code "authentication_failed"  missing or unknown API key
    ├── PermissionDenied             code "permission_denied"      key lacks the admin right
    ├── RateLimited                  code "rate_limited"
    ├── StoreUnavailable             code "store_unavailable"      the database cannot be reached
    │   └── OutcomeUnknown           code "outcome_unknown"        died during COMMIT: stored or not
    ├── IdempotencyConflict          code "idempotency_conflict"   a key reused for another request
    ├── IndexOutOfSync               code "index_out_of_sync"      index and SQL disagree
    ├── EmbeddingFailed              code "embedding_failed"
    ├── LLMError                     code "llm_error"              provider refused or failed
    │   ├── LLMTimeout               code "llm_timeout"
    │   └── LLMOutputInvalid         code "llm_output_invalid"     unparseable after a repair
    └── ConfigError                  code "config_error"

Names never shadow builtins or libraries (no ``MemoryError``, ``IndexError``, ``ValidationError``).
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AlreadyExists",
    "AuthenticationFailed",
    "ConfigError",
    "EmbeddingFailed",
    "IdempotencyConflict",
    "IndexOutOfSync",
    "InvalidContent",
    "InvalidInput",
    "InvalidMetadata",
    "InvalidQuery",
    "InvalidScope",
    "InvalidTime",
    "JobNotFound",
    "LLMError",
    "LLMOutputInvalid",
    "LLMTimeout",
    "LimitExceeded",
    "MemoryNotFound",
    "MemsvcError",
    "NothingToUpdate",
    "OutcomeUnknown",
    "PermissionDenied",
    "RateLimited",
    "ScopeConflict",
    "StoreUnavailable",
    "error_class_for_code",
]


class MemsvcError(Exception):
    """Base of every memsvc error.

    Args:
        message: one line, safe to show to a client (never contains memory text).
        detail: structured, JSON-serialisable context (ids, limits, field names).
    """

    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, *, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail: dict[str, Any] = dict(detail or {})

    def to_dict(self) -> dict[str, Any]:
        """The wire body: ``{"code", "message", "detail"}``."""
        return {"code": self.code, "message": self.message, "detail": self.detail}


class InvalidInput(MemsvcError):
    """The request is malformed; nothing was stored."""

    code = "invalid_input"


class InvalidScope(InvalidInput):
    """No scope key (user_id, agent_id, session_id) was given, or one is malformed."""

    code = "invalid_scope"


class InvalidContent(InvalidInput):
    """Memory content is empty, too long or not valid UTF-8."""

    code = "invalid_content"


class InvalidMetadata(InvalidInput):
    """Metadata is not a JSON object of scalars, lists and objects, or is too large."""

    code = "invalid_metadata"


class InvalidQuery(InvalidInput):
    """A search query, filter or time expression cannot be used."""

    code = "invalid_query"


class InvalidTime(InvalidInput):
    """A time that cannot be meant: not a time, or outside the years 1800 to 2200."""

    code = "invalid_time"


class NothingToUpdate(InvalidInput):
    """An update named neither new content nor new metadata."""

    code = "nothing_to_update"


class LimitExceeded(InvalidInput):
    """A size or count limit was exceeded (batch size, top_k, body size)."""

    code = "limit_exceeded"


class MemoryNotFound(MemsvcError):
    """No memory with this id exists in the caller's namespace."""

    code = "memory_not_found"


class JobNotFound(MemsvcError):
    """No consolidation job with this id exists in the caller's namespace."""

    code = "job_not_found"


class AlreadyExists(MemsvcError):
    """What is being created exists already (an import of rows that are there; pass
    ``on_conflict="skip"`` or ``"replace"``)."""

    code = "already_exists"


class ScopeConflict(MemsvcError):
    """The memory exists but belongs to a different scope than the one given."""

    code = "scope_conflict"


class AuthenticationFailed(MemsvcError):
    """The API key is missing, unknown or revoked."""

    code = "authentication_failed"


class PermissionDenied(MemsvcError):
    """The API key is valid but lacks the right for this operation (admin routes)."""

    code = "permission_denied"


class RateLimited(MemsvcError):
    """Too many requests for this key; retry after ``detail["retry_after_s"]`` seconds."""

    code = "rate_limited"


class StoreUnavailable(MemsvcError):
    """The database cannot be reached or refused the operation."""

    code = "store_unavailable"


class OutcomeUnknown(StoreUnavailable):
    """The database connection died while the write was committing: it may or may not be stored.

    Retrying with the same idempotency key is safe (the first outcome wins); without one, look
    before writing again.
    """

    code = "outcome_unknown"


class IdempotencyConflict(MemsvcError):
    """An idempotency key was used before for a different request; nothing was stored."""

    code = "idempotency_conflict"


class IndexOutOfSync(MemsvcError):
    """A vector or BM25 index disagrees with SQL; rebuild it with ``memsvc index rebuild``."""

    code = "index_out_of_sync"


class EmbeddingFailed(MemsvcError):
    """The embedding model could not be loaded or failed on the input."""

    code = "embedding_failed"


class LLMError(MemsvcError):
    """A language-model provider refused or failed the request."""

    code = "llm_error"


class LLMTimeout(LLMError):
    """A language-model call did not answer in time (after retries)."""

    code = "llm_timeout"


class LLMOutputInvalid(LLMError):
    """The model's output could not be parsed into the expected structure, even after a repair."""

    code = "llm_output_invalid"


class ConfigError(MemsvcError):
    """The configuration is invalid or names a backend that cannot be loaded."""

    code = "config_error"


def _all_subclasses(cls: type[MemsvcError]) -> list[type[MemsvcError]]:
    out: list[type[MemsvcError]] = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_all_subclasses(sub))
    return out


def error_class_for_code(code: str) -> type[MemsvcError]:
    """Return the error class whose ``code`` is ``code`` (``MemsvcError`` when unknown)."""
    for cls in _all_subclasses(MemsvcError):
        if cls.code == code:
            return cls
    return MemsvcError

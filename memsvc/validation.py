"""Input checks shared by every entry point. Nothing is stored until all of a request passes."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from memsvc.config import LimitSettings
from memsvc.errors import InvalidContent, InvalidMetadata, InvalidQuery, InvalidTime, LimitExceeded
from memsvc.types import Message, utc

__all__ = ["check_content", "check_metadata", "check_query", "check_time", "coerce_messages"]

_MAX_DEPTH = 8


def check_content(text: str, limits: LimitSettings, *, field: str = "content") -> str:
    """Strip and check one text: not empty, not too long, encodable as UTF-8."""
    if not isinstance(text, str):
        raise InvalidContent(f"{field} must be a string", detail={"field": field})
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidContent(f"{field} is not valid UTF-8", detail={"field": field}) from None
    if "\x00" in text:
        raise InvalidContent(f"{field} contains a NUL character", detail={"field": field})
    stripped = text.strip()
    if not stripped:
        raise InvalidContent(f"{field} is empty", detail={"field": field})
    if len(stripped) > limits.max_content_chars:
        raise LimitExceeded(
            f"{field} is longer than {limits.max_content_chars} characters",
            detail={"field": field, "limit": limits.max_content_chars, "length": len(stripped)},
        )
    return stripped


def coerce_messages(messages: Any, limits: LimitSettings) -> list[Message]:
    """Accept a string, one message or a list of them; check each message's content."""
    items: Sequence[Any]
    if isinstance(messages, str | Mapping | Message):
        items = [messages]
    elif isinstance(messages, Sequence):
        items = messages
    else:
        raise InvalidContent("messages must be a string, a message or a list of messages")
    if not items:
        raise InvalidContent("messages is empty")
    if len(items) > limits.max_batch:
        raise LimitExceeded(
            f"at most {limits.max_batch} messages per call",
            detail={"limit": limits.max_batch, "count": len(items)},
        )
    out = []
    for i, item in enumerate(items):
        msg = Message.coerce(item)
        content = check_content(msg.content, limits, field=f"messages[{i}].content")
        role = msg.role.strip()[:32] or "user"
        name = msg.name.strip()[:128] if msg.name else None
        out.append(Message(content=content, role=role, name=name or None))
    return out


def _check_json_value(value: Any, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise InvalidMetadata("metadata is nested too deeply")
    if value is None or isinstance(value, str | bool | int):
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidMetadata("metadata strings must be valid UTF-8") from None
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidMetadata("metadata numbers must be finite")
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check_json_value(item, depth + 1)
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidMetadata("metadata keys must be strings")
            _check_json_value(item, depth + 1)
        return
    raise InvalidMetadata(f"metadata values must be JSON values, not {type(value).__name__}")


def check_metadata(metadata: Any, limits: LimitSettings) -> dict[str, Any]:
    """A JSON object of bounded size, or an empty dict for None."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidMetadata("metadata must be a JSON object")
    _check_json_value(metadata, 0)
    size = len(json.dumps(metadata, ensure_ascii=False).encode("utf-8"))
    if size > limits.max_metadata_bytes:
        raise LimitExceeded(
            f"metadata is larger than {limits.max_metadata_bytes} bytes",
            detail={"limit": limits.max_metadata_bytes, "size": size},
        )
    return dict(metadata)


def check_query(query: Any, limits: LimitSettings) -> str:
    """A non-empty search query of bounded length."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidQuery("query must be a non-empty string")
    try:
        query.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidQuery("query is not valid UTF-8") from None
    if len(query) > limits.max_query_chars:
        raise LimitExceeded(
            f"query is longer than {limits.max_query_chars} characters",
            detail={"limit": limits.max_query_chars},
        )
    return query.strip()


_EARLIEST_YEAR = 1800
_LATEST_YEAR = 2200


def check_time(value: Any, *, field: str) -> datetime | None:
    """An aware UTC datetime from a datetime or an ISO 8601 string.

    A time without a UTC offset is taken as UTC (documented in the README and the API schema).

    Raises:
        InvalidTime: not a time, or outside the years 1800 to 2200 (a typo such as 9999 would
            otherwise sort after every real memory and break "latest truth wins").
    """
    if value is None:
        return None
    when: datetime | None = None
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, str):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            when = None
    if when is None:
        raise InvalidTime(
            f"{field} must be an ISO 8601 time such as 2024-05-01T12:00:00Z",
            detail={"field": field},
        )
    if not _EARLIEST_YEAR <= when.year <= _LATEST_YEAR:
        raise InvalidTime(
            f"{field} must lie between the years {_EARLIEST_YEAR} and {_LATEST_YEAR}",
            detail={"field": field, "year": when.year},
        )
    return utc(when)

"""Options and parameter types shared by several commands."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import click

__all__ = ["JSON_OBJECT", "TIME", "JsonObject", "TimeParam", "scope_kwargs", "scope_options"]

F = TypeVar("F", bound=Callable[..., Any])

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def scope_options(func: F) -> F:
    """Add ``--user-id``, ``--agent-id`` and ``--session-id`` (at least one is needed)."""
    func = click.option("--session-id", "-S", help="Session the memories belong to.")(func)
    func = click.option("--agent-id", "-a", help="Agent the memories belong to.")(func)
    return click.option("--user-id", "-u", help="User the memories belong to.")(func)


def scope_kwargs(
    user_id: str | None, agent_id: str | None, session_id: str | None
) -> dict[str, str | None]:
    """The scope keyword arguments of the memory API."""
    return {"user_id": user_id, "agent_id": agent_id, "session_id": session_id}


class TimeParam(click.ParamType[datetime]):
    """An ISO 8601 date or time (UTC when no zone is given), or an age such as ``30d``/``12h``
    meaning that long before now."""

    name = "TIME"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        """Parse the value into an aware UTC datetime."""
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        match = _RELATIVE.match(text)
        if match:
            seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
            return datetime.now(UTC) - timedelta(seconds=seconds)
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            self.fail(f"{text!r} is not an ISO date/time or an age like 30d", param, ctx)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class JsonObject(click.ParamType[dict[str, Any]]):
    """A JSON object given on the command line (``'{"topic": "travel"}'``)."""

    name = "JSON"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> dict[str, Any]:
        """Decode the value; it must be a JSON object."""
        if isinstance(value, dict):
            return value
        try:
            data = json.loads(value)
        except json.JSONDecodeError as exc:
            self.fail(f"not valid JSON: {exc.msg}", param, ctx)
        if not isinstance(data, dict):
            self.fail("must be a JSON object", param, ctx)
        return data


TIME = TimeParam()
JSON_OBJECT = JsonObject()

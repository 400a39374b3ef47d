"""mem0's ``filters`` objects, translated to memsvc scopes and metadata filters.

mem0 filters are nested JSON logic: ``{"user_id": "alice"}``, ``{"AND": [...]}``,
``{"OR": [...]}``, field operators (``{"agent_id": {"in": ["a", "b"]}}``) and the ``"*"``
wildcard. memsvc confines every read to a scope (user, agent, session) and filters metadata by
equality inside the index, so a filter becomes a short list of :class:`Branch` es, each one
scope plus metadata equalities, read separately and merged: ``OR`` and ``in`` add branches,
``AND`` combines them. What has no such form (``NOT``, ``ne``, ranges, ``icontains``,
categories) is refused with a message that names it, never silently widened.

mem0's ``run_id`` is memsvc's ``session_id``; ``app_id`` has no memsvc scope and is kept in
metadata (``metadata["app_id"]``), where it filters like any metadata key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from memsvc.api.mem0.errors import Unsupported
from memsvc.errors import InvalidQuery
from memsvc.types import Scope

__all__ = ["MAX_BRANCHES", "Branch", "branches_from", "scope_of"]

MAX_BRANCHES = 16
"""At most this many separate reads for one request (``OR`` branches times ``in`` values)."""

_SCOPE_FIELDS = {"user_id": "user_id", "agent_id": "agent_id", "run_id": "session_id"}
_META_FIELDS = {"app_id"}
_LOGIC = {"AND", "OR", "NOT"}


@dataclass(frozen=True)
class Branch:
    """One read: a scope (memsvc key names) and metadata equalities."""

    scope: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def merged(self, other: Branch) -> Branch | None:
        """Both conditions at once, or ``None`` when they contradict each other."""
        scope = dict(self.scope)
        for key, value in other.scope.items():
            if scope.get(key, value) != value:
                return None
            scope[key] = value
        meta = dict(self.metadata)
        for key, value in other.metadata.items():
            if key in meta and meta[key] != value:
                return None
            meta[key] = value
        return Branch(scope, meta)

    def to_scope(self) -> Scope:
        """The memsvc scope (raises ``InvalidScope`` when it has no key)."""
        return scope_of(self.scope)


def scope_of(keys: Mapping[str, str | None]) -> Scope:
    """A memsvc scope from memsvc key names, with mem0's wording when none is given."""
    if not any(keys.values()):
        raise InvalidQuery(
            "filters need at least one of user_id, agent_id or run_id: memsvc confines every "
            "read to a scope (app_id alone is not one)"
        )
    return Scope(keys.get("user_id"), keys.get("agent_id"), keys.get("session_id"))


def branches_from(
    filters: Mapping[str, Any] | None, *, extra_metadata: Mapping[str, Any] | None = None
) -> list[Branch]:
    """The reads that together answer ``filters``.

    Raises:
        Unsupported: an operator or field memsvc cannot filter on.
        InvalidQuery: a malformed filter, or more than :data:`MAX_BRANCHES` reads.
    """
    if filters is not None and not isinstance(filters, Mapping):
        raise InvalidQuery("filters must be a JSON object")
    out = _node(filters or {}, "filters")
    if extra_metadata:
        extra = Branch({}, dict(extra_metadata))
        out = [m for b in out if (m := b.merged(extra)) is not None]
    return out


def _node(node: Mapping[str, Any], where: str) -> list[Branch]:
    result = [Branch()]
    for key, value in node.items():
        if key in _LOGIC:
            part = _logic(key, value, f"{where}.{key}")
        else:
            part = _condition(key, value, f"{where}.{key}")
        result = _and(result, part)
    return result


def _logic(op: str, value: Any, where: str) -> list[Branch]:
    if op == "NOT":
        raise Unsupported(
            f"{where}: NOT filters are not supported by memsvc", detail={"field": where}
        )
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise InvalidQuery(f"{where} must be a list of filter objects")
    if op == "AND":
        result = [Branch()]
        for i, child in enumerate(value):
            result = _and(result, _node(child, f"{where}[{i}]"))
        return result
    union: list[Branch] = []
    for i, child in enumerate(value):
        union.extend(_node(child, f"{where}[{i}]"))
    return _bounded(_unique(union))


def _condition(name: str, value: Any, where: str) -> list[Branch]:
    if name == "metadata":
        if not isinstance(value, Mapping):
            raise InvalidQuery(f"{where} must be an object of metadata keys and values")
        result = [Branch()]
        for key, wanted in value.items():
            result = _and(result, _equalities(key, wanted, f"{where}.{key}", metadata=True))
        return result
    if name in _SCOPE_FIELDS or name in _META_FIELDS:
        return _equalities(name, value, where, metadata=name in _META_FIELDS)
    raise Unsupported(
        f"{where}: memsvc filters on user_id, agent_id, run_id, app_id and metadata only",
        detail={"field": name},
    )


def _equalities(name: str, value: Any, where: str, *, metadata: bool) -> list[Branch]:
    values: list[Any]
    if isinstance(value, Mapping):
        if len(value) != 1:
            raise InvalidQuery(f"{where}: give one operator per condition")
        ((op, operand),) = value.items()
        if op == "eq":
            values = [operand]
        elif op == "in":
            if not isinstance(operand, list) or not operand:
                raise InvalidQuery(f"{where}.in must be a non-empty list")
            values = list(operand)
        else:
            raise Unsupported(
                f"{where}: the {op!r} operator is not supported by memsvc (eq, in and '*' are)",
                detail={"field": name, "operator": str(op)},
            )
    else:
        values = [value]
    if "*" in values:
        return [Branch()]
    if not metadata and not all(isinstance(v, str) for v in values):
        raise InvalidQuery(f"{where} must be a string")
    key = _SCOPE_FIELDS.get(name, name)
    if metadata:
        return _bounded([Branch({}, {key: v}) for v in values])
    return _bounded([Branch({key: v}, {}) for v in values])


def _and(left: list[Branch], right: list[Branch]) -> list[Branch]:
    out = [m for a in left for b in right if (m := a.merged(b)) is not None]
    return _bounded(_unique(out))


def _unique(branches: list[Branch]) -> list[Branch]:
    seen: list[Branch] = []
    for b in branches:
        if b not in seen:
            seen.append(b)
    return seen


def _bounded(branches: list[Branch]) -> list[Branch]:
    if len(branches) > MAX_BRANCHES:
        raise InvalidQuery(
            f"filters expand to more than {MAX_BRANCHES} separate reads (OR branches times 'in' "
            "values)",
            detail={"limit": MAX_BRANCHES},
        )
    return branches

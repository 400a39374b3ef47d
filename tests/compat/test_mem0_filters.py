"""mem0 ``filters`` -> memsvc reads (scope + metadata equalities), and what is refused."""

from __future__ import annotations

import pytest

from memsvc.api.mem0.errors import Unsupported
from memsvc.api.mem0.filters import MAX_BRANCHES, Branch, branches_from
from memsvc.errors import InvalidQuery, InvalidScope


def test_filters_plain_and_and_combine_into_one_read() -> None:
    assert branches_from({"user_id": "a"}) == [Branch({"user_id": "a"}, {})]
    got = branches_from({"AND": [{"user_id": "a"}, {"run_id": "r"}, {"app_id": "x"}]})
    assert got == [Branch({"user_id": "a", "session_id": "r"}, {"app_id": "x"})]


def test_filters_or_and_in_become_separate_reads() -> None:
    got = branches_from({"OR": [{"user_id": "a"}, {"agent_id": {"in": ["b", "c"]}}]})
    assert got == [
        Branch({"user_id": "a"}, {}),
        Branch({"agent_id": "b"}, {}),
        Branch({"agent_id": "c"}, {}),
    ]
    crossed = branches_from({"AND": [{"user_id": {"in": ["a", "b"]}}, {"metadata": {"k": 1}}]})
    assert crossed == [Branch({"user_id": "a"}, {"k": 1}), Branch({"user_id": "b"}, {"k": 1})]


def test_filters_wildcard_adds_no_condition_and_contradictions_drop() -> None:
    assert branches_from({"AND": [{"user_id": "a"}, {"run_id": "*"}]}) == [
        Branch({"user_id": "a"}, {})
    ]
    assert branches_from({"AND": [{"user_id": "a"}, {"user_id": "b"}]}) == []


def test_filters_extra_metadata_joins_every_read() -> None:
    got = branches_from({"user_id": {"in": ["a", "b"]}}, extra_metadata={"topic": "t"})
    assert all(b.metadata == {"topic": "t"} for b in got) and len(got) == 2


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"NOT": [{"user_id": "a"}]}, "NOT filters"),
        ({"user_id": {"ne": "a"}}, "'ne' operator"),
        ({"AND": [{"user_id": "a"}, {"created_at": {"gte": "2024-01-01"}}]}, "created_at"),
        ({"categories": {"contains": "x"}}, "categories"),
    ],
)
def test_filters_without_a_memsvc_form_are_refused(filters: dict, message: str) -> None:
    with pytest.raises(Unsupported, match=message):
        branches_from(filters)


def test_filters_malformed_or_too_wide_are_invalid() -> None:
    with pytest.raises(InvalidQuery):
        branches_from({"OR": {"user_id": "a"}})
    with pytest.raises(InvalidQuery, match="must be a string"):
        branches_from({"user_id": 7})
    wide = {"AND": [{"user_id": {"in": list("abcde")}}, {"agent_id": {"in": list("abcd")}}]}
    with pytest.raises(InvalidQuery, match=str(MAX_BRANCHES)):
        branches_from(wide)


def test_branch_without_a_scope_key_names_what_is_missing() -> None:
    (only_app,) = branches_from({"app_id": "x"})
    with pytest.raises(InvalidQuery, match="user_id, agent_id or run_id"):
        only_app.to_scope()
    with pytest.raises(InvalidScope):
        Branch({"user_id": "not valid!"}, {}).to_scope()

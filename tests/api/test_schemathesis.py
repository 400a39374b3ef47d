"""Property-based fuzzing of the live API from its own OpenAPI schema (schemathesis).

Every operation gets generated requests, schema-valid and schema-invalid; no answer may be a
5xx, use a status the schema does not document, or break the documented response schema.
Bounded: a few examples per operation and mode, so the module stays well under a minute.

schemathesis' own pytest plugin does not run under pytest 9, so each operation's Hypothesis
strategy is driven here with ``@given`` directly.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks

from api.live import ADMIN_KEY, Live

pytestmark = pytest.mark.slow

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]
EXAMPLES_PER_OPERATION = 15


def _operations(live: Live) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{live.base_url}/openapi.json")
    # /v1/answer runs the reader model (seconds per call on a CPU): tests/reader covers it.
    operations = [result.ok() for result in schema.get_all_operations()]
    return [op for op in operations if op.path != "/v1/answer"]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_answers_generated_requests_within_its_schema(live: Live, mode: GenerationMode) -> None:
    operations = _operations(live)
    assert len(operations) >= 15
    for operation in operations:
        strategy = operation.as_strategy(generation_mode=mode)

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            case.call_and_validate(
                base_url=live.base_url,
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                checks=CHECKS,
                timeout=30,
            )

        try:
            check()
        except Unsatisfiable:
            # No invalid request exists for an operation without inputs (GET /healthz).
            assert mode is GenerationMode.NEGATIVE, operation.label

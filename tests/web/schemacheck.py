"""Generated requests against the real server: every operation of an OpenAPI schema gets
valid and invalid requests (wrong types, out of range, missing fields), and none may
answer with a server error."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from tests.web.conftest import CHANGE


def server_errors(operations: list[Any], examples: int) -> list[str]:
    """One line per operation that answered 5xx: one run shows every broken route."""
    failures: list[str] = []
    for operation in operations:

        @given(case=st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                              operation.as_strategy(GenerationMode.NEGATIVE)))
        @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=CHANGE, checks=[not_a_server_error], timeout=30)

        try:
            check()
        except Exception as e:  # collect them all
            failures.append(f"{operation.method.upper()} {operation.path}: "
                            f"{str(e).strip()[:800]}")
    return failures

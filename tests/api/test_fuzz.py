"""Fuzzing against the OpenAPI document with schemathesis, through the ASGI app.

Every operation gets a bounded number of generated requests (`VOLMATCH_FUZZ_EXAMPLES` each,
schema-valid and schema-invalid, derandomized so that a run is reproducible), sent with the key
of a caller allowed to call it, over a seeded world (so that small ids name real resources).
Each answer must: not be a 5xx, use a documented status and content type, match its documented
schema, reject schema-invalid input, and (every 4xx) use the one error shape. A stateful run
then chains calls along the links schemathesis infers between operations (create, then read,
change, delete what was created), each scenario from the same seeded world (the database is
restored before each one, so that a scenario's answers depend on its calls alone and Hypothesis
sees the same outcomes when it replays a prefix). Failures are collected and reported together.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from typing import Any, cast

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis import checks as st_checks
from sqlalchemy import delete, insert, select, text

from api.db import transaction
from api.models import Base
from tests.api.conftest import Api
from tests.api.test_authorization_matrix import MATRIX, World

EXAMPLES = int(os.environ.get("VOLMATCH_FUZZ_EXAMPLES", "8"))
STATEFUL_EXAMPLES = int(os.environ.get("VOLMATCH_FUZZ_STATEFUL_EXAMPLES", "6"))
ERROR_SHAPE = {"error", "detail", "fields"}


def one_error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx/5xx answer is `{"error", "detail", "fields": [{"loc", "msg"}]}`."""
    if response.status_code < 400:
        return None
    body = response.json()
    assert isinstance(body, dict) and set(body) == ERROR_SHAPE, f"not the one shape: {body}"
    assert isinstance(body["error"], str) and isinstance(body["detail"], str) and body["detail"]
    assert all(set(f) == {"loc", "msg"} for f in body["fields"]), body
    return True


CHECKS = [
    st_checks.not_a_server_error,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_headers_conformance,
    st_checks.response_schema_conformance,
    st_checks.negative_data_rejection,
    one_error_shape,
]
HYPOTHESIS = settings(
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)


def caller_for(
    world: World, method: str, path: str, order: tuple[str, ...] = ("uA", "cA", "pA", "admin")
) -> dict[str, str]:
    """The headers of the first caller in `order` the authorization matrix lets through (else no
    key)."""
    expected = MATRIX[(method, path)].expected()
    for caller in order:
        if expected[caller] < 300:
            return world.headers[caller]
    return {}


@pytest.fixture
def fuzz_world(api: Api) -> World:
    world = World(api)
    world.new_run(published=True)
    return world


def fuzz_operation(
    operation: Any, mode: GenerationMode, headers: dict[str, str], failures: dict[str, str]
) -> int:
    """Send `EXAMPLES` generated requests of `mode` to one operation; how many were sent. The
    first failure of each operation and mode is kept in `failures`."""
    sent = 0

    # the key is fixed, not generated: invalid input lies elsewhere than in the key
    @given(case=operation.as_strategy(generation_mode=mode, headers=headers))
    @settings(HYPOTHESIS, max_examples=EXAMPLES)
    def fuzz(case: Any) -> None:
        nonlocal sent
        sent += 1
        try:
            case.call_and_validate(checks=CHECKS)
        except Exception as exc:  # collected, and reported together at the end
            failures.setdefault(f"{operation.label} ({mode.value})", str(exc)[:2000])

    with contextlib.suppress(hypothesis.errors.Unsatisfiable):
        fuzz()  # unsatisfiable: nothing to make invalid (no parameters, no body)
    return sent


def test_every_operation_survives_generated_requests(api: Api, fuzz_world: World) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    examples: Counter[str] = Counter()
    by_mode: Counter[str] = Counter()
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        operation = cast(Any, result).ok()  # an invalid operation raises here
        headers = caller_for(fuzz_world, operation.method.upper(), operation.path)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            sent = fuzz_operation(operation, mode, headers, failures)
            examples[operation.label] += sent
            by_mode[mode.value] += sent
    total = sum(examples.values())
    print(
        f"fuzz: {total} examples ({by_mode['positive']} schema-valid, {by_mode['negative']} "
        f"schema-invalid) over {len(examples)} operations, {len(failures)} failing"
    )
    assert len(examples) == len(MATRIX)
    assert not failures, "\n\n".join(f"{k}: {v}" for k, v in failures.items())


class Snapshot:
    """Every row of every table, to put the database back as it was."""

    def __init__(self, api: Api) -> None:
        self.api = api
        with transaction(api.sessions()) as session:
            self.rows = {
                table: [
                    dict(row)
                    for row in session.execute(
                        select(table).order_by(*table.primary_key.columns)
                    ).mappings()
                ]
                for table in Base.metadata.sorted_tables
            }

    def restore(self) -> None:
        with transaction(self.api.sessions()) as session:
            if session.get_bind().dialect.name == "postgresql":
                # TRUNCATE: a DELETE would fire the ledger's and the audit trail's append-only
                # triggers
                names = ", ".join(t.name for t in Base.metadata.sorted_tables)
                session.execute(text(f"TRUNCATE {names}"))
            else:
                for table in reversed(Base.metadata.sorted_tables):
                    session.execute(delete(table))
            for table, rows in self.rows.items():
                if rows:
                    session.execute(insert(table), rows)


def test_stateful_sequences_along_inferred_links(api: Api, fuzz_world: World) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    steps: Counter[str] = Counter()
    world = Snapshot(api)
    scenarios = 0

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            nonlocal scenarios
            scenarios += 1
            world.restore()

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            # the key is fixed, not generated: passed to the call (so that the checks know the
            # caller supplied it) and set on the case (so that they judge the headers sent, not
            # a generated case's that left the key out)
            steps[case.operation.label] += 1
            # the admin first where it may call: a chained call must be one of a caller entitled
            # to what an earlier call created (an organization the admin created is a 404 to
            # any other organization, as the matrix requires)
            key = caller_for(
                fuzz_world,
                case.operation.method.upper(),
                case.operation.path,
                order=("admin", "uA", "cA", "pA"),
            )
            case.headers = {**(case.headers or {}), **key}
            return {"headers": key}

        def validate_response(self, response: Any, case: Any, *_: Any, **kwargs: Any) -> None:
            # schemathesis' default checks, stateful ones included (a created resource can be
            # read; a deleted one is gone), less "schema-valid input is accepted": the service
            # also checks what a schema cannot say (time zones, windows, spans), with a 422.
            case.validate_response(
                response,
                excluded_checks=[st_checks.positive_data_acceptance],
                additional_checks=[one_error_shape],
                transport_kwargs=kwargs or None,
                recorder=getattr(self, "recorder", None),
            )

    Workflow.run(
        settings=settings(HYPOTHESIS, max_examples=STATEFUL_EXAMPLES, stateful_step_count=8)
    )
    print(
        f"stateful: {scenarios} scenarios, {sum(steps.values())} calls over {len(steps)} operations"
    )
    assert sum(steps.values()) > STATEFUL_EXAMPLES

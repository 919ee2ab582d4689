"""schemathesis over both documents against a live `onemap serve`.

Checks: no 5xx (503 never happens with the database up), statuses, content types and
JSON bodies as documented, and no demo reporter's phone in any response.
Bounded: ONEMAP_FUZZ_CASES examples per operation (default 4: about 1,100 requests over
~190 operations in four passes, ~3 minutes on a loaded 2-core machine);
`ONEMAP_FUZZ_CASES=20 pytest tests/openapi -s` is the bigger run (~9,000 requests with
test_hostile_params.py, which then sends every hostile value to every parameter).
Passes: every operation anonymously (writes must be a documented 401, never a 500);
OGC writes with an admin key, each forced to a dry run (the shared demo data stays);
schemathesis' negative mode (values breaking the schema: a 4xx, never a 5xx). Who may
write what is the role matrix (test_role_matrix.py). Run with -s to see the counts.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg2
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

CASES = int(os.environ.get("ONEMAP_FUZZ_CASES", "4"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
_SECRETS: list[str] = []  # filled by the `reporter_secrets` fixture


@pytest.fixture(scope="session")
def reporter_secrets(demo_db: str) -> list[str]:
    with psycopg2.connect(demo_db) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT DISTINCT reporter_phone FROM event_contacts WHERE reporter_phone IS NOT NULL"
        )
        found = [r[0] for r in cur.fetchall()]
    conn.close()
    assert found, "the demo data has reporter contacts to look for"
    _SECRETS[:] = found
    return found


@schemathesis.check
def no_reporter_data(ctx, response, case) -> bool | None:  # noqa: ANN001
    """No demo reporter's phone (event_contacts) in any public answer. (Names are not
    checked: the demo draws reporters' and grid workers' names from one pool, and a
    grid's worker is public.)"""
    text = response.content.decode("utf-8", "replace")
    leaked = [s for s in _SECRETS if s in text]
    if leaked:
        raise AssertionError(f"reporter phones in the response: {leaked[:3]}")
    return None


@pytest.fixture(scope="session")
def admin_key(demo_db: str) -> str:
    from gis_server.auth import Role, store

    name = f"fuzz-admin-{secrets.token_hex(3)}"
    with psycopg2.connect(demo_db) as conn:
        store.add_user(conn, name, Role.ADMIN, "correct horse battery")
        key = store.issue_key(conn, name, "fuzz")[1]
    conn.close()
    return key


@pytest.fixture(scope="session")
def ogc_schema(live_server: str, reporter_secrets):  # noqa: ANN201
    return schemathesis.openapi.from_url(f"{live_server}/ogc/openapi?f=json")


@pytest.fixture(scope="session")
def api_schema(live_server: str, reporter_secrets):  # noqa: ANN201
    return schemathesis.openapi.from_url(f"{live_server}/api/openapi.json")


def bounded(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,  # the same cases every run: a failure reproduces
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


# The whole-district topology check takes seconds per request on the demo data; its one
# parameter is an enum, so a few examples cover it.
EXPENSIVE = {"GET /api/grids/check": 3}


def _examples(operation) -> int:  # noqa: ANN001
    """CASES, or 1 for an operation without inputs (every example would be the same request)."""
    raw = getattr(operation.definition, "raw", None) or {}
    examples = CASES if raw.get("parameters") or raw.get("requestBody") else 1
    return min(examples, EXPENSIVE.get(operation.label, examples))


def _summary(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    for sub in getattr(exc, "exceptions", ()):
        lines += [ln.strip() for ln in str(sub).splitlines()[:3] if ln.strip()]
    return " | ".join(lines[:14])[:1500]


@dataclass(frozen=True)
class Run:
    """One fuzzing pass: which operations, how generated, what is sent along, what is checked."""

    mode: GenerationMode = GenerationMode.POSITIVE
    checks: tuple = (*CHECKS, no_reporter_data)
    headers: dict[str, str] = field(default_factory=dict)
    only: Callable[[Any], bool] = lambda operation: True
    prepare: Callable[[Any], None] = lambda case: None


def fuzz(schema, run: Run = Run()) -> tuple[int, list[str]]:  # noqa: ANN001, B008
    """The operations `run` selects, CASES examples each; (requests sent, one line per
    failing operation). Hypothesis runs per operation (not schemathesis' pytest plugin,
    which this pytest does not load), so one failing operation does not hide the others."""
    sent, failures = 0, []
    for result in schema.get_all_operations():
        operation = result.ok()
        if not run.only(operation):
            continue

        @bounded(_examples(operation))
        @given(case=operation.as_strategy(generation_mode=run.mode))
        def call(case) -> None:  # noqa: ANN001
            nonlocal sent
            sent += 1
            run.prepare(case)
            case.call_and_validate(headers=run.headers, checks=list(run.checks), timeout=30)

        try:
            call()
        except Unsatisfiable:  # negative mode: nothing of this operation can be made invalid
            continue
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - reported together below
            failures.append(f"{operation.label}: {_summary(exc)}")
    return sent, failures


def test_ogc_api(ogc_schema):  # noqa: ANN001
    sent, failures = fuzz(ogc_schema)
    print(f"OGC API: {sent} requests")
    assert failures == [], "\n".join(failures)


def test_onemap_api(api_schema):  # noqa: ANN001
    sent, failures = fuzz(api_schema)
    print(f"/api: {sent} requests")
    assert failures == [], "\n".join(failures)


def _dry_run(case) -> None:  # noqa: ANN001
    """Authorised writes never change the shared demo data: every one is a dry run."""
    if case.operation.path.endswith("/execution"):
        if isinstance(case.body, dict) and isinstance(case.body.get("inputs"), dict):
            case.body["inputs"]["dry_run"] = True
        return
    case.query = {**(case.query or {}), "dry_run": "true"}


def _ogc_write(operation) -> bool:  # noqa: ANN001
    return operation.method.upper() in {"POST", "PUT", "PATCH", "DELETE"}


def test_ogc_writes_authorised_as_dry_runs(ogc_schema, admin_key):  # noqa: ANN001
    """Writes with an admin key (each a dry run): bodies as documented, no 5xx."""
    run = Run(headers={"X-API-Key": admin_key}, only=_ogc_write, prepare=_dry_run)
    sent, failures = fuzz(ogc_schema, run)
    print(f"OGC writes (admin, dry run): {sent} requests")
    assert failures == [], "\n".join(failures)


def _negatable(operation) -> bool:  # noqa: ANN001
    """A body, or a parameter with a constraint to break (a free string has none)."""
    raw = getattr(operation.definition, "raw", None) or {}
    constrained = ("enum", "minimum", "maximum", "pattern", "format", "minLength", "maxLength")
    for p in raw.get("parameters", []):
        schema = p.get("schema", {})
        if schema.get("type", "string") != "string" or any(k in schema for k in constrained):
            return True
    return bool(raw.get("requestBody"))


@pytest.mark.parametrize("doc", ["ogc_schema", "api_schema"])
def test_invalid_input_is_refused_not_crashed(request, doc: str):
    """schemathesis' negative mode (values that break the schema): never a 5xx or a leak."""
    run = Run(
        mode=GenerationMode.NEGATIVE,
        checks=(not_a_server_error, no_reporter_data),
        only=_negatable,
    )
    sent, failures = fuzz(request.getfixturevalue(doc), run)
    print(f"{doc} negative: {sent} requests")
    assert failures == [], "\n".join(failures)

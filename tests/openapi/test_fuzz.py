"""schemathesis over both documents against a live `onemap serve`.

Checks: no 5xx (503 never happens with the database up), statuses, content types and
JSON bodies as documented, and no demo reporter's phone in any response.
Bounded: ONEMAP_FUZZ_CASES examples per operation (default 6: about 760 requests over
~190 operations, ~1–2 minutes on a loaded 2-core machine);
`ONEMAP_FUZZ_CASES=50 pytest tests/openapi/test_fuzz.py -s` is the bigger run (~6,000).
Writes are fuzzed anonymously (every one must be a documented 401, never a 500);
the authorised side is the role matrix (test_role_matrix.py).
"""

from __future__ import annotations

import os

import psycopg2
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

CASES = int(os.environ.get("ONEMAP_FUZZ_CASES", "6"))
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
def ogc_schema(live_server: str, reporter_secrets):  # noqa: ANN201
    return schemathesis.openapi.from_url(f"{live_server}/ogc/openapi?f=json")


@pytest.fixture(scope="session")
def api_schema(live_server: str, reporter_secrets):  # noqa: ANN201
    return schemathesis.openapi.from_url(f"{live_server}/api/openapi.json")


BOUNDED = settings(
    max_examples=CASES,
    deadline=None,
    derandomize=True,  # the same cases every run: a failure reproduces
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _summary(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    for sub in getattr(exc, "exceptions", ()):
        lines += [ln.strip() for ln in str(sub).splitlines()[:3] if ln.strip()]
    return " | ".join(lines[:14])[:1500]


def fuzz(schema) -> tuple[int, list[str]]:  # noqa: ANN001
    """Every operation, CASES examples each; (requests sent, one line per failing operation).

    Hypothesis runs per operation (not schemathesis' pytest plugin), so one failing
    operation does not hide the others."""
    sent, failures = 0, []
    for result in schema.get_all_operations():
        operation = result.ok()

        @BOUNDED
        @given(case=operation.as_strategy())
        def run(case) -> None:  # noqa: ANN001
            nonlocal sent
            sent += 1
            case.call_and_validate(checks=CHECKS + [no_reporter_data], timeout=30)

        try:
            run()
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

"""Hand-made hostile values in every documented parameter of every read, against a live
`onemap serve`: SQL injection, a sleeping statement, wildcards, traversal, huge, NUL,
broken UTF-8. Never a 5xx, never a hang (each request has a deadline), never a phone.

The parameters come from the generated documents, so a new route or parameter is
attacked without editing this file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import psycopg2
import pytest

PAYLOADS = (
    "' OR '1'='1",
    "1; DROP TABLE grids; --",
    "1) OR pg_sleep(20) IS NULL --",
    "'||(SELECT pg_sleep(20))||'",
    '"; SELECT reporter_phone FROM event_contacts; --',
    "%_%",
    "../../../../etc/passwd",
    "\u202e𠜎\U0001f600",
    "x" * 5000,
    "-1e309",
)
RAW = ("%00", "%ED%A0%80", "%FF%FE", "%")  # sent undecoded: NUL, a lone surrogate, bad UTF-8
DEADLINE_S = 15.0  # a pg_sleep(20) that ran would miss it
# Values per parameter: the bounded run rotates through them (every value still reaches
# ~40 parameters); ONEMAP_FUZZ_CASES >= 20 sends every value to every parameter (~5,400).
PER_PARAM = len(PAYLOADS) + len(RAW) if int(os.environ.get("ONEMAP_FUZZ_CASES", "4")) >= 20 else 2


def _rotation(values: list[str], i: int) -> list[str]:
    start = (i * PER_PARAM) % len(values)
    return (values[start:] + values[:start])[:PER_PARAM]


def read_params(doc: dict[str, Any], base: str) -> Iterator[tuple[str, str, str]]:
    """(url template, parameter name, "query" | "path") of every GET in the document."""
    for path, item in doc["paths"].items():
        get = item.get("get")
        if not get:
            continue
        for p in get.get("parameters", []):
            if p["in"] in ("query", "path"):
                yield base + ("" if path == "/" and base else path), p["name"], p["in"]


def _fill(template: str, name: str | None, value: str) -> str:
    return re.sub(r"{([^}]+)}", lambda m: value if m.group(1) == name else "x", template)


@pytest.fixture(scope="module")
def phones(demo_db: str) -> list[str]:
    with psycopg2.connect(demo_db) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT DISTINCT reporter_phone FROM event_contacts WHERE reporter_phone IS NOT NULL"
        )
        found = [r[0] for r in cur.fetchall()]
    conn.close()
    return found


def test_hostile_values_in_every_read_parameter(live_server: str, phones: list[str]):
    with httpx.Client(base_url=live_server, timeout=DEADLINE_S) as client:
        docs = [
            (client.get("/ogc/openapi?f=json").json(), "/ogc"),
            (client.get("/api/openapi.json").json(), ""),
        ]
        targets = [t for doc, base in docs for t in read_params(doc, base)]
        assert len(targets) > 100
        sent, bad = 0, []
        values = [quote(v, safe="") for v in PAYLOADS] + list(RAW)
        for i, (template, name, where) in enumerate(targets):
            for value in _rotation(values, i):
                if where == "path":
                    url = _fill(template, name, value)
                else:
                    url = f"{_fill(template, None, '')}?{quote(name, safe='')}={value}"
                r = client.get(url)  # httpx.TimeoutException here is the hang this looks for
                sent += 1
                if r.status_code >= 500 or any(p in r.text for p in phones):
                    bad.append((url[:200], r.status_code, r.text[:200]))
        print(f"hostile parameters: {sent} requests")
        assert bad == []

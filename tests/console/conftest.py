"""Fixtures of the console tests: a headless Chromium driven by Playwright.

The console is tested against `live_server` (a real `onemap serve` with the demo
data). To iterate against an already running server instead, set
ONEMAP_CONSOLE_TEST_URL and ONEMAP_CONSOLE_TEST_DSN (its base URL and database).

Chromium comes from the system (`apt-get install chromium fonts-noto-cjk`);
Playwright's own browser download is never used.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import psycopg2
import pytest

playwright_api = pytest.importorskip("playwright.sync_api")

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


@pytest.fixture(scope="session")
def console_url(request: pytest.FixtureRequest) -> str:
    return os.environ.get("ONEMAP_CONSOLE_TEST_URL") or request.getfixturevalue("live_server")


@pytest.fixture(scope="session")
def console_dsn(request: pytest.FixtureRequest, console_url: str) -> str:
    return os.environ.get("ONEMAP_CONSOLE_TEST_DSN") or request.getfixturevalue("demo_db")


@pytest.fixture()
def sql(console_dsn: str):
    """Run one query on the test database and return its first column of the first row."""
    conn = psycopg2.connect(console_dsn)

    def scalar(query: str, params: tuple = ()) -> object:
        with conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchone()[0]

    yield scalar
    conn.close()


@dataclass
class ConsoleSession:
    """A loaded console page plus everything it logged and requested."""

    page: object
    base: str
    console: list[tuple[str, str]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def stats(self) -> dict:
        return self.page.evaluate("window.onemapConsole.stats()")

    def foreign_requests(self) -> list[str]:
        return [
            u
            for u in self.requests
            if urlsplit(u).scheme in ("http", "https", "ws", "wss")
            and urlsplit(u).hostname not in LOOPBACK
        ]

    def errors(self) -> list[str]:
        return [text for kind, text in self.console if kind in ("error", "pageerror")]


def open_console(browser, base: str, width: int = 1920, height: int = 1080) -> ConsoleSession:
    page = browser.new_page(viewport={"width": width, "height": height})
    session = ConsoleSession(page=page, base=base)
    page.on("console", lambda m: session.console.append((m.type, m.text)))
    page.on("pageerror", lambda e: session.console.append(("pageerror", str(e))))
    page.on("request", lambda r: session.requests.append(r.url))
    page.goto(f"{base}/console")
    page.wait_for_function("window.onemapConsole && window.onemapConsole.ready", timeout=60_000)
    return session


@pytest.fixture()
def console(browser, console_url: str) -> Iterator[ConsoleSession]:
    session = open_console(browser, console_url)
    yield session
    session.page.close()

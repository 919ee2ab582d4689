"""Small helpers shared by tests."""

from __future__ import annotations


def run_async(coro):  # noqa: ANN001, ANN201 - any coroutine, its result
    """Run a coroutine to completion in a thread of its own.

    asyncio.run() refuses to start in a thread whose loop is running (as the
    main thread's is while the session browser is open).
    """
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def onemap_serve(env_extra: dict[str, str], log_name: str, *args: str):  # noqa: ANN201
    """A real `onemap serve` on a free loopback port, as a context manager yielding
    (base URL, port); stopped on exit. The server's output goes to test-artifacts/."""
    import contextlib
    import os
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    import httpx

    from tests.conftest import ARTIFACTS

    @contextlib.contextmanager
    def serving():  # noqa: ANN202
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        env = dict(os.environ, ONEMAP_PUBLIC_URL=base, **env_extra)
        onemap = Path(sys.executable).parent / "onemap"
        ARTIFACTS.mkdir(exist_ok=True)
        argv = [str(onemap), "serve", "--host", "127.0.0.1", "--port", str(port), *args]
        with open(ARTIFACTS / log_name, "w") as log:
            proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                deadline = time.monotonic() + 60
                while True:
                    if proc.poll() is not None:
                        raise RuntimeError(
                            f"onemap serve exited ({proc.returncode}); see {log.name}"
                        )
                    try:
                        if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"onemap serve did not become healthy; see {log.name}")
                    time.sleep(0.2)
                yield base, port
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()

    return serving()


def fetch_one(dsn: str, query: str, params: tuple = ()) -> tuple:
    """One row from the database at `dsn`, on a connection of its own (closed after)."""
    import psycopg2

    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchone()
    finally:
        conn.close()


def migrated_database(server_dsn: str, prefix: str, district_code: str | None = None):  # noqa: ANN201
    """A throwaway database on the tests' server with PostGIS and the schema, as a context
    manager yielding its DSN; dropped afterwards (its connections terminated first)."""
    import contextlib
    import secrets
    from urllib.parse import urlsplit, urlunsplit

    import psycopg2

    from layers.migrate import upgrade

    @contextlib.contextmanager
    def database():  # noqa: ANN202
        name = f"{prefix}_{secrets.token_hex(4)}"
        admin = psycopg2.connect(server_dsn)
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        dsn = urlunsplit(urlsplit(server_dsn)._replace(path=f"/{name}"))
        try:
            with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
                cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            conn.close()
            url = "postgresql+psycopg2://" + dsn.split("://", 1)[1]
            if district_code is None:
                upgrade(url)
            else:
                upgrade(url, district_code=district_code)
            yield dsn
        finally:
            with admin.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()

    return database()

"""`onemap serve`: prepare the database, then run the app under uvicorn."""

from __future__ import annotations

from functools import partial
from typing import Any

import click
import uvicorn
from uvicorn.supervisors import Multiprocess

from gis_server.cli import http_protocol, reuseport
from gis_server.cli.db import prepare_database
from gis_server.cli.options import fail, load_or_exit
from gis_server.cluster import ClusterError


@click.command("serve")
@click.option("--host", default=None, help="Listen address (default: server.host).")
@click.option("--port", type=int, default=None, help="Listen port (default: server.port).")
@click.option(
    "--workers", type=int, default=None, help="Worker processes (default: server.workers)."
)
@click.option(
    "--access-log/--no-access-log",
    default=None,
    help="Log every request (default: server.access_log).",
)
@click.option("--reload", is_flag=True, help="Restart on code changes (development).")
def serve(
    host: str | None, port: int | None, workers: int | None, access_log: bool | None, reload: bool
) -> None:
    """服务 — serve the console and the OGC API."""
    settings = load_or_exit()
    try:
        prepare_database(settings)
    except ClusterError as exc:
        fail(str(exc))
    host = host or settings.server.host
    port = port or settings.server.port
    workers = workers or settings.server.workers
    base = settings.server.public_url
    click.echo(f"控制台 Console:  {base}/console")
    click.echo(f"OGC API:        {base}/ogc")
    click.echo(f"健康检查 Health: {base}/healthz")
    if access_log is None:
        access_log = settings.server.access_log
    workers = None if reload else workers
    feed = None
    if settings.feed.enabled or settings.feed.jt808.enabled:
        from gis_server.cli.feed import start_feed_process

        feed = start_feed_process()
        if settings.feed.enabled:
            click.echo(f"实时定位 Feed:   {settings.feed.url} (process {feed.pid})")
        if settings.feed.jt808.enabled:
            j = settings.feed.jt808
            click.echo(f"JT/T 808:       {j.host}:{j.port} (process {feed.pid})")
    try:
        run_server(
            host,
            port,
            workers,
            reload,
            access_log,
            settings.server.header_timeout_s,
            settings.server.max_header_bytes,
        )
    finally:
        if feed is not None:
            feed.terminate()
            feed.join(10)


def run_server(
    host: str,
    port: int,
    workers: int | None,
    reload: bool = False,
    access_log: bool = True,
    header_timeout_s: float = http_protocol.HEADER_TIMEOUT_S,
    max_header_bytes: int = http_protocol.MAX_HEADER_BYTES,
) -> None:
    """uvicorn with httptools/uvloop when installed and TCP_NODELAY on every connection.

    Several workers each listen on their own SO_REUSEPORT socket (`reuseport.py`),
    so the kernel spreads connections instead of one worker taking a whole burst.
    Connections that do not send a request's headers within `header_timeout_s` are
    closed, and a request head over `max_header_bytes` is a 431
    (`http_protocol.HeaderDeadline`); the partial pickles, for spawned workers.
    """
    options: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        "reload": reload,
        "http": partial(
            http_protocol.protocol(),
            header_timeout_s=header_timeout_s,
            max_header_bytes=max_header_bytes,
        ),
        "log_level": "info",
        "access_log": access_log,
        # open /api/live streams must not hold a shutdown forever
        "timeout_graceful_shutdown": 5,
    }
    if reload or (workers or 1) <= 1 or not reuseport.AVAILABLE:
        uvicorn.run("gis_server.app:create_app", **options)
        return
    config = uvicorn.Config("gis_server.app:create_app", **options)
    try:
        sock = reuseport.bind(host, port)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc}")
    try:
        Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:
        pass

"""`onemap feed [run]` — the MQTT feed; `onemap feed simulate` — a moving demo fleet;
`onemap feed jt808` and `onemap feed terminals` live in feed_jt808.py."""

from __future__ import annotations

import logging
import multiprocessing
import os
import subprocess
import sys

import click

from gis_server.cli.db import prepare_database
from gis_server.cli.options import fail, load_or_exit
from gis_server.cluster import ClusterError
from gis_server.settings import PROJECT_DIR, Settings

STATUS_FILE = PROJECT_DIR / "var" / "feed_status.json"  # the running feed's counters


@click.group("feed", invoke_without_command=True)
@click.pass_context
def feed(ctx: click.Context) -> None:
    """实时定位 — the live GPS feed (MQTT → PostGIS); without a subcommand: run."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(run)


def spawn_deriver(settings: Settings) -> subprocess.Popen | None:
    """`onemap feed derive --follow` beside this feed process (its own process: its own
    GIL, so catching up tracks and trips never holds the acknowledging worker back);
    it exits when this process is gone. None when feed.derive_every_s is 0."""
    if settings.feed.derive_every_s <= 0:
        return None
    return subprocess.Popen(
        [sys.executable, "-m", "gis_server.cli", "feed", "derive", "--follow"]
        + ["--parent", str(os.getpid())]
    )


def stop_deriver(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def run_feed(settings: Settings, derive: bool = True) -> None:
    """The feed until interrupted: ack after commit, reconnecting to broker and database;
    the day tracks and trips caught up behind it by a derive process."""
    from etl.feed.mqtt import MqttFeed
    from gis_server.live.config import feed_rules, mqtt_options

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    options = mqtt_options(settings)
    click.echo(f"实时定位 feed: {options.url} {', '.join(options.topics)} as {options.client_id}")
    deriver = spawn_deriver(settings) if derive else None
    try:
        MqttFeed(settings.database.dsn, options, feed_rules(settings)).run_forever(
            status_file=STATUS_FILE
        )
    except KeyboardInterrupt:
        pass
    finally:
        stop_deriver(deriver)


@feed.command("run")
def run() -> None:
    """Subscribe to the broker in config.yml (feed:) and store every fix."""
    settings = load_or_exit()
    try:
        prepare_database(settings)
    except ClusterError as exc:
        fail(str(exc))
    run_feed(settings)


def _feed_process_main() -> None:
    """MQTT when feed.enabled, the JT/T 808 listener when feed.jt808.enabled (in a thread
    of its own beside MQTT, else in this one)."""
    import threading

    from gis_server.cli.feed_jt808 import run_jt808

    settings = load_or_exit()
    if not settings.feed.enabled:
        run_jt808(settings)
        return
    if settings.feed.jt808.enabled:  # one derive process for both: run_feed's
        threading.Thread(
            target=run_jt808, args=(settings, False), name="jt808", daemon=True
        ).start()
    run_feed(settings)


def start_feed_process() -> multiprocessing.Process:
    """The feed beside `onemap serve`: its own process (one broker session however many
    HTTP workers; its GIL and its failures are its own); MQTT and/or JT/T 808."""
    process = multiprocessing.get_context("spawn").Process(
        target=_feed_process_main, name="onemap-feed", daemon=True
    )
    process.start()
    return process


@feed.command("simulate")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds between two fixes of one vehicle.",
)
@click.option(
    "--rounds",
    type=click.IntRange(min=1),
    default=None,
    help="Stop after this many fixes per vehicle (default: run until interrupted).",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Simulate at most N vehicles."
)
def simulate_cmd(interval: float, rounds: int | None, limit: int | None) -> None:
    """模拟 — publish live fixes of the demo fleet along their tracks to the feed's broker."""
    from etl.feed.simulate import simulate

    settings = load_or_exit()
    topic = settings.feed.topics[0]
    prefix = topic.removesuffix("/#").removesuffix("/+") or "onemap/positions"
    try:
        sent = simulate(
            settings.database.dsn,
            settings.feed.url,
            prefix,
            interval,
            rounds,
            limit,
            log=click.echo,
        )
    except KeyboardInterrupt:
        return
    except OSError as exc:
        fail(f"无法连接 MQTT 代理 — cannot reach the broker {settings.feed.url}: {exc}")
    click.echo(f"已发布 published {sent} fixes")


def lower(pid: int, host: str) -> None:
    """Best effort: the derive connection's PostgreSQL backend at nice 10 too, when the
    server is on this machine and we may (root, or the postgres user)."""
    if host not in ("127.0.0.1", "localhost", "::1") and not host.startswith("/"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, pid, 10)
    except OSError:
        pass


@feed.command("derive")
@click.option("--follow", is_flag=True, help="Keep catching up every feed.derive_every_s s.")
@click.option(
    "--parent", type=int, default=None, help="With --follow: stop when this process is gone."
)
def derive_cmd(follow: bool, parent: int | None) -> None:
    """轨迹补算 — catch the day tracks and trips up with the stored fixes (the feed
    process runs `--follow` beside itself, every feed.derive_every_s seconds)."""
    import psycopg

    from etl.feed.derive import Deriver, catch_up_all
    from gis_server.live.config import feed_rules

    settings = load_or_exit()
    trips = feed_rules(settings).trips
    if follow:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

        def connect(dsn: str):
            conn = psycopg.connect(dsn, application_name="onemap-feed-derive", connect_timeout=5)
            lower(conn.info.backend_pid, conn.info.host)
            return conn

        def alive() -> bool:
            return parent is None or os.getppid() == parent

        every = settings.feed.derive_every_s or 30.0
        os.nice(10)  # behind the acknowledging path for the CPU (its backend: see lower)
        try:
            Deriver(settings.database.dsn, trips, every, connect).run(alive)
        except KeyboardInterrupt:
            pass
        return
    with psycopg.connect(settings.database.dsn) as conn:
        done = catch_up_all(conn, trips)
    if done.busy:
        click.echo("another catch-up is running (the feed process); it holds the lock")
    click.echo(
        f"已补算 caught up {done.vehicle_days} vehicle-days ({done.fixes} fixes): "
        f"tracks {done.tracks_appended} appended, {done.tracks_rebuilt} rebuilt; "
        f"trips {done.trips_updated} updated, {done.trips_rebuilt} rebuilt"
    )


@feed.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status_cmd(as_json: bool) -> None:
    """状态 — rates, lag, online vehicles, partitions, open geofence alerts, feed counters."""
    import json

    from etl.feed.status import feed_status
    from gis_server.cli.feed_jt808 import JT808_STATUS_FILE

    settings = load_or_exit()
    status = feed_status(
        settings.database.dsn, settings.feed.offline_after_s, STATUS_FILE, JT808_STATUS_FILE
    )
    if as_json:
        click.echo(json.dumps(status, ensure_ascii=False, indent=2))
        return
    for key, value in status.items():
        if isinstance(value, dict):
            click.echo(f"{key}:")
            for k, v in value.items():
                click.echo(f"  {k}: {v}")
        else:
            click.echo(f"{key}: {value}")


def _add_jt808_commands() -> None:
    from gis_server.cli.feed_jt808 import jt808_cmd, terminals_cmd

    feed.add_command(jt808_cmd)
    feed.add_command(terminals_cmd)


_add_jt808_commands()

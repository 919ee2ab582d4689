"""OGC API benchmark: onemap vs tipg 1.6 vs stock pygeoapi 0.24 vs PostGIS itself.

    .venv/bin/python bench/ogc_compare.py [--duration S] [--only NAME[,NAME]] [--servers ...]
    scripts/bench.sh ogc [same options]

Ensures the demo data is loaded, installs the pinned baselines under var/bench/
(once), starts the three servers (2 uvicorn workers each) on free loopback
ports against the same database, checks that their answers match the database,
loads each of the issue's ten requests with wrk at concurrency 1 and 8, measures
the PostGIS floor of each with pgbench, checks the TCP_NODELAY trap, prints the
table and writes bench/RESULTS.md. See bench/README.md.
"""

from __future__ import annotations

import argparse
import atexit
import json
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ogc import cases as cases_mod  # noqa: E402
from bench.ogc import measure, report, servers, venvs, zooms  # noqa: E402
from bench.ogc.cases import Case  # noqa: E402
from bench.ogc.report import FLOOR, Cell  # noqa: E402
from bench.results import write_section  # noqa: E402
from gis_server.settings import get_settings  # noqa: E402
from layers.registry import LAYERS  # noqa: E402

ONEMAP = ROOT / ".venv" / "bin" / "onemap"
LAYER_TABLES = ("towns", "grids", "cameras", "events")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# -- the database ------------------------------------------------------------------


def connect(dsn: str) -> psycopg2.extensions.connection:
    """Connect; start the private cluster (`onemap db up`) once if it does not answer."""
    try:
        return psycopg2.connect(dsn, connect_timeout=5)
    except psycopg2.OperationalError:
        log("database not reachable: onemap db up …")
        subprocess.run([str(ONEMAP), "db", "up"], check=True, cwd=ROOT)
        return psycopg2.connect(dsn, connect_timeout=5)


def ensure_demo(conn: psycopg2.extensions.connection) -> dict[str, int]:
    """Row counts of the layers; runs `onemap demo` (no reload) when one is empty."""

    def counts() -> dict[str, int]:
        with conn.cursor() as cur:
            out = {}
            for table in LAYER_TABLES:
                cur.execute(f"SELECT count(*) FROM {table}")  # names from a constant
                out[table] = cur.fetchone()[0]
        conn.rollback()
        return out

    found = counts()
    if min(found.values()) == 0:
        log(f"layer tables empty ({found}): onemap demo (several minutes) …")
        subprocess.run([str(ONEMAP), "demo"], check=True, cwd=ROOT)
        found = counts()
    return found


def versions(conn: psycopg2.extensions.connection, pgbench: str) -> dict[str, str]:
    with conn.cursor() as cur:
        cur.execute("SELECT split_part(version(), ' on ', 1), postgis_lib_version(), "
                    "(SELECT setting FROM pg_settings WHERE name = 'max_connections')")  # fmt: skip
        pg, postgis, maxconn = cur.fetchone()
    conn.rollback()
    git = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip()  # fmt: skip
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain"],
                           capture_output=True, text=True).stdout.strip()  # fmt: skip

    def ver(pkg: str) -> str:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return "not installed"

    pgb = subprocess.run([pgbench, "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "PostgreSQL": f"{pg} (max_connections {maxconn})",
        "PostGIS": postgis,
        "onemap": f"{ver('onemap')} (git {git}{', uncommitted changes' if dirty else ''}); "
        f"pygeoapi {ver('pygeoapi')}, uvicorn {ver('uvicorn')}, uvloop {ver('uvloop')}, "
        f"psycopg2 {ver('psycopg2-binary')}",
        "tipg": f"{venvs.TIPG.version('tipg')} (uvicorn {venvs.TIPG.version('uvicorn')}, "
        f"uvloop {venvs.TIPG.version('uvloop')}, asyncpg {venvs.TIPG.version('asyncpg')})",
        "stock pygeoapi": f"{venvs.PYGEOAPI.version('pygeoapi')} (Starlette app; uvicorn "
        f"{venvs.PYGEOAPI.version('uvicorn')}, uvloop {venvs.PYGEOAPI.version('uvloop')}, "
        f"SQLAlchemy {venvs.PYGEOAPI.version('sqlalchemy')})",
        "pgbench": pgb,
    }


# -- one server on one request -----------------------------------------------------------


def cancel_backends(dsn: str, server: servers.Server) -> int:
    """Cancel the running queries of this server's own database sessions (after a timeout)."""
    ports = servers.db_client_ports(server.worker_pids())
    if not ports:
        return 0
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity "
            "WHERE client_port = ANY(%s) AND state = 'active' AND pid <> pg_backend_pid()",
            (ports,),
        )
        n = cur.fetchone()[0]
    conn.close()
    return n


def settle(server: servers.Server, dsn: str, max_wait: float = 20.0) -> None:
    """Wait until the server's workers are idle (requests wrk abandoned still run)."""
    pids = server.worker_pids()
    deadline = time.monotonic() + max_wait
    while time.monotonic() < deadline:
        before = servers.cpu_seconds(pids)
        time.sleep(0.3)
        after = servers.cpu_seconds(pids)
        if sum(after.values()) - sum(before.values()) < 0.03:
            break
    else:
        cancel_backends(dsn, server)


def bench_server(case: Case, server: servers.Server, args: argparse.Namespace, dsn: str) -> Cell:
    """Probe (and check) one request on one server, then wrk it at each concurrency."""
    url = server.base_url + case.urls[server.name]
    probe = measure.fetch(server.base_url, case.urls[server.name], args.probe_timeout)
    if probe.status is None:
        n = cancel_backends(dsn, server)
        settle(server, dsn)
        cell = Cell(check=measure.check_answer(case, probe))
        cell.skipped = f"not loaded: {probe.error}" + (f" (cancelled {n} queries)" if n else "")
        return cell
    probe = measure.fetch(server.base_url, case.urls[server.name], args.probe_timeout)  # warm
    cell = Cell(check=measure.check_answer(case, probe))
    if probe.status != 200:
        cell.skipped = f"not loaded: HTTP {probe.status}"
        return cell
    if probe.seconds > args.duration / 2:
        secs = probe.seconds
        cell.skipped = f"too slow for wrk: one request took {secs:.1f} s"
        cell.loads[min(args.concurrency)] = measure.Load(
            1 / secs, secs * 1000, secs * 1000, secs * 1000, 1
        )
        settle(server, dsn)
        return cell
    for c in args.concurrency:
        pids = server.worker_pids()
        conns: list[int] = []
        sampler = threading.Timer(
            min(1.0, args.duration / 2),
            lambda out=conns: out.extend(servers.connections_per_worker(server)),
        )
        before = servers.cpu_seconds(pids)
        sampler.start()
        load = measure.run_wrk(url, c, args.duration, args.probe_timeout)
        sampler.cancel()
        after = servers.cpu_seconds(pids)
        load.worker_cpu = [after.get(p, 0) - before.get(p, 0) for p in pids]
        load.worker_conns = conns
        cell.loads[c] = load
        log(f"  {case.name:20} {server.name:9} c{c}: {load.rps:9.1f} req/s  "
            f"p50 {load.p50_ms:8.1f} ms  p99 {load.p99_ms:8.1f} ms {load.note}")  # fmt: skip
        settle(server, dsn)
    return cell


def bench_floor(case: Case, args: argparse.Namespace, pgbench: str, dsn: str) -> Cell:
    cell = Cell(check=measure.Check(True, "pgbench, same database"))
    for c in args.concurrency:
        load = measure.run_pgbench(pgbench, dsn, case.floor_sql, c, args.duration)
        cell.loads[c] = load
        log(f"  {case.name:20} {'PostGIS':9} c{c}: {load.rps:9.1f} tx/s   "
            f"p50 {load.p50_ms:8.1f} ms  p99 {load.p99_ms:8.1f} ms {load.note}")  # fmt: skip
    return cell


# -- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=6.0, help="seconds per wrk/pgbench cell (6)")
    p.add_argument("--only", default="", help="comma-separated request names (substring match)")
    p.add_argument("--servers", default="onemap,tipg,pygeoapi", help="which servers to start")
    p.add_argument("--concurrency", default="1,8", help="wrk/pgbench concurrencies (1,8)")
    p.add_argument("--probe-timeout", type=float, default=20.0,
                   help="seconds one request may take before it counts as a timeout (20)")  # fmt: skip
    p.add_argument("--no-floor", action="store_true", help="skip the pgbench floors")
    p.add_argument("--sweep-servers", default="onemap,tipg",
                   help="servers whose slowest tile at any zoom is measured ('' skips it)")  # fmt: skip
    p.add_argument("--tile-cache", type=int, default=0, metavar="MB",
                   help="onemap's per-worker tile cache; 0 (default): build every tile, "
                   "as the baselines do (wrk repeats one URL, so a cache would measure hits)")  # fmt: skip
    p.add_argument("--budget", type=float, default=15.0, help="minutes; later cells are skipped")
    p.add_argument("--output", default=str(ROOT / "bench" / "RESULTS.md"), help="Markdown results")
    p.add_argument("--note", default="", help="a line for RESULTS.md (e.g. the machine was busy)")
    p.add_argument("--list", action="store_true", help="print the requests and URLs, then exit")
    args = p.parse_args(argv)
    args.concurrency = sorted({int(c) for c in args.concurrency.split(",")})
    args.servers = [s for s in cases_mod.SERVERS if s in args.servers.split(",")]
    args.sweep_servers = [s for s in args.servers if s in args.sweep_servers.split(",")]
    return args


def sweep_zooms(
    conn: psycopg2.extensions.connection, up: dict[str, servers.Server], args: argparse.Namespace
) -> dict[str, dict[str, zooms.Sweep]]:
    """{layer: {server: its slowest tile over every zoom}} (see bench/ogc/zooms.py)."""
    out: dict[str, dict[str, zooms.Sweep]] = {}
    for layer in LAYERS:
        rows, tiles = zooms.densest_tiles(conn, layer)
        for name in args.sweep_servers:
            if name not in up:
                continue
            found = zooms.sweep_layer(
                up[name].base_url, name, layer, rows, tiles, min(args.probe_timeout, 10.0)
            )
            out.setdefault(layer.id, {})[name] = found
            log(f"  slowest tile {layer.id:20} {name:9} {found.describe()}")
    return out


def start_servers(
    args: argparse.Namespace, dsn: str, layers: list[dict]
) -> dict[str, servers.Server]:
    wanted: list[servers.Server] = []
    if "onemap" in args.servers:
        wanted.append(servers.onemap_server(args.tile_cache))
    if "tipg" in args.servers:
        venvs.ensure(venvs.TIPG, log)
        wanted.append(servers.tipg_server(dsn, layers))
    if "pygeoapi" in args.servers:
        venvs.ensure(venvs.PYGEOAPI, log)
        wanted.append(servers.pygeoapi_server(dsn, layers, log))
    for server in wanted:
        server.start()
        log(f"started {server.name} on {server.base_url} (log {server.log_path})")
    up = {}
    for server in wanted:
        if server.wait_healthy(120):
            up[server.name] = server
            log(f"{server.name} answers {server.health_path}")
        else:
            log(f"{server.name} did not come up; last log lines:\n{server.log_tail()}")
            server.stop()
    return up


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t_start = time.monotonic()
    load_start = Path("/proc/loadavg").read_text().split()[:3]
    dsn = get_settings().database.dsn
    conn = connect(dsn)
    counts = ensure_demo(conn)
    log(f"database {dsn}: {counts}")
    cases = cases_mod.build_cases(conn)
    conn.rollback()
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        cases = [c for c in cases if any(n in c.name for n in names)]
        if not cases:
            print(f"no request matches {args.only!r}; known: {', '.join(cases_mod.ISSUE)}")
            return 2
    if args.list:
        for c in cases:
            print(f"{c.name}: {c.title} [{c.params}]")
            for s, u in c.urls.items():
                print(f"  {s:9} {u}")
            print(f"  floor     {c.floor_sql}")
        return 0
    measure.ensure_wrk()
    pgbench = measure.find_pgbench()

    atexit.register(servers.stop_all)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results: dict[str, dict[str, Cell]] = {}
    sweeps: dict[str, dict[str, zooms.Sweep]] = {}
    nodelay: dict[str, measure.NoDelay | str] = {}
    try:
        up = start_servers(args, dsn, cases_mod.layer_info())
        for name in args.servers:
            if name not in up:
                nodelay[name] = "server did not start"
        for case in cases:
            log(f"{case.name}: {case.title} [{case.params}]")
            cells = results.setdefault(case.name, {})
            for name in args.servers:
                if (time.monotonic() - t_start) / 60 > args.budget:
                    cells[name] = Cell(skipped=f"skipped: over the {args.budget:g}-minute budget")
                    continue
                if name not in up:
                    cells[name] = Cell(skipped="server did not start")
                    continue
                cells[name] = bench_server(case, up[name], args, dsn)
                c = cells[name].check
                if c is not None and not c.ok:
                    log(f"  {name}: {c.note} {cells[name].skipped}")
            if not args.no_floor:
                cells[FLOOR] = bench_floor(case, args, pgbench, dsn)
        if args.sweep_servers:
            log(f"slowest tile at any zoom (z0–z{zooms.MAX_ZOOM}, densest tile of each zoom)")
            sweeps = sweep_zooms(conn, up, args)
        grid = next((c for c in cases if c.name == "grid_by_id"), None)
        for name, server in up.items():
            path = grid.urls[name] if grid else server.health_path
            try:
                nodelay[name] = measure.nodelay_check(server.base_url, path)
            except (OSError, ConnectionError) as exc:
                nodelay[name] = f"check failed: {exc}"
            log(
                f"TCP_NODELAY {name}: {nodelay[name] if isinstance(nodelay[name], str) else nodelay[name].describe()}"
            )
        with_versions = versions(conn, pgbench)
        with_versions["servers"] = "2 uvicorn workers each, no access log; onemap's tile cache " + (
            f"{args.tile_cache} MB per worker" if args.tile_cache else "off (every tile built)"
        )
        load_end = Path("/proc/loadavg").read_text().split()[:3]
        with_versions["load average (1/5/15 min)"] = (
            f"{' '.join(load_start)} at start, {' '.join(load_end)} at end"
        )
    finally:
        servers.stop_all()

    hi = max(args.concurrency)
    lo = min(args.concurrency)
    print()
    print(report.text_table([h.format(lo=lo, hi=hi) for h in report.HEAD],
                            report.table_rows(cases, results, args.concurrency)))  # fmt: skip
    print()
    print(report.text_table([h.format(hi=hi) for h in report.RATIO_HEAD],
                            report.ratio_rows(cases, results, hi), wrap_last=200))  # fmt: skip
    command = "scripts/bench.sh ogc " + shlex.join(argv if argv is not None else sys.argv[1:])
    note = args.note + (" Partial run (--only)." if args.only else "")
    if sweeps:
        print()
        print(report.text_table(report.SWEEP_HEAD, report.sweep_rows(sweeps)))
    md = report.markdown(cases, results, args.concurrency, args.duration, with_versions,
                         nodelay, note.strip(), command.strip(), sweeps)  # fmt: skip
    write_section("ogc", md, Path(args.output))
    raw = venvs.BENCH_VAR / "ogc_results.json"
    raw.write_text(json.dumps(
        {name: {s: asdict(cell) for s, cell in cells.items()} for name, cells in results.items()},
        indent=1, default=str))  # fmt: skip
    log(f"wrote {args.output} and {raw} ({(time.monotonic() - t_start) / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

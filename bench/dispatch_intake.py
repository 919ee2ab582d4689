"""Sustained intake: POST /api/events at a fixed rate, a share re-sent, latency percentiles.

Usage (a running `onemap serve` on the demo, a reporter key, its database):

    .venv/bin/python bench/dispatch_intake.py --url http://127.0.0.1:8000 \\
        --key om_… --dsn postgresql://…/onemap --rate 300 --seconds 60 --resend 0.1

Tickets are sent open-loop at `rate` per second (a request is started on
schedule whether or not earlier ones finished, so a slow server shows as
latency, not as a lower rate); `resend` of them repeat an earlier ticket id.
Points are drawn inside the district's grids. Afterwards the database must
hold exactly one event per distinct ticket id. Prints one JSON line.

`--client node` (the default) sends from `bench/intake_client.mjs`, a Node.js
process on the built-in http module: it drives 300/s on a small share of a core,
so on a shared machine the client does not starve the server it measures.
`--client python` is the httpx client (one process tops out near 100/s). The
client's own CPU seconds are reported beside the latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import psycopg2

try:  # run as a script (bench/ on sys.path) or as a module
    from results import write_section
except ImportError:  # pragma: no cover
    from bench.results import write_section


def _points(dsn: str, n: int, seed: int) -> list[tuple[float, float]]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT setseed(%s)", (seed / 2**31,))
        cur.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT (ST_Dump(ST_GeneratePoints(geom, 2))).geom AS p "
            "FROM grids WHERE valid_to IS NULL AND grid_type = 'comprehensive' ORDER BY random() LIMIT %s) s",
            (n,),
        )
        return cur.fetchall()


NODE_CLIENT = Path(__file__).with_name("intake_client.mjs")


def _node_process(args: argparse.Namespace) -> subprocess.Popen:
    """One Node.js client sending `args.rate`/s; its job goes in as JSON on stdin."""
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node not found: install Node.js >= 18 or use --client python")
    job = {"url": args.url, "key": args.key, "rate": args.rate, "seconds": args.seconds,
           "resend": args.resend, "connections": args.connections, "seed": args.seed,
           "prefix": f"bench-{secrets.token_hex(3)}", "points": _points(args.dsn, 500, args.seed)}  # fmt: skip
    proc = subprocess.Popen([node, str(NODE_CLIENT)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    proc.stdin.write(json.dumps(job))
    proc.stdin.close()
    return proc


def _node_parts(shares: list[argparse.Namespace]) -> list[dict]:
    procs = [_node_process(share) for share in shares]  # all started, then all awaited
    parts = []
    for proc in procs:
        out = proc.stdout.read()
        if proc.wait() != 0:
            raise SystemExit(f"the node client failed (exit {proc.returncode})")
        parts.append(json.loads(out))
    return parts


async def _run(args: argparse.Namespace) -> dict:
    rng = random.Random(args.seed)
    points = _points(args.dsn, 500, args.seed)
    cpu0 = time.process_time()
    categories = ["河道污染", "环境卫生", "市政设施", "占道经营", "噪音扰民", "安全隐患"]
    prefix = f"bench-{secrets.token_hex(3)}"
    sent: list[str] = []
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    headers = {"Authorization": f"Bearer {args.key}"}
    limits = httpx.Limits(
        max_connections=args.connections, max_keepalive_connections=args.connections
    )
    async with httpx.AsyncClient(
        base_url=args.url, headers=headers, limits=limits, timeout=30
    ) as client:
        # At most `connections` requests in flight; the rest wait here, in O(1) (thousands of
        # tasks queued inside httpx's pool made the client, not the server, the bound: ~50/s).
        gate = asyncio.Semaphore(args.connections)

        async def one(i: int) -> None:
            if sent and rng.random() < args.resend:
                ext = rng.choice(sent)
            else:
                ext = f"{prefix}-{i:07d}"
                sent.append(ext)
            lon, lat = rng.choice(points)
            body = {"source": "hotline_12345", "external_id": ext, "category": rng.choice(categories),
                    "description": "bench", "location": {"lon": lon, "lat": lat, "crs": "wgs84"},
                    "reporter": {"name": "测试", "phone": "13000000000"}}  # fmt: skip
            t0 = start + i / args.rate  # from its scheduled time: waiting here counts
            try:
                async with gate:
                    r = await client.post("/api/events", json=body)
                status: int | str = r.status_code
            except httpx.HTTPError as exc:  # a timeout of a starved server is a result, not a crash
                status = type(exc).__name__
            latencies.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1

        tasks = []
        start = time.perf_counter()
        total = int(args.rate * args.seconds)
        for i in range(total):
            delay = start + i / args.rate - time.perf_counter()
            await asyncio.sleep(max(delay, 0))  # yields even when behind schedule
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return {"prefix": prefix, "latencies": latencies, "statuses": statuses,
            "tickets": len(set(sent)), "elapsed": elapsed,
            "client_cpu_s": time.process_time() - cpu0}  # fmt: skip


def _one_process(args: argparse.Namespace) -> dict:
    return asyncio.run(_run(args))


def _summary(args: argparse.Namespace, parts: list[dict]) -> dict:
    """Every client process's requests together; one event per ticket checked in SQL."""
    statuses: dict = {}
    for part in parts:
        for k, n in part["statuses"].items():
            statuses[k] = statuses.get(k, 0) + n
    with psycopg2.connect(args.dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT count(*), count(DISTINCT external_id) FROM events "
            "WHERE external_id LIKE ANY(%s)",
            ([p["prefix"] + "-%" for p in parts],),
        )
        events, distinct = cur.fetchone()
    lat_ms = sorted(x * 1000 for part in parts for x in part["latencies"])
    tickets = sum(p["tickets"] for p in parts)
    elapsed = max(p["elapsed"] for p in parts)

    def pct(p: float) -> float:
        return round(lat_ms[min(len(lat_ms) - 1, int(p * len(lat_ms)))], 1)

    client_cpu = sum(p["client_cpu_s"] for p in parts)
    return {"rate": args.rate, "seconds": args.seconds, "processes": args.processes,
            "client": args.client, "connections": args.connections,
            "client_cpu_s": round(client_cpu, 1), "client_cpu_share": round(client_cpu / elapsed, 2),
            "load": [round(x, 2) for x in os.getloadavg()],
            "requests": len(lat_ms), "achieved_rate": round(len(lat_ms) / elapsed, 1),
            "statuses": statuses, "p50_ms": pct(0.5), "p95_ms": pct(0.95), "p99_ms": pct(0.99),
            "max_ms": round(lat_ms[-1], 1), "tickets": tickets, "events": events,
            "one_event_per_ticket": events == distinct == tickets}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--key", required=True)
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--rate", type=float, default=300)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--resend", type=float, default=0.1)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument(
        "--processes", type=int, default=1,
        help="client processes, each sending rate/N (one Python client tops out near 100/s)",
    )  # fmt: skip
    ap.add_argument("--client", choices=("node", "python"), default="node",
                    help="node: bench/intake_client.mjs (lean); python: httpx")  # fmt: skip
    ap.add_argument(
        "--note", default="", help="a line under the figures (e.g. the server's set-up)"
    )
    ap.add_argument("--write", action="store_true", help="put the figures in bench/RESULTS.md")
    args = ap.parse_args()
    shares = []
    for i in range(args.processes):
        share = argparse.Namespace(**vars(args))
        share.rate, share.seed = args.rate / args.processes, args.seed + i
        shares.append(share)
    if args.client == "node":
        parts = _node_parts(shares)
    elif args.processes == 1:
        parts = [_one_process(shares[0])]
    else:
        with multiprocessing.get_context("spawn").Pool(args.processes) as pool:
            parts = pool.map(_one_process, shares)
    result = _summary(args, parts)
    print(json.dumps(result, ensure_ascii=False))
    if args.write:
        write_section("dispatch", _markdown(result, args.note))


def _markdown(r: dict, note: str = "") -> str:
    """The figures as the `dispatch` section of bench/RESULTS.md."""
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = ", ".join(f"{x:.1f}" for x in r["load"])
    args_note = f"\n{note}\n" if note else ""
    return f"""# Dispatch intake (issue 14)

`bench/dispatch_intake.py --client {r["client"]} --rate {r["rate"]:g} --seconds {r["seconds"]:g} --processes {r["processes"]} --connections {r["connections"]}`
({when}, load average {load} at the end on the shared 2-CPU machine, client on the same machine; open loop)
{args_note}

| what | measured | target |
|---|---|---|
| intake throughput | {r["achieved_rate"]} req/s of {r["rate"]:g} scheduled | 300/s |
| latency p50 / p95 / p99 / max | {r["p50_ms"]} / {r["p95_ms"]} / {r["p99_ms"]} / {r["max_ms"]} ms | p99 < 100 ms |
| statuses | {r["statuses"]} | 201 new, 200 re-sent |
| idempotency | {r["tickets"]} tickets, {r["events"]} events, one per ticket: {r["one_event_per_ticket"]} | exactly one |
| client CPU | {r["client_cpu_s"]} s ({r["client_cpu_share"]:.0%} of a core) | — |
"""


if __name__ == "__main__":
    main()

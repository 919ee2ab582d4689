"""JT/T 808 listener under load: N simulated terminals connected at once, each reporting every S s.

    .venv/bin/python bench/jt808.py [--terminals 5000] [--interval 10] [--duration 60]
                                    [--sim-procs 1] [--sink-delay-ms 0] [--ramp-per-s 1000]
                                    [--backlog 0]

The listener runs in its own process (uvloop) with a counting sink; the
terminals (`etl.feed.jt808_sim`, half 2013, half 2019) run in `--sim-procs`
other processes. Each terminal connects, registers, authenticates, then
reports a 0x0200 every `--interval` seconds (at a random phase) and waits for
its 0x8001. Every report carries its send time (wall clock, µs) in a custom
additional item 0xF0, which the sink reads: "send → sink" is the time from
the terminal writing the frame to the sink holding the fix. Measured over the
window after the first full interval: frames/s reaching the sink,
connections held (fewest seen), p50/p99/max send → sink and send → 0x8001,
reports lost, errors, and the listener's CPU. `--sink-delay-ms` makes each
sink call take that long (a database commit's stand-in). `--backlog N`: each
terminal first uploads N stored fixes as 0x0704 blind-area batches (20 a
batch), as terminals do after an outage; how long until all were answered.
`--db`: the sink is the real one (`etl/feed/jt808_db.Jt808Database`: `ingest()`
into a scratch PostGIS database, committed before the 0x8001, terminals mapped
by plate to its vehicles): then "send → sink" is send → commit, "send → 0x8001"
report → commit → ack, and the fixes stored are counted in the database.
Results of `--db` runs: a row in the `jt808_db` section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing as mp
import os
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from etl.feed.jt808_frame import V2013, V2019  # noqa: E402
from etl.feed.jt808_server import start_listener  # noqa: E402
from etl.feed.jt808_session import Jt808Settings  # noqa: E402
from etl.feed.jt808_sim import Terminal, circle_point, location  # noqa: E402

SENT_AT = 0xF0  # custom additional item (0xE0-0xFF are the vendor's): send time in µs
BACKLOG = 0xF1  # marks a stored fix sent after (re)connecting, not a live one
BATCH = 20  # fixes per 0x0704 (20 × 30 bytes fit the 1,023-byte body)


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


# -- the listener's process --------------------------------------------------------


async def listen(pipe, terminals: int, sink_delay_s: float, dsn: str | None = None) -> None:
    received: list[tuple[float, float]] = []  # (arrival, send -> sink seconds)
    backlog: list[float] = []  # arrivals of stored fixes

    def count(fixes) -> None:
        now = time.time()
        for f in fixes:
            if BACKLOG in f.extras:
                backlog.append(now)
                continue
            sent = int.from_bytes(f.extras[SENT_AT], "big") / 1e6
            received.append((now, now - sent))

    async def sink(fixes) -> None:
        if sink_delay_s:
            await asyncio.sleep(sink_delay_s)
        count(fixes)

    settings = Jt808Settings(max_connections=terminals + 100, idle_timeout_s=120)
    db = None
    if dsn is None:
        server = await start_listener(
            "127.0.0.1", 0, sink, lambda phone, plate: "V" + phone, settings
        )
    else:  # the real sink: committed before it returns (run in a thread by the batcher)
        from etl.feed.jt808_db import Jt808Database
        from etl.feed.jt808_server import Jt808Server

        db = Jt808Database(dsn)

        def db_sink(fixes) -> None:
            db.sink(fixes)
            count(fixes)

        server = Jt808Server(db_sink, db.lookup, settings, registered=db.registrations())
        await server.start("127.0.0.1", 0)
    pipe.send(server.port)
    loop = asyncio.get_running_loop()
    held: list[tuple[float, int]] = []
    stop = loop.run_in_executor(None, pipe.recv)
    while not stop.done():
        held.append((time.time(), server.stats.connections))
        await asyncio.wait([stop], timeout=1.0)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    pipe.send({"received": received, "backlog": backlog, "held": held, "cpu_s": usage.ru_utime + usage.ru_stime,
               "sink_calls": server.batcher.calls, "bad": server.stats.bad,
               "dropped": server.stats.dropped,
               "db_failures": db.failures if db else None})  # fmt: skip
    await server.close()
    if db is not None:
        db.close()


def listener_main(pipe, terminals: int, sink_delay_s: float, dsn: str | None = None) -> None:
    raise_fd_limit()
    loop = new_loop()
    loop.run_until_complete(listen(pipe, terminals, sink_delay_s, dsn))


# -- the terminals' process ----------------------------------------------------------


async def send_backlog(t: Terminal, centre, count: int, interval: float, out) -> None:
    """`count` stored fixes (the last `count` intervals) in 0x0704 blind-area batches."""
    now = time.time()
    for first in range(0, count, BATCH):
        locs = []
        for k in range(first, min(count, first + BATCH)):
            lat, lon, heading = circle_point(centre, k)
            when = dt.datetime.fromtimestamp(now - (count - k) * interval, dt.UTC)
            extras = {SENT_AT: int(now * 1e6).to_bytes(8, "big"), BACKLOG: b"\x01"}
            locs.append(location(lat, lon, t=when, heading=heading, extras=extras))
        ack = await t.report_batch(locs, kind=1)
        out["backlog_sent"] += len(locs)
        out["backlog_ok"] += len(locs) if ack.result == 0 else 0
    out["backlog_done_at"] = max(out["backlog_done_at"], time.time())


async def one_terminal(i, port, start_at, end_at, interval, connect_at, out) -> None:
    phone = f"1{i:010d}"
    t = Terminal(phone, V2019 if i % 2 else V2013, timeout_s=30)
    await asyncio.sleep(max(0.0, connect_at - time.time()))
    try:
        await t.connect("127.0.0.1", port)
        await t.sign_in(f"苏E{i:05d}")
    except (OSError, ConnectionError, TimeoutError) as e:
        out["errors"].append(f"connect: {type(e).__name__}")
        return
    out["connected"] += 1
    out["signed_in_at"] = max(out["signed_in_at"], time.time())
    centre = (31.3 + (i % 100) / 1000, 120.6 + (i // 100) / 1000)
    next_at, step = start_at + random.uniform(0, interval), 0
    try:
        if out["backlog"]:
            await send_backlog(t, centre, out["backlog"], interval, out)
        while next_at < end_at:
            await asyncio.sleep(max(0.0, next_at - time.time()))
            lat, lon, heading = circle_point(centre, step)
            sent = time.time()
            extras = {SENT_AT: int(sent * 1e6).to_bytes(8, "big")}
            ack = await t.report(location(lat, lon, heading=heading, extras=extras))
            out["acks"].append(time.time() - sent)
            out["sent"] += 1
            out["ok"] += ack.result == 0
            next_at += interval
            step += 1
        await asyncio.sleep(max(0.0, end_at + 1 - time.time()))  # held to the window's end
    except (OSError, ConnectionError, TimeoutError) as e:
        out["errors"].append(f"report: {type(e).__name__}")
    finally:
        await t.close()


async def simulate(first, count, port, start_at, end_at, interval, ramp_per_s, backlog) -> dict:
    now = time.time()
    out = {"connected": 0, "sent": 0, "ok": 0, "acks": [], "errors": [], "began": now,
           "signed_in_at": now, "backlog": backlog, "backlog_sent": 0, "backlog_ok": 0,
           "backlog_done_at": now}  # fmt: skip
    await asyncio.gather(*(
        one_terminal(first + k, port, start_at, end_at, interval, now + k / ramp_per_s, out)
        for k in range(count)
    ))  # fmt: skip
    return out


def sim_main(pipe, first, count, port, start_at, end_at, interval, ramp_per_s, backlog) -> None:
    raise_fd_limit()
    loop = new_loop()
    out = loop.run_until_complete(
        simulate(first, count, port, start_at, end_at, interval, ramp_per_s, backlog)
    )
    usage = resource.getrusage(resource.RUSAGE_SELF)
    pipe.send({**out, "cpu_s": usage.ru_utime + usage.ru_stime})


# -- the run -------------------------------------------------------------------------------


def scratch_db(terminals: int) -> tuple[str, str]:
    """(server dsn, dsn) of a migrated scratch database whose vehicles have the
    simulated terminals' plates (苏E00000…)."""
    import psycopg

    from bench.feed import scratch
    from gis_server.settings import load_settings

    server = load_settings().database.dsn.rsplit("/", 1)[0] + "/postgres"
    dsn = scratch(server, 0)
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy("COPY vehicles (code, plate, kind) FROM STDIN") as copy:
            for i in range(terminals):
                copy.write_row((f"J{i:05d}", f"苏E{i:05d}", "sanitation"))
    return server, dsn


def stored_in(dsn: str) -> int:
    import psycopg

    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT count(*) FROM vehicle_positions").fetchone()[0]


def run(args) -> dict:
    ctx = mp.get_context("spawn")
    lp, lchild = ctx.Pipe()
    server_dsn, dsn = scratch_db(args.terminals) if args.db else (None, None)
    listener = ctx.Process(
        target=listener_main, args=(lchild, args.terminals, args.sink_delay_ms / 1e3, dsn)
    )
    listener.start()
    port = lp.recv()
    ramp_s = args.terminals / args.ramp_per_s
    start_at = time.time() + ramp_s + 5
    end_at = start_at + args.duration
    sims, per = [], -(-args.terminals // args.sim_procs)
    for p in range(args.sim_procs):
        first, count = p * per, min(per, args.terminals - p * per)
        a, b = ctx.Pipe()
        proc = ctx.Process(target=sim_main, args=(b, first, count, port, start_at, end_at,
                                                  args.interval, args.ramp_per_s / args.sim_procs, args.backlog))  # fmt: skip
        proc.start()
        sims.append((proc, a))
    results = [a.recv() for _, a in sims]
    for proc, _ in sims:
        proc.join()
    lp.send("stop")
    server = lp.recv()
    listener.join()
    summary = summarise(args, start_at, end_at, results, server)
    if dsn is not None:
        import psycopg

        stored = stored_in(dsn)
        summary["stored_in_db"] = stored
        summary["lost"] = summary["reports_sent"] + summary["backlog_sent"] - stored
        summary["db_failures"] = server["db_failures"]
        with psycopg.connect(server_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{dsn.rsplit("/", 1)[1]}" WITH (FORCE)')
    return summary


def record(r: dict, args, note: str) -> str:
    """Append a `--db` run's row to the `jt808_db` section of bench/RESULTS.md."""
    from bench.results import read_section, write_section

    line = (
        f"| {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M UTC} | {r['terminals']} | "
        f"{args.interval:g} | {r['window_s']} | {r['connections_held_min']} | "
        f"{r['frames_per_s']} | {r['expected_per_s']} | {r['reports_sent']} | "
        f"{r['stored_in_db']} | {r['lost']} | {r['send_to_sink_ms']['p50']} | "
        f"{r['send_to_sink_ms']['p99']} | {r['send_to_ack_ms']['p50']} | "
        f"{r['send_to_ack_ms']['p99']} | {r['send_to_ack_ms']['max']} | {r['sink_calls']} | "
        f"{r['listener_cpu_s']} | {r['load_average'][0]:.1f} | {note} |"
    )
    section = read_section("jt808_db") or ""
    rows = [x for x in section.splitlines() if x.startswith("| 20")]
    head = (
        "# JT/T 808 into PostGIS (bench/jt808.py --db)\n\n"
        "Terminals report 0x0200 every interval; the listener's real sink ingests and "
        "commits before the 0x8001. stored = rows in the database; fixes/s = reports "
        "reaching the committed sink per second in the window; commit = send → commit, "
        "ack = report → commit → 0x8001 at the terminal.\n\n"
        "| when | terminals | interval s | window s | held | fixes/s stored | expected/s | "
        "sent | stored | lost | commit p50 ms | commit p99 ms | ack p50 ms | ack p99 ms | "
        "ack max ms | sink calls | listener CPU s | load | note |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    write_section("jt808_db", head + "\n" + "\n".join([*rows, line]))
    return line


def summarise(args, start_at, end_at, results, server) -> dict:
    w0, w1 = start_at + args.interval, end_at
    in_window = [lat for at, lat in server["received"] if w0 <= at <= w1]
    held = [n for at, n in server["held"] if w0 <= at <= w1] or [0]
    acks = [x for r in results for x in r["acks"]]
    errors: dict[str, int] = {}
    for r in results:
        for e in r["errors"]:
            errors[e] = errors.get(e, 0) + 1
    sent = sum(r["sent"] for r in results)
    backlog_sent = sum(r["backlog_sent"] for r in results)
    backlog_s = max(r["backlog_done_at"] for r in results) - min(r["began"] for r in results)
    return {
        "terminals": args.terminals, "connected": sum(r["connected"] for r in results),
        "all_signed_in_after_s": round(max(r["signed_in_at"] for r in results)
                                       - min(r["began"] for r in results), 2),
        "connections_held_min": min(held), "connections_held_max": max(held),
        "window_s": round(w1 - w0, 1), "frames_per_s": round(len(in_window) / (w1 - w0), 1),
        "expected_per_s": round(args.terminals / args.interval, 1),
        "send_to_sink_ms": {p: round(percentile(in_window, q) * 1e3, 2)
                            for p, q in (("p50", 50), ("p99", 99), ("max", 100))},
        "send_to_ack_ms": {p: round(percentile(acks, q) * 1e3, 2)
                           for p, q in (("p50", 50), ("p99", 99), ("max", 100))},
        "reports_sent": sent, "reports_acked_ok": sum(r["ok"] for r in results),
        "reports_at_sink": len(server["received"]), "lost": sent + backlog_sent - len(server["received"]) - len(server["backlog"]),
        "backlog_sent": backlog_sent, "backlog_acked_ok": sum(r["backlog_ok"] for r in results),
        "backlog_at_sink": len(server["backlog"]),
        "backlog_done_after_s": round(backlog_s, 2) if backlog_sent else None,
        "sink_calls": server["sink_calls"], "listener_cpu_s": round(server["cpu_s"], 1),
        "simulator_cpu_s": round(sum(r["cpu_s"] for r in results), 1),
        "load_average": os.getloadavg(),
        "bad_frames": server["bad"], "dropped": server["dropped"], "errors": errors,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--terminals", type=int, default=5000)
    ap.add_argument("--interval", type=float, default=10.0, help="seconds between reports")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of reporting")
    ap.add_argument("--sim-procs", type=int, default=1)
    ap.add_argument("--ramp-per-s", type=float, default=1000.0, help="new connections per second")
    ap.add_argument("--sink-delay-ms", type=float, default=0.0)
    ap.add_argument("--backlog", type=int, default=0,
                    help="stored fixes each terminal uploads (0x0704, 20 a batch) after signing in")  # fmt: skip
    ap.add_argument("--db", action="store_true",
                    help="the real database sink into a scratch PostGIS database")  # fmt: skip
    ap.add_argument("--note", default="")
    args = ap.parse_args(argv)
    if args.duration <= args.interval:
        ap.error("--duration must be longer than --interval (the first interval is warm-up)")
    print(f"fd limit {raise_fd_limit()}", file=sys.stderr)
    result = run(args)
    for key, value in result.items():
        print(f"{key:>22}: {value}")
    if args.db:
        print(record(result, args, args.note))
    ok = result["lost"] == 0 and not result["errors"] and result["connected"] == args.terminals
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

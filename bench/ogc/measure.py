"""Probing, answer checks, wrk and pgbench runs, and the TCP_NODELAY check."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .cases import Case
from .mvt import feature_counts

WRK_LUA = Path(__file__).with_name("report.lua")


# -- one request ----------------------------------------------------------------


@dataclass
class Probe:
    status: int | None  # None: timeout or connection error
    body: bytes = b""
    seconds: float = 0.0
    error: str = ""


def fetch(base_url: str, path: str, timeout: float) -> Probe:
    """GET base_url+path on a fresh connection, no compression (like wrk)."""
    host, port = base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    t0 = time.perf_counter()
    try:
        conn.request("GET", path, headers={"Accept": "*/*"})
        resp = conn.getresponse()
        body = resp.read()
        return Probe(resp.status, body, time.perf_counter() - t0)
    except TimeoutError:
        return Probe(None, seconds=time.perf_counter() - t0, error=f"timeout after {timeout:.0f} s")
    except (OSError, http.client.HTTPException) as exc:
        return Probe(None, seconds=time.perf_counter() - t0, error=f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


@dataclass
class Check:
    ok: bool
    note: str


def check_answer(case: Case, probe: Probe) -> Check:
    """Does the answer match the database truth (same ids in the same order; non-empty tile)?"""
    if probe.status is None:
        return Check(False, probe.error)
    if probe.status != 200:
        snippet = probe.body[:160].decode("utf-8", "replace").replace("\n", " ")
        return Check(False, f"HTTP {probe.status}: {snippet}")
    if case.kind == "tile":
        if not probe.body:
            return Check(False, "empty tile")
        try:
            counts = feature_counts(probe.body)
        except (ValueError, IndexError) as exc:
            return Check(False, f"not an MVT tile ({exc})")
        n = sum(counts.values())
        note = f"{n} features ({len(probe.body):,} B)"
        if n == 0:
            return Check(False, "tile without features")
        if n != case.expected_features:
            return Check(True, note + f"; floor tile has {case.expected_features}")
        return Check(True, note)
    try:
        doc = json.loads(probe.body)
    except ValueError:
        return Check(False, "answer is not JSON")
    if case.kind == "item":
        got = [str(doc.get("id"))]
    else:
        got = [str(f.get("id")) for f in doc.get("features", [])]
    want = case.expected_ids
    note = f"{len(got)} features ({len(probe.body):,} B)"
    if got == want:
        return Check(True, note)
    if set(got) == set(want):
        return Check(False, note + "; same ids, different order")
    missing, extra = len(set(want) - set(got)), len(set(got) - set(want))
    first = next(
        (i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b),
        min(len(got), len(want)),
    )
    return Check(
        False,
        note + f"; ids differ from the database: {missing} missing, {extra} extra, "
        f"first difference at #{first} (got {got[first] if first < len(got) else '-'}, "
        f"want {want[first] if first < len(want) else '-'})",
    )


# -- load: wrk --------------------------------------------------------------------


@dataclass
class Load:
    """Throughput and latency of one cell (server or floor, one concurrency)."""

    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    errors: int = 0  # non-2xx, timeouts, socket errors
    note: str = ""
    worker_cpu: list[float] = field(default_factory=list)  # CPU seconds per worker
    worker_conns: list[int] = field(default_factory=list)  # connections per worker mid-run


def require_tool(name: str, hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SystemExit(f"{name} not found: {hint}")
    return path


def ensure_wrk() -> str:
    """wrk on PATH; installed with apt-get when running as root."""
    if shutil.which("wrk") is None and Path("/usr/bin/apt-get").exists():
        if os.geteuid() == 0:
            print("wrk missing: apt-get install -y wrk …")
            subprocess.run(["apt-get", "install", "-y", "wrk"], capture_output=True)
            if shutil.which("wrk") is None:
                subprocess.run(["apt-get", "update"], capture_output=True)
                subprocess.run(["apt-get", "install", "-y", "wrk"], capture_output=True)
    return require_tool("wrk", "install it (Debian/Ubuntu: apt-get install wrk) and run again")


def run_wrk(url: str, connections: int, duration: float, timeout: float) -> Load:
    """wrk with keep-alive, `connections` connections, `duration` seconds; stats from report.lua."""
    threads = 1 if connections == 1 else 2
    argv = [
        "wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration:g}s",
        "--timeout", f"{timeout:g}s", "-s", str(WRK_LUA), url,
    ]  # fmt: skip
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + timeout + 30)
    match = re.search(r"^BENCH_JSON (\{.*\})$", out.stdout, re.M)
    if not match:
        return Load(0, 0, 0, 0, 0, errors=1, note=f"wrk failed: {out.stderr.strip()[:200]}")
    r = json.loads(match.group(1))
    errors = r["status"] + r["timeout"] + r["connect"] + r["read"] + r["write"]
    ok = max(r["requests"] - r["status"], 0)
    seconds = r["duration_us"] / 1e6
    note = []
    if r["status"]:
        note.append(f"{r['status']} non-2xx")
    if r["timeout"]:
        note.append(f"{r['timeout']} timeouts (> {timeout:g} s)")
    if r["connect"] + r["read"] + r["write"]:
        note.append(f"{r['connect'] + r['read'] + r['write']} socket errors")
    if not ok:
        note.append(f"no request completed in {duration:g} s")
    return Load(
        rps=ok / seconds if seconds else 0.0,
        p50_ms=r["p50_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        max_ms=r["max_us"] / 1000,
        requests=r["requests"],
        errors=errors,
        note="; ".join(note),
    )


# -- load: pgbench (the PostGIS floor) ---------------------------------------------


def find_pgbench() -> str:
    """pgbench of the newest installed PostgreSQL (or on PATH)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pgbench"), key=lambda p: int(p.parts[-3])
    )
    if found:
        return str(found[-1])
    return require_tool("pgbench", "install postgresql-client (it ships pgbench) and run again")


def run_pgbench(pgbench: str, dsn: str, sql: str, clients: int, duration: float) -> Load:
    """pgbench -n -c clients -j min(clients, 2) -T duration -f file: tps and per-transaction latency."""
    with tempfile.TemporaryDirectory(prefix="onemap-bench-") as tmp:
        script = Path(tmp) / "floor.sql"
        script.write_text(sql.rstrip().rstrip(";") + ";\n")
        argv = [
            pgbench, "-n", "-c", str(clients), "-j", str(min(clients, 2)),
            "-T", str(max(1, round(duration))), "-f", str(script),
            "-l", "--log-prefix", str(Path(tmp) / "tx"), dsn,
        ]  # fmt: skip
        out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, cwd=tmp)
        tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out.stdout)
        if out.returncode != 0 or not tps:
            return Load(0, 0, 0, 0, 0, errors=1, note=f"pgbench failed: {out.stderr.strip()[:300]}")
        latencies = []
        for log in Path(tmp).glob("tx*"):
            for line in log.read_text().splitlines():
                parts = line.split()
                if len(parts) >= 3:
                    latencies.append(int(parts[2]) / 1000)
    latencies.sort()
    n = len(latencies)
    return Load(
        rps=float(tps.group(1)),
        p50_ms=latencies[n // 2] if n else 0.0,
        p99_ms=latencies[min(n - 1, int(n * 0.99))] if n else 0.0,
        max_ms=latencies[-1] if n else 0.0,
        requests=n,
    )


# -- the TCP_NODELAY trap -------------------------------------------------------------


def _read_response(sock: socket.socket, buf: bytes) -> bytes:
    """Read one HTTP/1.1 response (Content-Length or chunked); returns the leftover bytes."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    headers = head.decode("latin-1").lower()
    m = re.search(r"content-length:\s*(\d+)", headers)
    if m:
        need = int(m.group(1))
        while len(rest) < need:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            rest += chunk
        return rest[need:]
    while b"0\r\n\r\n" not in rest:  # chunked
        chunk = sock.recv(65536)
        if not chunk:
            return b""
        rest += chunk
    return rest.split(b"0\r\n\r\n", 1)[1]


@dataclass
class NoDelay:
    keepalive_ms: float
    fresh_ms: float
    nagle: bool
    path: str = ""

    def describe(self) -> str:
        verdict = "Nagle + delayed ACK (TCP_NODELAY unset)" if self.nagle else "ok"
        return (
            f"`{self.path}`: keep-alive median {self.keepalive_ms:.1f} ms vs new connection "
            f"{self.fresh_ms:.1f} ms: {verdict}"
        )


def nodelay_check(base_url: str, path: str, n: int = 20) -> NoDelay:
    """Median latency of `n` sequential GETs on one keep-alive connection vs fresh connections.

    Without TCP_NODELAY on the server's accepted socket, a response written in
    two pieces (headers, then body) waits for the client's delayed ACK: ~40 ms
    per request on Linux, but only on reused connections (quick-ack covers the
    first exchange of a new one).
    """
    host, port = base_url.removeprefix("http://").split(":")
    req = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: */*\r\n\r\n".encode()
    keep = []
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        buf = b""
        for i in range(n + 2):
            t0 = time.perf_counter()
            sock.sendall(req)
            buf = _read_response(sock, buf)
            if i >= 2:  # the first exchanges warm the worker and the connection
                keep.append((time.perf_counter() - t0) * 1000)
    fresh = []
    close = req.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
    for _ in range(n):
        t0 = time.perf_counter()
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(close)
            _read_response(sock, b"")
        fresh.append((time.perf_counter() - t0) * 1000)
    k, f = statistics.median(keep), statistics.median(fresh)
    return NoDelay(k, f, nagle=k >= 30 and k > 3 * f, path=path)

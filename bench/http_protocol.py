"""Does onemap's coalescing HTTP protocol pay? Stock uvicorn httptools vs `cli/http_protocol.py`.

    .venv/bin/python bench/http_protocol.py [--duration S] [--rounds N] [--body BYTES]

Serves the same minimal ASGI app (one small JSON body, written as uvicorn always
writes: headers, then body) twice on loopback, one uvicorn worker each on uvloop
— once with uvicorn's stock httptools protocol, once with onemap's
`CoalescingHttpToolsProtocol` — and loads each with wrk (keep-alive, 8
connections), alternating for N rounds so drift hits both alike. Prints
requests/s per round, the medians and their ratio: the transport stays only
while the ratio is clearly above 1.
"""

from __future__ import annotations

import argparse
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SERVER = """
import socket, sys
import uvicorn
from gis_server.cli import http_protocol

BODY = b'{"x": "' + b"x" * int(sys.argv[3]) + b'"}'

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": BODY})

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
sock.bind(("127.0.0.1", int(sys.argv[2])))
http = http_protocol.protocol() if sys.argv[1] == "onemap" else "httptools"
config = uvicorn.Config(app, loop="uvloop", http=http, log_level="error", access_log=False)
uvicorn.Server(config).run(sockets=[sock])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start")


def load(port: int, duration: float) -> float:
    argv = ["wrk", "-t2", "-c8", f"-d{duration:g}s", f"http://127.0.0.1:{port}/"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not match:
        raise RuntimeError(f"wrk printed no rate:\n{out}")
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--body", type=int, default=600, help="response body size, bytes")
    args = parser.parse_args()
    servers, rates = {}, {"stock": [], "onemap": []}
    try:
        for name in rates:
            port = free_port()
            argv = [sys.executable, "-c", SERVER, name, str(port), str(args.body)]
            servers[name] = (subprocess.Popen(argv, cwd=ROOT), port)
            wait_listening(port)
        for round_no in range(1, args.rounds + 1):
            for name, (_, port) in servers.items():
                rates[name].append(load(port, args.duration))
            print(
                f"round {round_no}: "
                + ", ".join(f"{n} {r[-1]:,.0f} req/s" for n, r in rates.items())
            )
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(10)
    stock, onemap = (statistics.median(rates[n]) for n in ("stock", "onemap"))
    print(f"median: stock httptools {stock:,.0f} req/s, onemap coalescing {onemap:,.0f} req/s")
    print(f"ratio onemap / stock: {onemap / stock:.2f}")


if __name__ == "__main__":
    main()

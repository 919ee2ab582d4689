"""Console load benchmark: time until every default layer is drawn, against a Leaflet-only baseline.

Starts `onemap serve` on a free loopback port against the dev database (or
--database-url / DATABASE_URL), or uses --url of a running server, then loads
in headless Chromium (system /usr/bin/chromium) N times, each in a fresh
browser context (cold HTTP cache):

  console   /console until window.onemapConsole.ready (all default layers drawn)
  baseline  a blank page on the same origin with only Leaflet (vendored) and an empty map

Times are performance.now() at readiness, i.e. milliseconds since navigation start.
Not a test: numbers depend on the machine; run it when changing the console.

    .venv/bin/python bench/console_load.py --runs 5
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BASELINE_PATH = "/__bench_leaflet_only"
BASELINE_HTML = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/static/console/vendor/leaflet-1.9.4/leaflet.css">
<script src="/static/console/vendor/leaflet-1.9.4/leaflet.js"></script>
<style>html,body,#map{margin:0;height:100%}</style></head>
<body><div id="map"></div><script>
const map = L.map('map').setView([31.95, 121.3], 11);
requestAnimationFrame(() => requestAnimationFrame(() => { window.__ready = performance.now(); }));
</script></body></html>"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def onemap_server(database_url: str | None) -> Iterator[str]:
    """`onemap serve` on a free port; yields its base URL."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, ONEMAP_PUBLIC_URL=base, ONEMAP_PORT=str(port))
    if database_url:
        env["DATABASE_URL"] = database_url
    onemap = Path(sys.executable).parent / "onemap"
    proc = subprocess.Popen(
        [str(onemap), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"onemap serve exited with {proc.returncode}")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("onemap serve did not become healthy in 60 s")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def measure(base: str, runs: int, width: int, height: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {"baseline": [], "console": []}
    timings: list[dict[str, int]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ.get("ONEMAP_CHROMIUM", "/usr/bin/chromium"),
            args=CHROMIUM_ARGS,
        )
        for _ in range(runs):
            ctx = browser.new_context(viewport={"width": width, "height": height})
            page = ctx.new_page()
            page.route(
                base + BASELINE_PATH,
                lambda r: r.fulfill(body=BASELINE_HTML, content_type="text/html"),
            )
            page.goto(base + BASELINE_PATH)
            page.wait_for_function("window.__ready !== undefined")
            results["baseline"].append(page.evaluate("window.__ready"))
            ctx.close()

            ctx = browser.new_context(viewport={"width": width, "height": height})
            page = ctx.new_page()
            page.goto(base + "/console")
            page.wait_for_function(
                "window.onemapConsole && window.onemapConsole.ready", timeout=120_000
            )
            stats = page.evaluate("window.onemapConsole.stats()")
            results["console"].append(stats["readyMs"])
            timings.append(stats["timings"])
            ctx.close()
        browser.close()
    results["layers"] = timings  # type: ignore[assignment]
    return results


def report(results: dict, runs: int) -> None:
    def line(name: str, xs: list[float]) -> str:
        return (
            f"{name:<9} median {statistics.median(xs):7.0f} ms   min {min(xs):7.0f}   max {max(xs):7.0f}"
            f"   (n={len(xs)})"
        )

    print(line("baseline", results["baseline"]))
    print(line("console", results["console"]))
    extra = statistics.median(results["console"]) - statistics.median(results["baseline"])
    print(f"console - baseline: {extra:.0f} ms (median)")
    layers = results["layers"]
    if layers:
        print("per layer, ms from start-up to drawn (median):")
        for name in sorted(layers[0]):
            print(f"  {name:<20} {statistics.median(t.get(name, 0) for t in layers):6.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--url", help="base URL of a running onemap server (else one is started)")
    ap.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="database for the started server (default: settings / dev database)",
    )
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    args = ap.parse_args()
    if args.url:
        report(measure(args.url.rstrip("/"), args.runs, args.width, args.height), args.runs)
        return
    with onemap_server(args.database_url) as base:
        report(measure(base, args.runs, args.width, args.height), args.runs)


if __name__ == "__main__":
    main()

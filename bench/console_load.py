"""Console load benchmark: time until every default layer is drawn, against a Leaflet-only baseline.

Starts `onemap serve` on a free loopback port against the dev database (or
--database-url / DATABASE_URL), or uses --url of a running server, then loads
in headless Chromium (system /usr/bin/chromium) N times, each in a fresh
browser context (cold HTTP cache):

  console   /console until window.onemapConsole.ready (all default layers drawn)
  baseline  a blank page on the same origin with only Leaflet (vendored) and an empty map

Times are performance.now() at readiness, i.e. milliseconds since navigation start;
bytes are what went over the wire (Chrome DevTools `encodedDataLength`, gzip
included) until then, and requests are counted the same way.
Not a test: numbers depend on the machine; run it when changing the console.

    .venv/bin/python bench/console_load.py --runs 5

Before/after (issue 16: cameras and events from vector tiles instead of one big
GeoJSON): run a server of each checkout on the same database and compare; with
--write-section the `console` section of bench/RESULTS.md is rewritten:

    .venv/bin/python bench/console_load.py --runs 5 \
        --target before=http://127.0.0.1:8001 --target after=http://127.0.0.1:8002 \
        --write-section
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


def _network(ctx, page) -> dict[str, float]:
    """Bytes and requests the page has moved so far (a live dict, filled by DevTools)."""
    seen = {"bytes": 0.0, "requests": 0}
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")

    def done(event: dict) -> None:
        seen["bytes"] += event.get("encodedDataLength", 0)
        seen["requests"] += 1

    cdp.on("Network.loadingFinished", done)
    return seen


def measure(base: str, runs: int, width: int, height: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {"baseline": [], "console": [], "bytes": [], "requests": []}
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
            seen = _network(ctx, page)
            page.goto(base + "/console")
            page.wait_for_function(
                "window.onemapConsole && window.onemapConsole.ready", timeout=120_000
            )
            stats = page.evaluate("window.onemapConsole.stats()")
            results["console"].append(stats["readyMs"])
            results["bytes"].append(seen["bytes"])
            results["requests"].append(seen["requests"])
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
    print(f"bytes     median {statistics.median(results['bytes']) / 1024:7.0f} KiB, requests "
          f"{statistics.median(results['requests']):.0f}")  # fmt: skip
    extra = statistics.median(results["console"]) - statistics.median(results["baseline"])
    print(f"console - baseline: {extra:.0f} ms (median)")
    layers = results["layers"]
    if layers:
        print("per layer, ms from start-up to drawn (median):")
        for name in sorted(layers[0]):
            print(f"  {name:<20} {statistics.median(t.get(name, 0) for t in layers):6.0f}")


def _med(xs: list[float]) -> float:
    return statistics.median(xs)


def section(named: dict[str, dict], runs: int, note: str) -> str:
    """The `console` section of RESULTS.md: each target's medians, and after / before."""
    names = list(named)
    layers = ("cameras", "events")
    rows = [
        "| target | cameras+events drawn ms | ready ms | cameras ms | events ms | bytes (KiB) "
        "| requests | baseline ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    figures = {}
    for name, r in named.items():
        per = {layer: _med([t.get(layer, 0) for t in r["layers"]]) for layer in layers}
        both = _med([max(t.get(layer, 0) for layer in layers) for t in r["layers"]])
        figures[name] = {"both": both, "ready": _med(r["console"]), **per,
                         "bytes": _med(r["bytes"]), "requests": _med(r["requests"])}  # fmt: skip
        f = figures[name]
        rows.append(
            f"| {name} | {f['both']:.0f} | {f['ready']:.0f} | {f['cameras']:.0f} | {f['events']:.0f} | "
            f"{f['bytes'] / 1024:.0f} | {f['requests']:.0f} | {_med(r['baseline']):.0f} |"
        )
    if len(names) == 2:
        a, b = (figures[n] for n in names)
        ratio = " | ".join(f"{b[k] / a[k]:.2f}" if a[k] else "–" for k in
                           ("both", "ready", "cameras", "events", "bytes", "requests"))  # fmt: skip
        rows.append(f"| {names[1]} / {names[0]} | {ratio} | |")
    return "\n".join(
        [
            "## Console load (bench/console_load.py)",
            "",
            f"Headless Chromium, 1920×1080, cold cache (a fresh browser context per run), "
            f"median of {runs} runs. *cameras+events drawn*: both large layers drawn (ms from "
            "start-up, the later of the two per run); *ready*: every default layer and the "
            "figures panel drawn (ms since navigation); *cameras*/*events*: that layer from "
            "start-up to drawn; *bytes*: over the wire "
            "until ready (DevTools encodedDataLength); *baseline*: a Leaflet-only page.",
            "",
            note,
            "",
            *rows,
        ]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--url", help="base URL of a running onemap server (else one is started)")
    ap.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="a running server to measure, by name (repeat: before=… after=…)",
    )
    ap.add_argument(
        "--write-section", action="store_true", help="rewrite bench/RESULTS.md's console section"
    )
    ap.add_argument("--note", default="", help="a line for the section (data, machine load)")
    ap.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="database for the started server (default: settings / dev database)",
    )
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    args = ap.parse_args()
    if args.target:
        named = {}
        for target in args.target:
            name, _, url = target.partition("=")
            print(f"== {name} ({url})")
            named[name] = measure(url.rstrip("/"), args.runs, args.width, args.height)
            report(named[name], args.runs)
        text = section(named, args.runs, args.note)
        print(text)
        if args.write_section:
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from results import write_section

            write_section("console", text)
        return
    if args.url:
        report(measure(args.url.rstrip("/"), args.runs, args.width, args.height), args.runs)
        return
    with onemap_server(args.database_url) as base:
        report(measure(base, args.runs, args.width, args.height), args.runs)


if __name__ == "__main__":
    main()

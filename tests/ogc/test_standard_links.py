"""Every link onemap emits resolves, walked as a crawler would.

From the landing page the crawl follows same-origin hrefs (templated ones, with `{`,
are skipped), fetching each once. The documents that describe the API — landing
page, conformance, collections, each collection, its first items page, queryables,
tiles metadata, tile matrix sets, processes — are read for more links; every other
page (HTML, JSON-LD, the next page, a feature, the OpenAPI document) is only
fetched. Each must answer 2xx (204: an empty tile).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.ogc.conftest import local

# Paths (under /ogc) whose JSON documents are read for links.
_EXPANDED = re.compile(
    r"^/ogc/?$|^/ogc/conformance$|^/ogc/collections(/[^/]+(/items|/queryables|/tiles(/[^/]+)?)?)?$"
    r"|^/ogc/tileMatrixSets(/[^/]+)?$|^/ogc/processes(/[^/]+)?$"
)


def _hrefs(doc: Any) -> Iterator[str]:
    """Every `href` in a JSON document, however deeply nested (collections, tilesets …)."""
    if isinstance(doc, dict):
        href = doc.get("href")
        if isinstance(href, str):
            yield href
        for value in doc.values():
            yield from _hrefs(value)
    elif isinstance(doc, list):
        for value in doc:
            yield from _hrefs(value)


def _expand(url: str) -> bool:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if query.get("f", ["json"]) != ["json"] or set(query) - {"f"}:
        return False  # other formats, and pages past the first, are fetched, not read
    return bool(_EXPANDED.match(parts.path))


def test_every_emitted_link_resolves(client, ogc_settings):
    origin = ogc_settings.server.public_url
    todo, seen, failed = deque(["/ogc?f=json"]), {"/ogc?f=json"}, []
    while todo:
        url = todo.popleft()
        r = client.get(url)
        if not 200 <= r.status_code < 300:
            failed.append(f"{url} → {r.status_code} {r.text[:120]}")
            continue
        if not _expand(url):
            continue
        for href in _hrefs(r.json()):
            if "{" in href or not href.startswith(origin + "/"):
                continue
            target = local(href)
            if target not in seen:
                seen.add(target)
                todo.append(target)
    assert not failed, "\n".join(failed)
    assert len(seen) > 50  # the crawl reached the collections, not just the landing page
    assert "/ogc/tileMatrixSets?f=json" in seen


def test_landing_page_tiling_schemes_link_is_onemaps(client, ogc_settings):
    links = client.get("/ogc", params={"f": "json"}).json()["links"]
    schemes = [link["href"] for link in links if link["rel"].endswith("/tiling-schemes")]
    assert schemes == [f"{ogc_settings.server.public_url}/ogc/tileMatrixSets?f=json"]
    assert client.get(local(schemes[0])).json()["tileMatrixSets"]


def test_items_csv_link_answers_csv(client, sql):
    """pygeoapi links every items page as CSV; the front check lets `f=csv` through to it."""
    r = client.get("/ogc/collections/cameras/items", params={"f": "csv", "limit": 3})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    rows = r.text.strip().splitlines()
    assert rows[0].split(",")[0] == "code" and len(rows) == 4

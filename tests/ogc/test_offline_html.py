"""pygeoapi's HTML pages under /ogc load nothing but onemap's own URLs (intranets have no internet)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

from gis_server.ogc import templates

# <a href> may point at documentation (never loaded by the browser): these hosts only.
NAVIGATION_HOSTS = {"pygeoapi.io", "www.opengis.net", "schema.org"}
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
_URL_IN_SCRIPT = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s"'<>)]*""")


class _Refs(HTMLParser):
    """Every (tag, attribute, value) that names a URL, plus inline script text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str, str]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "data", "srcset", "poster", "action") and value:
                self.refs.append((tag, name, value))
            if name == "style" and value and "url(" in value:
                self.refs.append((tag, name, value))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def foreign_refs(html: str, local_hosts: set[str]) -> list[str]:
    """What the page would load (or link to, outside the doc hosts) from a non-local host."""
    parser = _Refs()
    parser.feed(html)
    bad = []
    for tag, attr, value in parser.refs:
        host = urlsplit(value.strip()).hostname
        if host is None or host in local_hosts:
            continue
        if tag == "a" and attr == "href" and host in NAVIGATION_HOSTS:
            continue
        bad.append(f"<{tag} {attr}={value}>")
    for script in parser.scripts:
        for url in _URL_IN_SCRIPT.findall(script):
            host = urlsplit(url if "://" in url else "http:" + url).hostname
            if host not in local_hosts:
                bad.append(f"<script> … {url}")
    return bad


def loaded_local_paths(html: str, page_url: str) -> set[str]:
    """Paths of the scripts, stylesheets, icons and images the page loads from onemap."""
    parser = _Refs()
    parser.feed(html)
    return {
        urlsplit(urljoin(page_url, value)).path
        for tag, attr, value in parser.refs
        if (tag, attr) in {("script", "src"), ("link", "href"), ("img", "src")}
        and urlsplit(urljoin(page_url, value)).path.startswith(("/ogc/vendor/", "/ogc/static/"))
    }


@pytest.fixture(scope="module")
def local_hosts(ogc_settings) -> set[str]:
    return {urlsplit(ogc_settings.server.public_url).hostname, "testserver"}


@pytest.fixture(scope="module")
def pages(client, sql) -> dict[str, str]:
    """Every HTML page of the OGC API, rendered by the app."""
    code = sql("SELECT code FROM grids WHERE valid_to IS NULL ORDER BY code LIMIT 1")[0][0]
    urls = [
        "/ogc?f=html",
        "/ogc/conformance?f=html",
        "/ogc/collections?f=html",
        "/ogc/collections/grids?f=html",
        "/ogc/collections/cameras?f=html",
        "/ogc/collections/grids/items?f=html",
        "/ogc/collections/cameras/items?f=html&limit=50",
        f"/ogc/collections/grids/items/{code}?f=html",
        "/ogc/collections/grids/queryables?f=html",
        "/ogc/collections/grids/schema?f=html",
        "/ogc/openapi?f=html",
        "/ogc/openapi?f=html&ui=redoc",
    ]
    out = {}
    for url in urls:
        r = client.get(url)
        assert r.status_code == 200, (url, r.text[:300])
        assert r.headers["content-type"].startswith("text/html"), url
        out[url] = r.text
    return out


def test_pages_load_nothing_from_other_hosts(pages, local_hosts):
    for url, html in pages.items():
        assert foreign_refs(html, local_hosts) == [], url


def test_maps_and_swagger_use_the_vendored_copies(pages, ogc_settings):
    items = pages["/ogc/collections/grids/items?f=html"]
    assert "/ogc/vendor/leaflet-1.9.4/leaflet.js" in items
    assert "/ogc/vendor/leaflet.markercluster-1.5.3/leaflet.markercluster.js" in items
    # the basemap: onemap's blank tiles (no console.basemaps in the test settings)
    assert f"{ogc_settings.server.public_url}/ogc/basemap/{{z}}/{{x}}/{{y}}.png" in items
    swagger = pages["/ogc/openapi?f=html"]
    assert "/ogc/vendor/swagger-ui-dist-5.35.0/swagger-ui-bundle.js" in swagger
    assert "validatorUrl: null" in swagger  # else Swagger UI loads a badge from swagger.io
    assert "onemap has no HTML view" in pages["/ogc/openapi?f=html&ui=redoc"]


def test_pages_keep_their_chinese_titles(pages):
    assert "网格" in pages["/ogc/collections?f=html"]


def test_everything_the_pages_load_is_served(client, pages):
    paths = set()
    for url, html in pages.items():
        paths |= loaded_local_paths(html, "http://testserver" + url)
    assert "/ogc/vendor/bootstrap-5.1.3/bootstrap.min.css" in paths
    assert "/ogc/vendor/swagger-ui-dist-5.35.0/swagger-ui.css" in paths
    for path in sorted(paths):
        r = client.get(path)
        assert r.status_code == 200 and r.content, path
    tile = client.get("/ogc/basemap/12/3425/1660.png")
    assert tile.status_code == 200 and tile.content.startswith(b"\x89PNG")


def test_tiles_and_processes_answer_json_not_html(client):
    """onemap's tiles/processes routes are its own and JSON-only: no HTML page to load from a CDN."""
    assert client.get("/ogc/collections/grids/tiles?f=html").status_code == 400
    r = client.get("/ogc/processes?f=html")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")


def test_every_rewritten_template_is_offline_and_complete():
    out = templates.templates_dir()
    originals = {
        p.relative_to(templates.PYGEOAPI_TEMPLATES).as_posix()
        for p in templates.PYGEOAPI_TEMPLATES.rglob("*")
        if p.is_file()
    }
    ours = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert ours == originals  # a missing file would fall back to pygeoapi's CDN original
    for name in ours:
        assert templates.external_urls((out / name).read_text("utf-8")) == [], name


def test_rewrite_fails_loudly_on_an_unmapped_cdn_url():
    page = '<script src="https://unpkg.com/some-new-lib@1.0/lib.js"></script>'
    with pytest.raises(templates.TemplateRewriteError, match="unpkg.com/some-new-lib"):
        templates.rewrite("collections/new.html", page)
    with pytest.raises(templates.TemplateRewriteError, match="validatorUrl|dom_id"):
        templates.rewrite("openapi/swagger.html", "<html>no swagger call</html>")


# -- a real browser ----------------------------------------------------------------


def test_chromium_loads_the_items_page_from_onemap_only(browser, live_server):
    page = browser.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{live_server}/ogc/collections/grids/items?f=html", wait_until="networkidle")
        # the map drew the grids (Leaflet and markercluster came from onemap)
        page.wait_for_function(
            "document.querySelectorAll('#items-map path.leaflet-interactive').length > 0",
            timeout=30_000,
        )
        page.wait_for_load_state("networkidle")
    finally:
        page.close()
    foreign = [
        u
        for u in requests
        if urlsplit(u).scheme in ("http", "https", "ws", "wss")
        and urlsplit(u).hostname not in LOOPBACK
    ]
    assert foreign == []
    assert errors == []
    assert any("/ogc/vendor/leaflet-1.9.4/leaflet.js" in u for u in requests)
    assert any("/ogc/basemap/" in u for u in requests)  # the basemap tiles are onemap's

"""pygeoapi's HTML templates, rewritten so every page loads only onemap's own URLs.

pygeoapi 0.24's Jinja templates load Leaflet, markercluster, Bootstrap and
Swagger UI from unpkg/cdnjs; a command centre's intranet has no internet. At
start-up the installed templates are copied (so a pygeoapi upgrade is picked up,
not shadowed by a stale fork) with an explicit URL map onto the files vendored
under `map_ui/static/vendor/` (served at `/ogc/vendor/`). Templates of views
onemap does not serve (EDR, CoverageJSON maps, AsyncAPI, ReDoc, pygeoapi's tile
viewer) become a plain page of links instead of a page whose scripts are missing.
Anything left that looks like an external URL and is not a hyperlink/namespace
the browser never loads stops the build (`TemplateRewriteError`), so an upgrade
that adds a CDN script fails loudly in tests instead of silently going online.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

import pygeoapi

from gis_server.settings import PROJECT_DIR

LOGGER = logging.getLogger(__name__)

PYGEOAPI_TEMPLATES = Path(pygeoapi.__file__).parent / "templates"
PYGEOAPI_STATIC = Path(pygeoapi.__file__).parent / "static"
OUT_DIR = PROJECT_DIR / "var" / "ogc_templates"

_V = "{{ config['server']['url'] }}/vendor"  # resolved when pygeoapi renders the page
_LEAFLET_CSS = f"{_V}/leaflet-1.9.4/leaflet.css"
_LEAFLET_JS = f"{_V}/leaflet-1.9.4/leaflet.js"
_CLUSTER = f"{_V}/leaflet.markercluster-1.5.3"
_SWAGGER = f"{_V}/swagger-ui-dist-5.35.0"

# CDN URL (exactly as pygeoapi writes it) → onemap's vendored copy.
URL_MAP: dict[str, str] = {
    "https://unpkg.com/bootstrap@5.1.3/dist/css/bootstrap.min.css": (
        f"{_V}/bootstrap-5.1.3/bootstrap.min.css"
    ),
    "https://unpkg.com/leaflet@1.3.1/dist/leaflet.css": _LEAFLET_CSS,
    "https://unpkg.com/leaflet@1.3.1/dist/leaflet.js": _LEAFLET_JS,
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet/1.3.1/leaflet.js": _LEAFLET_JS,
    "https://unpkg.com/leaflet.markercluster/dist/MarkerCluster.css": f"{_CLUSTER}/MarkerCluster.css",
    "https://unpkg.com/leaflet.markercluster/dist/MarkerCluster.Default.css": (
        f"{_CLUSTER}/MarkerCluster.Default.css"
    ),
    "https://unpkg.com/leaflet.markercluster/dist/leaflet.markercluster-src.js": (
        f"{_CLUSTER}/leaflet.markercluster.js"
    ),
    "https://unpkg.com/swagger-ui-dist/swagger-ui.css": f"{_SWAGGER}/swagger-ui.css",
    "https://unpkg.com/swagger-ui-dist/favicon-32x32.png": f"{_SWAGGER}/favicon-32x32.png",
    "https://unpkg.com/swagger-ui-dist/favicon-16x16.png": f"{_SWAGGER}/favicon-16x16.png",
    "https://unpkg.com/swagger-ui-dist/swagger-ui-bundle.js": f"{_SWAGGER}/swagger-ui-bundle.js",
    "https://unpkg.com/swagger-ui-dist/swagger-ui-standalone-preset.js": (
        f"{_SWAGGER}/swagger-ui-standalone-preset.js"
    ),
}

# Tags removed outright: features onemap has no use for (IE8 shim, drawing a
# bbox on *record* collections, OGC API - Maps overlays; onemap has neither).
DROP: tuple[str, ...] = (
    "https://cdnjs.cloudflare.com/ajax/libs/html5shiv/3.7.3/html5shiv.js",
    "https://unpkg.com/leaflet-draw@1.0.4/dist/leaflet.draw.css",
    "https://unpkg.com/leaflet-draw@1.0.4/dist/leaflet.draw.js",
    "https://unpkg.com/leaflet-imageoverlay-ogcapi@0.1.0/Leaflet.ImageOverlay.OGCAPI.js",
)

# Exact text edits per template; each must match (else the build fails).
EDITS: dict[str, tuple[tuple[str, str], ...]] = {
    # Swagger UI otherwise shows a badge <img> from validator.swagger.io.
    "openapi/swagger.html": (
        ("dom_id: '#swagger-ui',", "dom_id: '#swagger-ui',\n        validatorUrl: null,"),
    ),
}

_STUB = """{%% extends "_base.html" %%}
{%% block body %%}
<section id="onemap-offline">
  <p>onemap 不提供此页面的网页视图 — onemap has no HTML view of this page.</p>
  <ul>%s</ul>
</section>
{%% endblock %%}
"""


def _stub(*links: tuple[str, str]) -> str:
    return _STUB % "".join(f'<li><a href="{href}">{label}</a></li>' for label, href in links)


_JSON = ("JSON", "?f=json")
# Views whose viewers (covjson-reader, leaflet-coverage, d3/c3, VectorGrid,
# AsyncAPI, ReDoc) are not vendored: onemap serves their data, not the viewer.
STUBS: dict[str, str] = {
    "collections/coverage/index.html": _stub(("GeoTIFF", "?f=GTiff"), ("CoverageJSON", "?f=json")),
    "collections/edr/instance.html": _stub(_JSON),
    "collections/edr/instances.html": _stub(_JSON),
    "collections/edr/query.html": _stub(_JSON),
    "collections/tiles/index.html": _stub(_JSON),
    "asyncapi.html": _stub(_JSON),
    "openapi/redoc.html": _stub(("Swagger UI", "?f=html"), ("OpenAPI JSON", "?f=json")),
}

# URLs that may stay: hyperlinks and vocabulary/namespace identifiers the browser
# never fetches (itemtype, JSON-LD @context terms, link relation types).
ALLOWED_PREFIXES: tuple[str, ...] = (
    "https://pygeoapi.io",
    "https://schema.org/",
    "http://www.opengis.net/def/",
)
_URL = re.compile(r"""(?:https?:)?//[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+[^\s"'<>)]*""")


class TemplateRewriteError(RuntimeError):
    """A pygeoapi template still refers to an external URL after the rewrite."""


def _drop_tag(text: str, url: str) -> str:
    tag = re.compile(
        r"<(?:script|link)\b[^>]*\b(?:src|href)=[\"']" + re.escape(url) + r"[\"'][^>]*>"
        r"(?:\s*</script>)?"
    )
    return tag.sub("", text)


def external_urls(text: str) -> list[str]:
    """External-looking URLs in `text` that are not in ALLOWED_PREFIXES."""
    return [u for u in _URL.findall(text) if not u.startswith(ALLOWED_PREFIXES)]


def rewrite(name: str, text: str) -> str:
    """One template (path relative to the templates dir) rewritten; raises if still external."""
    if name in STUBS:
        return STUBS[name]
    for url in DROP:
        text = _drop_tag(text, url)
    for url, local in URL_MAP.items():
        text = text.replace(url, local)
    for old, new in EDITS.get(name, ()):
        if old not in text:
            raise TemplateRewriteError(f"{name}: expected text {old!r} not found")
        text = text.replace(old, new)
    left = external_urls(text)
    if left:
        raise TemplateRewriteError(f"{name}: external URL(s) left after rewrite: {left}")
    return text


def rewritten(source: Path = PYGEOAPI_TEMPLATES) -> dict[str, str]:
    """Every template under `source`, rewritten, keyed by relative path."""
    out: dict[str, str] = {}
    for path in sorted(source.rglob("*")):
        if path.is_file():
            name = path.relative_to(source).as_posix()
            out[name] = rewrite(name, path.read_text("utf-8"))
    missing = set(STUBS) - set(out)
    if missing:
        LOGGER.warning("pygeoapi templates no longer present: %s", sorted(missing))
    return out


def _write(files: dict[str, str], target: Path) -> None:
    for name, text in files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")


@functools.cache
def templates_dir() -> Path:
    """The rewritten templates on disk (once per process), named by a digest of their content.

    A complete copy is required: pygeoapi falls back to its own (CDN) templates
    for any file missing here. Written to a temporary sibling and renamed, so
    several workers starting at once never see a half-written directory.
    """
    files = rewritten()
    digest = hashlib.sha256()
    for name, text in sorted(files.items()):
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    target = OUT_DIR / f"pygeoapi-{pygeoapi.__version__}-{digest.hexdigest()[:12]}"
    if target.is_dir():
        return target
    try:
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=OUT_DIR, prefix=".staging-"))
    except OSError:  # read-only install: a private copy for this process
        target = Path(tempfile.mkdtemp(prefix="onemap-ogc-templates-"))
        _write(files, target)
        return target
    _write(files, staging)
    try:
        os.rename(staging, target)
    except OSError:  # another worker renamed first; its copy is identical
        shutil.rmtree(staging, ignore_errors=True)
    return target

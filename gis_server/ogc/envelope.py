"""What pygeoapi writes around features, written byte for byte by onemap's fast GeoJSON paths.

The Features themselves come from PostGIS as text; this module writes the
FeatureCollection envelope, the links exactly as pygeoapi's
get_collection_items/get_collection_item write them (plus `cursor` on the
next link) and the response headers, so a client cannot tell the paths apart.
"""

from __future__ import annotations

import json
import urllib.parse
from datetime import UTC, datetime

import pygeoapi
from pygeoapi.api import API
from pygeoapi.util import get_dataset_formatters

from gis_server.ogc.crs import Crs
from gis_server.ogc.items_page import Page
from gis_server.ogc.query import ItemsQuery

_POWERED_BY = f"pygeoapi {pygeoapi.__version__}"
_FC_HEAD = b'{"type": "FeatureCollection", "features": ['
_FORMATTERS: dict[tuple[int, str], dict[str, tuple[str, str]]] = {}

Link = dict[str, str]


def feature_collection(page: Page, links: bytes) -> bytes:
    parts = [_FC_HEAD, page.features, b'], "numberReturned": ', str(page.returned).encode()]
    if page.matched is not None:
        parts += [b', "numberMatched": ', str(page.matched).encode()]
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    parts += [b', "links": ', links, b', "timeStamp": "', stamp.encode(), b'"}']
    return b"".join(parts)


def feature_with_links(feature: bytes, links: list[Link]) -> bytes:
    """A Feature's text with `links` as its last member."""
    encoded = json.dumps(links, ensure_ascii=False).encode()
    return feature[: feature.rindex(b"}")] + b', "links": ' + encoded + b"}"


def json_headers(crs: Crs, language: str) -> dict[str, str]:
    return {
        "Content-Type": "application/geo+json",
        "Content-Crs": f"<{crs.uri}>",
        "Content-Language": language,
        "X-Powered-By": _POWERED_BY,
    }


def items_links(api: API, cid: str, q: ItemsQuery, page: Page) -> bytes:
    """pygeoapi's get_collection_items links, plus `cursor` on the next link."""
    ser = "".join(
        f"&{urllib.parse.quote(k, safe='')}={urllib.parse.quote(str(v), safe=',')}"
        for k, v in q.args.items()
        if k not in ("f", "offset", "cursor")
    )
    uri = f"{api.get_collections_url()}/{cid}/items"
    links = _alternate_links(api, cid, uri, ser)
    links += _paging_links(uri, ser, "f" in q.args, q, page)
    links.append(
        {
            "type": "application/json",
            "title": api.config["resources"][cid]["title"],
            "rel": "collection",
            "href": f"{api.get_collections_url()}/{cid}",
        }
    )
    return json.dumps(links, ensure_ascii=False).encode()


def _alternate_links(api: API, cid: str, uri: str, ser: str) -> list[Link]:
    """This page as GeoJSON (self), JSON-LD, HTML and the collection's extra formats."""
    links: list[Link] = [
        {
            "type": "application/geo+json",
            "rel": "self",
            "title": "This document as GeoJSON",
            "href": f"{uri}?f=json{ser}",
        },
        {
            "rel": "alternate",
            "type": "application/ld+json",
            "title": "This document as RDF (JSON-LD)",
            "href": f"{uri}?f=jsonld{ser}",
        },
        {
            "type": "text/html",
            "rel": "alternate",
            "title": "This document as HTML",
            "href": f"{uri}?f=html{ser}",
        },
    ]
    for key, value in _formatters(api, cid).items():
        links.append(
            {
                "type": value[1],
                "rel": "alternate",
                "title": f"This document as {key}",
                "href": f"{uri}?f={value[0]}{ser}",
            }
        )
    return links


def _paging_links(uri: str, ser: str, has_f: bool, q: ItemsQuery, page: Page) -> list[Link]:
    """prev and next as pygeoapi writes them (f=json kept only if the request had `f`)."""
    fprefix = "f=json&" if has_f else ""
    links: list[Link] = []
    if q.offset > 0:
        prev = max(0, q.offset - q.limit)
        links.append(
            {
                "type": "application/geo+json",
                "rel": "prev",
                "title": "Items (prev)",
                "href": f"{uri}?{fprefix}offset={prev}{ser}",
            }
        )
    matched = page.matched
    if (matched is not None and matched > q.limit + q.offset) or page.returned == q.limit:
        href = f"{uri}?{fprefix}offset={q.offset + q.limit}{ser}"
        if page.next_cursor is not None:
            href += f"&cursor={page.next_cursor}"
        links.append(
            {
                "type": "application/geo+json",
                "rel": "next",
                "title": "Items (next)",
                "href": href,
            }
        )
    return links


def _formatters(api: API, cid: str) -> dict[str, tuple[str, str]]:
    """The collection's extra output formats (CSV), as pygeoapi lists them."""
    key = (id(api), cid)
    if key not in _FORMATTERS:
        found = get_dataset_formatters(api.config["resources"][cid])
        _FORMATTERS[key] = {k: (v.name, v.mimetype) for k, v in found.items()}
    return _FORMATTERS[key]


def feature_links(api: API, cid: str, identifier: str) -> list[Link]:
    """pygeoapi's get_collection_item links (onemap features have no prev/next)."""
    collections = api.get_collections_url()
    uri = f"{collections}/{cid}/items/{identifier}"
    return [
        {
            "type": "application/json",
            "rel": "root",
            "title": "The landing page of this server as JSON",
            "href": f"{api.base_url}?f=json",
        },
        {
            "type": "text/html",
            "rel": "root",
            "title": "The landing page of this server as HTML",
            "href": f"{api.base_url}?f=html",
        },
        {
            "rel": "self",
            "type": "application/geo+json",
            "title": "This document as JSON",
            "href": f"{uri}?f=json",
        },
        {
            "rel": "alternate",
            "type": "application/ld+json",
            "title": "This document as RDF (JSON-LD)",
            "href": f"{uri}?f=jsonld",
        },
        {
            "rel": "alternate",
            "type": "text/html",
            "title": "This document as HTML",
            "href": f"{uri}?f=html",
        },
        {
            "rel": "collection",
            "type": "application/json",
            "title": api.config["resources"][cid]["title"],
            "href": f"{collections}/{cid}",
        },
    ]

"""The pygeoapi configuration, built in code from settings and the layer registry.

No YAML file and no environment: one dict per app, so several apps (tests, the
server) can coexist in one process. Extra tables from settings.collections are
introspected here, once.
"""

from __future__ import annotations

from typing import Any

import psycopg

from gis_server.ogc import crs, offline, templates
from gis_server.ogc.language import LANGUAGES
from gis_server.ogc.provider import Database
from gis_server.ogc.source import Source, as_layer, from_extra, from_layer, key_columns
from gis_server.ogc.tiles.metadata import REL_TILESETS
from gis_server.settings import Settings
from layers.base import LayerSpec
from layers.registry import LAYERS

PROVIDER = "gis_server.ogc.provider.OnemapProvider"


def build_sources(settings: Settings, conn: psycopg.Connection) -> list[Source]:
    """Registry layers that `builtin_layers` keeps (with their primary keys as paging
    tie-breakers), then extra tables."""
    sources = [
        from_layer(layer, key_columns(conn, layer.table), settings.feed.offline_after_s)
        for layer in LAYERS
        if settings.builtin_enabled(layer.id)
    ]
    sources += [from_extra(conn, extra) for extra in settings.collections]
    return sources


def published_layers(settings: Settings, sources: list[Source]) -> list[LayerSpec]:
    """The LayerSpecs of what is published: kept built-in layers, then config collections."""
    layers = {layer.id: layer for layer in LAYERS}
    extras = {extra.id: extra for extra in settings.collections}
    return [layers[s.id] if s.id in layers else as_layer(s, extras[s.id]) for s in sources]


def _bilingual(zh: str, en: str) -> str:
    return zh if zh == en or not en else f"{zh} {en}"


def _metadata(settings: Settings) -> dict[str, Any]:
    ogc = settings.ogc
    return {
        "identification": {
            "title": _bilingual(ogc.title, ogc.title_en),
            "description": ogc.description or _bilingual(ogc.title, ogc.title_en),
            "keywords": ["一张图", "onemap", "OGC API", settings.district.name],
            "keywords_type": "theme",
            "terms_of_service": "",
            "url": settings.server.public_url,
        },
        "license": {"name": "", "url": ""},
        "provider": {"name": ogc.contact.name or "onemap", "url": settings.server.public_url},
        "contact": {
            "name": ogc.contact.name,
            "position": "",
            "address": "",
            "city": "",
            "stateorprovince": "",
            "postalcode": "",
            "country": "China",
            "phone": "",
            "fax": "",
            "email": ogc.contact.email,
            "url": settings.server.public_url,
            "hours": "",
            "instructions": "",
            "role": "pointOfContact",
        },
    }


def _resource(
    source: Source, settings: Settings, database: Database, description: str, keywords: list[str]
) -> dict[str, Any]:
    extents: dict[str, Any] = {
        "spatial": {"bbox": list(settings.district.extent), "crs": crs.CRS84.uri}
    }
    if source.temporal:
        extents["temporal"] = {"begin": None, "end": None}
    return {
        "type": "collection",
        "title": source.title,
        "description": description,
        "keywords": keywords,
        "extents": extents,
        "links": [  # OGC API - Tiles (ogc/tiles/, onemap's own routes)
            {
                "type": "application/json",
                "rel": REL_TILESETS,
                "title": "矢量瓦片 Vector tiles (MVT)",
                "href": f"{settings.server.public_url}/ogc/collections/{source.id}/tiles?f=json",
            }
        ],
        "providers": [
            {
                "type": "feature",
                "name": PROVIDER,
                "data": {"source": source, "database": database},
                "id_field": source.id_column,
                "time_field": source.time_start,
                "geom_field": source.geometry_column,
                "storage_crs": crs.CRS84.uri,
                "crs": list(crs.SUPPORTED_URIS),
            }
        ],
    }


def build_config(settings: Settings, sources: list[Source]) -> dict[str, Any]:
    """A complete pygeoapi config dict; server url = public_url + /ogc."""
    database = Database(settings.database.dsn, settings.database.pool_size)
    layers = {layer.id: layer for layer in LAYERS}
    extras = {extra.id: extra for extra in settings.collections}
    resources: dict[str, Any] = {}
    for source in sources:
        if source.id in layers:
            layer = layers[source.id]
            resources[source.id] = _resource(
                source, settings, database, layer.description, list(layer.keywords)
            )
        else:
            extra = extras[source.id]
            resources[source.id] = _resource(
                source, settings, database, extra.description or source.title, [source.id]
            )
    return {
        "server": {
            "bind": {"host": settings.server.host, "port": settings.server.port},
            "url": settings.server.public_url + "/ogc",
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": list(LANGUAGES),
            "limits": {
                "default_items": settings.ogc.default_limit,
                "max_items": settings.ogc.max_limit,
                "on_exceed": "throttle",
            },
            # Offline: the HTML pages load only onemap's URLs (ogc/templates.py, ogc/offline.py).
            "map": offline.map_config(settings),
            "templates": {
                "path": str(templates.templates_dir()),
                "static": str(templates.PYGEOAPI_STATIC),
            },
            "pretty_print": False,
        },
        "logging": {"level": "WARNING"},
        "metadata": _metadata(settings),
        "resources": resources,
    }

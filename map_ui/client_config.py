"""The console's client configuration, derived from the layer registry and vocab.

The browser never hard-codes a colour or a label: styles come from each
LayerSpec.style, value labels from layers.vocab, property titles from the specs.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from layers import vocab
from layers.base import LayerSpec
from layers.registry import BY_ID, LAYERS
from map_ui.options import ConsoleOptions

# Layer-control groups, in order: (id, 中文, English). Their layers are the registry's
# with that `console_group`, in registry order; every one is on at start-up.
GROUPS: tuple[tuple[str, str, str], ...] = (
    ("admin", "行政区划与网格", "Towns & grids"),
    ("video", "视频监控", "Video"),
    ("fleet", "车辆船只", "Vehicles & boats"),
    ("river", "河长制", "River chief"),
    ("cases", "事件工单", "Cases"),
)
# The events heatmap: a view of the events layer, listed after it and off at start-up.
HEATMAP = "events_heat"


def group_layers(group: str) -> list[str]:
    """The ids a layer-control group lists."""
    ids = [layer.id for layer in LAYERS if layer.console_group == group]
    return [*ids, HEATMAP] if "events" in ids else ids


_VOCABS: dict[str, dict[str, str]] = {
    name.lower(): value
    for name, value in vars(vocab).items()
    if name.isupper() and isinstance(value, dict)
}


def value_labels(layer: LayerSpec) -> dict[str, dict[str, str]]:
    """{property: {code: 中文}} for every enum property, found by matching the vocab's codes."""
    out: dict[str, dict[str, str]] = {}
    for prop in layer.properties:
        if prop.enum:
            match = next((v for v in _VOCABS.values() if set(v) == set(prop.enum)), None)
            if match:
                out[prop.name] = dict(match)
    return out


def layer_config(layer: LayerSpec) -> dict[str, Any]:
    return {
        "id": layer.id,
        "title_zh": layer.title_zh,
        "title_en": layer.title_en,
        "geometry_type": layer.geometry_type,
        "style": asdict(layer.style),
        "props": {p.name: [p.title_zh, p.title_en] for p in layer.properties},
        "values": value_labels(layer),
    }


def client_config(options: ConsoleOptions) -> dict[str, Any]:
    """Everything console.js needs at start-up, as one JSON-able dict."""
    layers = {layer.id: layer_config(layer) for layer in LAYERS}
    events = BY_ID["events"]
    layers[HEATMAP] = {
        **layer_config(events),
        "id": HEATMAP,
        "title_zh": "事件热力",
        "title_en": "Event heatmap",
    }
    return {
        "title": options.title,
        "title_en": options.title_en,
        "district_name": options.district_name,
        "extent": list(options.extent),
        "api": options.api_url,
        "ogc": options.ogc_url,
        "tile_versions_ttl_ms": options.tile_versions_ttl_ms,
        "static": options.static_url,
        "refresh_ms": {
            "vehicles": options.vehicles_refresh_s * 1000,
            "stats": options.stats_refresh_s * 1000,
            "events": options.events_refresh_s * 1000,
            "layers": options.layers_refresh_s * 1000,
        },
        "live": {"url": options.live_url, "offline_after_s": options.offline_after_s},
        "basemaps": [
            {
                "id": "offline",
                "name": "离线底图 Offline basemap",
                "offline": True,
                "crs_variant": "wgs84",
                "max_zoom": 19,
                "attribution": "水域 Water © OpenStreetMap contributors",
            },
            *({"id": f"tiles{i}", "offline": False, **b} for i, b in enumerate(options.basemaps)),
        ],
        "layers": layers,
        "groups": [
            {"id": g, "title_zh": zh, "title_en": en, "layers": group_layers(g)}
            for g, zh, en in GROUPS
        ],
        "default_on": [layer.id for layer in LAYERS if layer.console_group],
        "vocab": {name: labels for name, labels in _VOCABS.items()},
    }

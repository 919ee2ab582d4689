"""Any `lang` or `Accept-Language` gets an answer in a language onemap offers, never a 500."""

from __future__ import annotations

import pytest

from gis_server.ogc.language import negotiate

ROUTES = [
    "/ogc",
    "/ogc/conformance",
    "/ogc/collections",
    "/ogc/collections/grids",
    "/ogc/collections/grids/items?limit=2",
    "/ogc/collections/grids/items?limit=2&f=html",
    "/ogc/collections/grids/queryables",
    "/ogc/openapi?f=json",
    "/ogc/processes",
]

ZH, EN = "zh-Hans-CN", "en-US"  # Content-Language as pygeoapi writes the offered tags
ASKED = {  # what a client sends -> the language it gets
    "fr": ZH,
    "de-DE,de;q=0.9": ZH,
    "*": ZH,
    "zh": ZH,
    "zh-TW": ZH,
    "zh-CN,zh;q=0.9,en;q=0.8": ZH,
    "en-GB,en;q=0.8": EN,
    "fr;q=1, en;q=0.5": EN,
    "en;q=0, zh;q=0.1": ZH,
    "x;q=oops,,;": ZH,
}


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("asked", ["fr", "de-DE,de;q=0.9", "*", "zh", "en-GB"])
def test_any_accept_language_is_answered(client, route: str, asked: str) -> None:
    r = client.get(route, headers={"Accept-Language": asked})
    assert r.status_code == 200, (route, asked, r.text[:300])


@pytest.mark.parametrize("lang", ["fr", "zh", "en", "de-CH", ""])
def test_any_lang_parameter_is_answered(client, lang: str) -> None:
    r = client.get("/ogc/collections", params={"lang": lang, "f": "json"})
    assert r.status_code == 200, (lang, r.text[:300])


@pytest.mark.parametrize(("asked", "expected"), sorted(ASKED.items()))
def test_items_say_the_negotiated_language(client, asked: str, expected: str) -> None:
    default = client.get("/ogc/collections/grids/items?limit=1")
    assert default.headers["content-language"] == ZH
    r = client.get("/ogc/collections/grids/items?limit=1", headers={"Accept-Language": asked})
    assert r.status_code == 200
    assert r.headers["content-language"] == expected


def test_negotiation_prefers_quality_then_order() -> None:
    offered = ("zh-CN", "en-US")
    assert negotiate(["en-us"], offered) == "en-US"
    assert negotiate(["fr", "en"], offered) == "en-US"
    assert negotiate([], offered) == "zh-CN"

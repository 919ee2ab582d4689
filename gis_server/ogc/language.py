"""Language negotiation for the OGC API: any `lang` or `Accept-Language` gets an answer.

pygeoapi 0.24 builds its fallback locale as `babel.Locale(language, territory)`,
which Babel refuses for Chinese without a script ("unknown locale 'zh_CN'"): a
French browser, `Accept-Language: *` or `?lang=zh` was a 500 on every pygeoapi
route. onemap negotiates first, with the usual rules (RFC 9110 quality values,
a bare language matches any of its regions), and hands pygeoapi only a tag it
offers, so pygeoapi always takes its exact-match path. Nothing offered matches:
the default (first) language, as RFC 9110 allows.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Receive, Scope, Send

LANGUAGES = ("zh-CN", "en-US")  # what the OGC API offers; the first is the default


def _primary(tag: str) -> str:
    return tag.replace("_", "-").split("-")[0].strip().lower()


def _ranges(accept_language: str) -> list[str]:
    """The language ranges of an Accept-Language header, best first (q=0 dropped)."""
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate(accept_language.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and 0 < quality <= 1:
            ranked.append((-quality, index, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(requested: Sequence[str], offered: Sequence[str]) -> str:
    """The offered tag that best serves the requested ones (exact, then same language)."""
    by_primary = {}
    for tag in offered:
        by_primary.setdefault(_primary(tag), tag)
    lowered = {tag.lower(): tag for tag in offered}
    for tag in requested:
        wanted = tag.replace("_", "-").strip().lower()
        if wanted in lowered:
            return lowered[wanted]
        if wanted == "*":
            return offered[0]
        if _primary(wanted) in by_primary:
            return by_primary[_primary(wanted)]
    return offered[0]


class LanguageNegotiation:
    """ASGI middleware: `lang` and `Accept-Language` rewritten to the negotiated tag.

    Browsers send the same header on every request, so the negotiation of a header
    value is remembered; a request that asks for nothing passes untouched.
    """

    def __init__(self, app: ASGIApp, offered: Sequence[str] = LANGUAGES, prefix: str = "/ogc"):
        self.app = app
        self.offered = tuple(offered)
        self.prefix = prefix
        self._by_header = functools.lru_cache(maxsize=256)(self._for_header)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix):
            scope = self._negotiated(scope)
        await self.app(scope, receive, send)

    def _for_header(self, header: bytes) -> bytes:
        return negotiate(_ranges(header.decode("latin-1")), self.offered).encode()

    def _negotiated(self, scope: Scope) -> Scope:
        headers = scope.get("headers", [])
        header = b", ".join(v for k, v in headers if k == b"accept-language")
        raw_query = scope.get("query_string", b"")
        lang: list[str] = []
        if b"lang=" in raw_query:
            pairs = parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True)
            lang = [v for k, v in pairs if k == "lang"]
        if lang:
            chosen = negotiate(lang, self.offered).encode()
        elif header:
            chosen = self._by_header(header)
            if chosen == header:
                return scope
        else:
            return scope  # nothing asked: pygeoapi's default stands
        scope = dict(scope)
        scope["headers"] = [(k, v) for k, v in headers if k != b"accept-language"]
        scope["headers"].append((b"accept-language", chosen))
        if lang:
            query = [(k, chosen.decode() if k == "lang" else v) for k, v in pairs]
            scope["query_string"] = urlencode(query).encode("ascii")
        return scope


class _Unkept(dict):
    """A cache that keeps nothing (see `stop_config_cache`)."""

    def __setitem__(self, key: object, value: object) -> None:
        return None


def stop_config_cache() -> None:
    """pygeoapi's `l10n.translate_struct` keeps the first translated template config per
    locale for the whole process, so after a rebuild (a raster imported: ogc/coverages.py)
    or beside another app, HTML pages rendered the old config's collections (a Jinja
    error, 500, for the new raster). Each render translates the API's own config instead
    (a deep copy per HTML page; JSON answers never render templates)."""
    from pygeoapi import l10n

    if not isinstance(l10n._cfg_cache, _Unkept):  # noqa: SLF001 - pygeoapi's module cache
        l10n._cfg_cache = _Unkept()  # noqa: SLF001

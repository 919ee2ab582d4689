"""The console's JSON bodies: kept per process, validated by a digest ETag, gzipped once.

A big screen and its neighbours ask for the same layers over and over, and poll
them with If-None-Match; the conditional-request and gzip rules are the OGC
API's (`gis_server.ogc.caching`), so both answer the same headers the same way.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gis_server.ogc.caching import DigestBody, accepts_gzip, not_modified, validators


def compact(text: str) -> str:
    """PostgreSQL pretty-prints json_build_* (" : ", ", "); drop the spaces (~10 % smaller)."""
    return json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"))


def digest_body(text: str | bytes) -> DigestBody:
    return DigestBody(text.encode() if isinstance(text, str) else text)


def json_response(request: Request, body: DigestBody, max_age: int = 0) -> Response:
    """The body with its ETag (a screen that polls gets 304 until it changes), gzipped
    when the client accepts it (most are large)."""
    cache_control = f"max-age={max_age}" if max_age else "no-cache"
    headers = validators(body.etag, None, cache_control)
    if not_modified(request.headers, body.etag, None):
        return Response(status_code=304, headers=headers)
    data = body.encoded(accepts_gzip(request.headers), headers)
    return Response(data, media_type="application/json", headers=headers)


class TtlCache:
    """Tiny per-process cache of bodies: a big screen and its neighbours ask for the same ones.

    An entry is good for `ttl` seconds and only for the `stamp` it was made with
    (the versions of the tables it reads, from layer_changes), so an edit shows
    on the next request, not a TTL later.
    """

    def __init__(self) -> None:
        self._items: dict[Any, tuple[float, str, DigestBody]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any, ttl: float, produce: Callable[[], str], stamp: str = "") -> DigestBody:
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
        if hit and hit[0] > now and hit[1] == stamp:
            return hit[2]
        value = digest_body(produce())
        with self._lock:
            self._items[key] = (now + ttl, stamp, value)
        return value

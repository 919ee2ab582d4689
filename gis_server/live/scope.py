"""The live stream for a district-scoped account: each payload narrowed to one district.

The NOTIFY payloads stay small and district-free where the row already names it
elsewhere: `vehicles` fixes and `geofence` alerts carry a vehicle code, `workers`
messages a username. So each app process keeps two maps, vehicle → district
(`vehicles.district_code`) and username → district (`users.district_code`; a worker
without one is the city's, not shown to a scoped account), read on its own connection
and re-read at most every `REFRESH_S` seconds, or at once (at most once a second) when
a payload names a vehicle or worker the map does not know. Dispatch's `event` payloads
carry their `district_code` (layers/dispatch/timeline.py). A payload with nothing left
for the district is not sent; kinds without a district (`resync`, …) go to everyone.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import psycopg

LOGGER = logging.getLogger(__name__)
REFRESH_S = 10.0  # a vehicle or worker moving district is seen within this
_UNKNOWN_RETRY_S = 1.0
SCOPED_KINDS = frozenset({"vehicles", "geofence", "event", "events", "workers"})


class DistrictScope:
    """The process's vehicle → district and user → district maps, and the narrowing."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.vehicles: dict[str, str] = {}
        self.users: dict[str, str | None] = {}
        self._read_at = -1e9
        self._conn: psycopg.AsyncConnection | None = None

    async def refresh(self, payload: dict[str, Any]) -> None:
        """Re-read the maps when they are old, or when `payload` names someone unknown."""
        now = time.monotonic()
        age = now - self._read_at
        if age < REFRESH_S and (age < _UNKNOWN_RETRY_S or not self._unknown(payload)):
            return
        try:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = await psycopg.AsyncConnection.connect(
                    self.dsn, autocommit=True, application_name="onemap-live-scope"
                )
            cur = await self._conn.execute("SELECT code, district_code FROM vehicles")
            self.vehicles = {code: district for code, district in await cur.fetchall()}
            cur = await self._conn.execute("SELECT username, district_code FROM users")
            self.users = {name: district for name, district in await cur.fetchall()}
        except psycopg.Error as exc:  # the old maps serve until the next try
            LOGGER.warning("live: district maps not refreshed (%s)", exc)
        self._read_at = now

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()

    def _unknown(self, payload: dict[str, Any]) -> bool:
        kind = payload.get("kind")
        if kind == "vehicles":
            return any(_first(f) not in self.vehicles for f in payload.get("fixes") or ())
        if kind == "geofence":
            return any(
                _get(a, "vehicle_code") not in self.vehicles for a in payload.get("alerts") or ()
            )
        if kind == "workers":
            return any(name not in self.users for name in _worker_names(payload))
        return False

    def narrow(self, payload: dict[str, Any], district: str) -> str | None:
        """`payload` (a SCOPED_KINDS one) as `district`'s account sees it, or None: nothing."""
        kind = payload.get("kind")
        vehicle = self.vehicles.get
        out = dict(payload)
        if kind == "vehicles":
            out["fixes"] = [f for f in payload.get("fixes") or () if vehicle(_first(f)) == district]
            keep = bool(out["fixes"])
        elif kind == "geofence":
            alerts = payload.get("alerts") or ()
            out["alerts"] = [a for a in alerts if vehicle(_get(a, "vehicle_code")) == district]
            keep = bool(out["alerts"])
        elif kind == "event":
            keep = payload.get("district_code") == district
        elif kind == "events":
            out["events"] = [
                e for e in payload.get("events") or () if _get(e, "district_code") == district
            ]
            keep = bool(out["events"])
        elif kind == "workers":
            keep = self._workers(payload, out, district)
        else:
            keep = True
        if not keep:
            return None
        return json.dumps(out, ensure_ascii=False, separators=(",", ":"))

    def _workers(self, payload: dict[str, Any], out: dict[str, Any], district: str) -> bool:
        ours = self.users.get
        if "workers" in payload:
            out["workers"] = [w for w in payload["workers"] or () if ours(_first(w)) == district]
            return bool(out["workers"])
        for key in ("on", "off"):
            if key in payload:
                return ours(_first(payload[key])) == district
        return False


def _first(item: Any) -> Any:
    return item[0] if isinstance(item, list) and item else None


def _get(item: Any, key: str) -> Any:
    return item.get(key) if isinstance(item, dict) else None


def _worker_names(payload: dict[str, Any]) -> list[Any]:
    if "workers" in payload:
        return [_first(w) for w in payload["workers"] or ()]
    return [_first(payload[k]) for k in ("on", "off") if k in payload]

"""JT/T 808 terminals mapped to vehicles (table `jt808_terminals`, migration 0010).

A terminal is known by its SIM phone number. It reports for the vehicle an
explicit mapping names (`onemap feed terminals add PHONE VEHICLE`), else for
the vehicle whose plate it registered with; a registration is remembered (its
auth code, its plate) so that the terminal authenticates again after the
listener restarts. Plain SQL text, `%(name)s` placeholders: any driver.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

_LOOKUP = """
SELECT coalesce(
    (SELECT vehicle_code FROM jt808_terminals WHERE phone = %(phone)s),
    (SELECT min(code) FROM vehicles WHERE plate = %(plate)s))
"""

_REMEMBER = """
INSERT INTO jt808_terminals (phone, vehicle_code, auth_code, plate, registered_at)
VALUES (%(phone)s, %(vehicle)s, %(auth)s, %(plate)s, %(at)s)
ON CONFLICT (phone) DO UPDATE
SET auth_code = EXCLUDED.auth_code, plate = EXCLUDED.plate, registered_at = EXCLUDED.registered_at
"""

_FORGET_AUTH = "UPDATE jt808_terminals SET auth_code = NULL WHERE phone = %(phone)s"

_MAP = """
INSERT INTO jt808_terminals (phone, vehicle_code)
SELECT %(phone)s, code FROM vehicles WHERE code = %(vehicle)s
ON CONFLICT (phone) DO UPDATE SET vehicle_code = EXCLUDED.vehicle_code, auth_code = NULL
RETURNING phone
"""

_LIST = """
SELECT phone, vehicle_code, plate, registered_at, last_seen_at, auth_code IS NOT NULL
FROM jt808_terminals ORDER BY phone
"""

_REGISTERED = "SELECT phone, auth_code, plate FROM jt808_terminals WHERE auth_code IS NOT NULL"

_SEEN = """
UPDATE jt808_terminals SET last_seen_at = %(at)s
WHERE phone = ANY(%(phones)s::text[]) AND (last_seen_at IS NULL OR last_seen_at < %(at)s)
"""


@dataclass(frozen=True)
class Terminal:
    """One row of `onemap feed terminals list` (never the auth code itself)."""

    phone: str
    vehicle_code: str
    plate: str | None
    registered_at: dt.datetime | None
    last_seen_at: dt.datetime | None
    has_auth_code: bool


class UnknownVehicle(LookupError):
    """`terminals add` named a vehicle code that is not in `vehicles`."""


def normal_phone(phone: str) -> str:
    """A terminal number as the frame header gives it: digits without leading zeros
    (a 2013 header holds 12 BCD digits, a 2019 one 20: `013912345678` is `13912345678`)."""
    return phone.strip().lstrip("0") or "0"


def vehicle_for(cur, phone: str, plate: str | None) -> str | None:
    """The vehicle a terminal reports for: its mapping, else the vehicle with its plate."""
    cur.execute(_LOOKUP, {"phone": phone, "plate": plate})
    row = cur.fetchone()
    return row[0] if row else None


def remember_registration(
    cur, phone: str, vehicle: str, auth_code: str, plate: str, at: dt.datetime
) -> None:
    """Keep a registration (creates the mapping when the plate matched)."""
    cur.execute(
        _REMEMBER,
        {"phone": phone, "vehicle": vehicle, "auth": auth_code, "plate": plate, "at": at},
    )


def forget_auth_code(cur, phone: str) -> None:
    """The terminal logged out (0x0003): its auth code is void; the mapping stays."""
    cur.execute(_FORGET_AUTH, {"phone": phone})


def map_terminal(cur, phone: str, vehicle: str) -> None:
    """Map a terminal to a vehicle (its old registration is void)."""
    cur.execute(_MAP, {"phone": normal_phone(phone), "vehicle": vehicle})
    if cur.fetchone() is None:
        raise UnknownVehicle(vehicle)


def unmap_terminal(cur, phone: str) -> bool:
    cur.execute(
        "DELETE FROM jt808_terminals WHERE phone = %(phone)s", {"phone": normal_phone(phone)}
    )
    return cur.rowcount > 0


def terminals(cur) -> list[Terminal]:
    cur.execute(_LIST)
    return [Terminal(*row) for row in cur.fetchall()]


def registrations(cur) -> dict[str, tuple[str, str]]:
    """phone → (auth code, plate) of every terminal whose registration still holds."""
    cur.execute(_REGISTERED)
    return {phone: (code, plate or "") for phone, code, plate in cur.fetchall()}


def mark_seen(cur, phones: list[str], at: dt.datetime) -> None:
    """Terminals whose reports were just stored."""
    cur.execute(_SEEN, {"phones": sorted(set(phones)), "at": at})

"""A district-scoped user (users.district_code) writes only their district's features:
the feature as it was and as it is after the write must both be in it, else 403 (the
write's transaction is rolled back). Layers without `district_code` are not scoped."""

from __future__ import annotations

from psycopg import Connection, sql

from gis_server.database import ident
from gis_server.errors import Forbidden
from gis_server.ogc.writes.feature import FeatureWrite, Written


def _scoped(write: FeatureWrite) -> str | None:
    """The writer's district, when both the writer and the layer have one."""
    if write.layer.prop("district_code") is None:
        return None
    return write.principal.district_code


def _refuse(write: FeatureWrite, found: object) -> Forbidden:
    return Forbidden(
        f"要素不在您的区县 — feature {write.code!r} of {write.layer.id} is in district "
        f"{found}, you act in {write.principal.district_code}"
    )


def check_before(conn: Connection, write: FeatureWrite) -> None:
    """403 when the feature being changed or deleted lies in another district."""
    district = _scoped(write)
    if district is None or write.method == "POST":
        return
    current = f" AND {write.layer.current_filter}" if write.layer.current_filter else ""
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("SELECT district_code FROM {} WHERE {} = %s" + current).format(
                ident(write.layer.table), ident(write.layer.id_column)
            ),
            (write.code,),
        )
        row = cur.fetchone()
    if row is not None and row[0] != district:
        raise _refuse(write, row[0])


def check_after(write: FeatureWrite, written: Written) -> None:
    """403 when the written feature (its district set from its town) is in another one."""
    district = _scoped(write)
    if district is None or written.feature is None:
        return
    found = (written.feature.get("properties") or {}).get("district_code")
    if found != district:
        raise _refuse(write, found)

"""The shared MetaData and the column shapes the layer tables repeat."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, Column, Computed, DateTime, Identity, Index, MetaData, Text

metadata = MetaData()


def gid(kind: type = BigInteger) -> Column:
    """The surrogate key (`GENERATED ALWAYS AS IDENTITY`); users know rows by `code`."""
    return Column("gid", kind, Identity(always=True), primary_key=True)


def geom(kind: str, nullable: bool = False) -> Column:
    """The stored geometry, EPSG:4326 lon/lat (its GiST index is declared by name: `gist`)."""
    return Column("geom", Geometry(kind, srid=4326, spatial_index=False), nullable=nullable)


def mercator(kind: str) -> Column:
    """The stored EPSG:3857 copy of `geom` that vector tiles read (migration 0006)."""
    return Column(
        "geom_3857",
        Geometry(kind, srid=3857, spatial_index=False),
        Computed("ST_Transform(geom, 3857)", persisted=True),
    )


def gist(table: str) -> Index:
    return Index(f"{table}_geom_gist", "geom", postgresql_using="gist")


def timestamp(name: str, nullable: bool = True) -> Column:
    return Column(name, DateTime(timezone=True), nullable=nullable)


def updated() -> Column:
    return timestamp("updated_at", nullable=False)


def coded(name: str, codes: dict[str, str], nullable: bool = False) -> Column:
    """A text column whose values are a vocabulary's codes (listed as the queryable's enum)."""
    return Column(name, Text, nullable=nullable, info={"enum": tuple(codes)})


def district() -> Column:
    """The feature's district (6-digit admin code, migration 0015): set from its town by a
    trigger; the configured district when the town is unknown."""
    return Column("district_code", Text, nullable=False)

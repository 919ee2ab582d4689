"""Typed settings, one small class per concern (after tipg's settings.py).

Sources, strongest first: DATABASE_URL; ONEMAP_<SECTION>__<KEY> environment
variables; config.yml (path from ONEMAP_CONFIG, default ./config.yml in the
project directory); the defaults below. Nothing else reads the file: CLI entry
points call `get_settings()` and hand the one `Settings` down (`create_app(settings)`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from gis_server.collection_settings import (
    ExtraCollection,
    LayerPolicy,
    builtin_enabled,
    check_published,
)
from gis_server.config_file import ConfigFileError, load_config_file
from gis_server.feed_settings import FeedSettings

PROJECT_DIR = Path(__file__).resolve().parents[1]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    public_url: str = "http://127.0.0.1:8000"
    workers: int = Field(1, ge=1, le=64)
    access_log: bool = True
    # request bodies larger than this are refused (413) before they are read
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    # seconds a connection may take to send a request's headers (`onemap serve`)
    header_timeout_s: float = Field(10.0, gt=0, le=3600)
    # request line + headers larger than this are a 431 and the connection closed
    max_header_bytes: int = Field(64 * 1024, ge=4096, le=16 * 1024 * 1024)
    # a request body must keep coming: each chunk within body_timeout_s of the last,
    # and past that first stretch at min_body_rate bytes/s on average (408 otherwise)
    body_timeout_s: float = Field(10.0, gt=0, le=3600)
    min_body_rate: int = Field(1024, ge=0)
    # seconds an API key's principal is kept in process (0: looked up every request);
    # any revocation, disabling or role change clears it at once (gis_server/auth/key_cache.py)
    api_key_cache_s: float = Field(5.0, ge=0, le=60)

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/")


class ClusterSettings(_Section):
    dir: Path = Path("var/pg")
    port: int = Field(55432, ge=1024, le=65535)
    name: str = Field("onemap", pattern=r"^[a-z_][a-z0-9_]*$")

    @property
    def data_dir(self) -> Path:
        return self.dir if self.dir.is_absolute() else PROJECT_DIR / self.dir


class DatabaseSettings(_Section):
    url: str = ""
    pool_size: int = Field(8, ge=1, le=200)
    cluster: ClusterSettings = ClusterSettings()
    # streaming replicas read-only requests may read from (DATABASE_URL_REPLICAS wins;
    # both it and ONEMAP_DATABASE__REPLICAS comma-separated, NoDecode: not JSON); see
    # gis_server/replicas.py
    replicas: Annotated[list[str], NoDecode] = []
    # a replica further behind the primary than this is skipped (reads go to the primary)
    replica_max_lag_s: float = Field(5.0, gt=0, le=3600)

    @field_validator("url", mode="before")
    @classmethod
    def _null_is_empty(cls, v: Any) -> Any:
        return "" if v is None else v

    @field_validator("url")
    @classmethod
    def _postgres_only(cls, v: str) -> str:
        if v and not v.startswith(("postgresql://", "postgres://", "postgresql+psycopg2://")):
            raise ValueError("must be a postgresql:// URL")
        return v

    @field_validator("replicas", mode="before")
    @classmethod
    def _replica_list(cls, v: Any) -> Any:
        if v is None:
            return []
        if isinstance(v, str) and v.lstrip().startswith("["):  # a JSON list, as before
            try:
                return json.loads(v)
            except ValueError:
                raise ValueError("not a JSON list of URLs") from None
        if isinstance(v, str):  # "url1,url2" (the environment variables' form)
            return [u.strip() for u in v.split(",") if u.strip()]
        return v

    @field_validator("replicas")
    @classmethod
    def _replicas_postgres_only(cls, v: list[str]) -> list[str]:
        for url in v:
            if not url.startswith(("postgresql://", "postgres://")):
                raise ValueError(f"{url!r}: must be a postgresql:// URL")
        return v

    @property
    def uses_private_cluster(self) -> bool:
        return not self.url

    @property
    def dsn(self) -> str:
        """libpq URL of the database: DATABASE_URL, or the private cluster's."""
        if self.url:
            return self.url.replace("postgresql+psycopg2://", "postgresql://")
        return f"postgresql://postgres@127.0.0.1:{self.cluster.port}/{self.cluster.name}"

    @property
    def sqlalchemy_url(self) -> str:
        return "postgresql+psycopg2://" + self.dsn.split("://", 1)[1]


class ContactSettings(_Section):
    name: str = ""
    email: str = ""


class OgcSettings(_Section):
    title: str = "onemap OGC API"
    title_en: str = "onemap OGC API"
    description: str = ""
    default_limit: int = Field(100, ge=1)
    max_limit: int = Field(10000, ge=1)
    public_reads: bool = True
    # MB of recent vector tiles each worker keeps for the layer version they show (0: none)
    tile_cache_mb: int = Field(64, ge=0)
    # ms an exact numberMatched may take, counted beside the page (0: only when free)
    count_budget_ms: int = Field(100, ge=0, le=60_000)
    contact: ContactSettings = ContactSettings()

    @model_validator(mode="after")
    def _limits(self) -> OgcSettings:
        if self.default_limit > self.max_limit:
            raise ValueError("default_limit must not exceed max_limit")
        return self


class EditingSettings(_Section):
    """Grid editing: topology tolerances (EPSG:4549 metres) and optimistic concurrency.

    area_m2: a gap, overlap or piece outside the town smaller than this is allowed.
    snap_m: positional precision; pieces thinner than this are coincident edges, not gaps.
    sliver_width_m: violating pieces thinner than this are reported as slivers.
    require_if_match: further layers whose Part 4 PUT/PATCH/DELETE must send If-Match
    (else 428), beyond those whose LayerSpec requires it (grids).
    """

    area_m2: float = Field(1.0, ge=0)
    snap_m: float = Field(0.1, ge=0)
    sliver_width_m: float = Field(1.0, ge=0)
    require_if_match: list[str] = []


class AssessmentSettings(_Section):
    """The monthly 100-point assessment (考核, `onemap report monthly`), as in Tongzhou.

    hotline_points + grid_points: what 12345 events and grid events are worth;
    on_time / closure / satisfaction: the weights of the rates within each part
    (grid events have no call-back, so their part uses on_time and closure).
    """

    hotline_points: float = Field(50.0, ge=0)
    grid_points: float = Field(50.0, ge=0)
    on_time: float = Field(0.4, ge=0)
    closure: float = Field(0.4, ge=0)
    satisfaction: float = Field(0.2, ge=0)


class DutySettings(_Section):
    """Grid workers on duty (上岗/下岗 on the phone page, /api/duty).

    report_every_s: how often the phone reports its position while on duty.
    offline_after_s: a worker silent this long shows as offline on the big screen
    (and is no longer offered as a nearby worker).
    keep_days: positions older than this are deleted (whenever someone goes on duty).
    """

    report_every_s: int = Field(60, ge=10, le=3600)
    offline_after_s: int = Field(300, ge=30)
    keep_days: int = Field(30, ge=1, le=3660)


class DispatchSettings(_Section):
    """The dispatch loop (自动派单): placing events and their time limits.

    snap_distance_m: a point in a gap between grids or on water goes to the nearest
    comprehensive grid within this many metres (else only its town).
    urgent_hours / critical_hours: time limits of urgent and critical events where
    the duty rule sets none (capped by the rule's normal limit).
    manual_hours: due time of an event no duty rule matched (the manual queue).
    page_max: the largest `limit` of GET /api/events.
    overdue_sweep_s: how often the server marks events that became late (0: never).
    photo_dir: where event photos are stored (re-encoded, named by a random id).
    photo_max_bytes / photo_max_pixels: the largest photo upload (413 above it).
    """

    snap_distance_m: float = Field(300.0, ge=0, le=5000)
    urgent_hours: float = Field(24.0, gt=0)
    critical_hours: float = Field(4.0, gt=0)
    manual_hours: float = Field(120.0, gt=0)
    page_max: int = Field(200, ge=1, le=1000)
    overdue_sweep_s: float = Field(60.0, ge=0)
    photo_dir: Path = Path("var/media/events")
    photo_max_bytes: int = Field(8 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    photo_max_pixels: int = Field(40_000_000, ge=10_000)
    assessment: AssessmentSettings = AssessmentSettings()
    duty: DutySettings = DutySettings()

    @property
    def photo_path(self) -> Path:
        return self.photo_dir if self.photo_dir.is_absolute() else PROJECT_DIR / self.photo_dir


class DistrictSettings(_Section):
    name: str = "海门区"
    # 6-digit admin code: the district of rows whose town is unknown (migration 0015)
    code: str = Field("320614", pattern=r"^\d{6}$")
    extent: tuple[float, float, float, float] = (121.0, 31.7, 121.6, 32.2)

    @field_validator("extent")
    @classmethod
    def _extent(cls, v: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        minx, miny, maxx, maxy = v
        if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
            raise ValueError("must be min_lon, min_lat, max_lon, max_lat in degrees")
        return v


class DemoSettings(_Section):
    seed: int = 20200610
    anchor_date: dt.date | None = None

    @field_validator("anchor_date", mode="before")
    @classmethod
    def _empty_is_none(cls, v: Any) -> Any:
        return None if v in ("", None) else v


class BasemapSettings(_Section):
    """An intranet tile service the console offers as a basemap (XYZ or WMTS KVP template).

    The URL is a Leaflet template: {z}/{x}/{y} (and optional {s}). For WMTS in
    the GoogleMapsCompatible matrix set write TILEMATRIX={z}&TILEROW={y}&TILECOL={x}.
    crs_variant gcj02 marks a "Mars" basemap (AMap and its mirrors): the console
    then shifts its overlays WGS84 → GCJ-02 so they line up with it.
    """

    name: str = Field(min_length=1)
    url: str
    attribution: str = ""
    crs_variant: Literal["wgs84", "gcj02"] = "wgs84"
    max_zoom: int = Field(18, ge=1, le=22)
    subdomains: str = ""

    @field_validator("url")
    @classmethod
    def _template(cls, v: str) -> str:
        if not v.startswith(("http://", "https://", "/")):
            raise ValueError("must be an http(s):// URL or a path on this server")
        missing = [p for p in ("{z}", "{x}", "{y}") if p not in v]
        if missing:
            raise ValueError(f"tile URL template lacks {', '.join(missing)}")
        return v


class ConsoleSettings(_Section):
    """The big-screen console: title, extra basemaps and how often it refreshes itself."""

    title: str = "海门区区域治理现代化指挥中心 · 一张图"
    title_en: str = "Haimen District Governance Command Centre · One Map"
    basemaps: list[BasemapSettings] = []
    vehicles_refresh_s: int = Field(5, ge=1, le=3600)
    stats_refresh_s: int = Field(30, ge=5, le=3600)
    events_refresh_s: int = Field(60, ge=5, le=3600)
    layers_refresh_s: int = Field(60, ge=1, le=3600)
    events_limit: int = Field(50000, ge=100, le=500000)


class GpsImportSettings(_Section):
    """GPS feed rules: the fastest believable speed per vehicle kind, and how trips split."""

    max_speed_kmh: dict[str, float] = {
        "sanitation": 90.0,
        "muck": 100.0,
        "sweeper": 60.0,
        "patrol_boat": 80.0,
        "fishing_boat": 60.0,
        "cargo_ship": 60.0,
        "default": 150.0,
    }
    stop_minutes: float = Field(5.0, gt=0)
    gap_minutes: float = Field(10.0, gt=0)
    stop_speed_kmh: float = Field(3.0, ge=0)


class ImportsSettings(_Section):
    """`onemap import`: per-layer source-column mappings, GPS rules, where rasters go."""

    fields: dict[str, dict[str, str]] = {}  # layer id -> {source column: layer field}
    gps: GpsImportSettings = GpsImportSettings()
    raster_dir: Path = Path("var/rasters")

    @property
    def raster_path(self) -> Path:
        return self.raster_dir if self.raster_dir.is_absolute() else PROJECT_DIR / self.raster_dir


class EtlJob(_Section):
    """A scheduled import run by `onemap etl run [JOB]` (from cron)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    source: str  # file path or glob, relative to the project directory
    layer: str
    options: dict[str, Any] = {}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ONEMAP_", env_nested_delimiter="__", extra="forbid"
    )

    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    ogc: OgcSettings = OgcSettings()
    district: DistrictSettings = DistrictSettings()
    demo: DemoSettings = DemoSettings()
    editing: EditingSettings = EditingSettings()
    dispatch: DispatchSettings = DispatchSettings()
    console: ConsoleSettings = ConsoleSettings()
    collections: list[ExtraCollection] = []
    # built-in layers the OGC API publishes (None: all; []: none, only `collections`)
    builtin_layers: list[str] | None = None
    # per built-in layer: who may read it (config collections say it on their entry)
    layer_policies: dict[str, LayerPolicy] = {}
    imports: ImportsSettings = ImportsSettings()
    feed: FeedSettings = FeedSettings()
    etl_jobs: list[EtlJob] = []

    @model_validator(mode="after")
    def _unique_jobs(self) -> Settings:
        names = [job.name for job in self.etl_jobs]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"etl_jobs: name {sorted(dup)[0]!r} is listed twice")
        return self

    @model_validator(mode="after")
    def _published(self) -> Settings:
        check_published(self.collections, self.builtin_layers, self.layer_policies)
        return self

    def read_role(self, collection_id: str) -> str | None:
        """The least role that may read a collection (None: as every public read)."""
        for c in self.collections:
            if c.id == collection_id:
                return c.read_role
        policy = self.layer_policies.get(collection_id)
        return policy.read_role if policy else None

    def collection_write_roles(self) -> dict[str, str]:
        """Write roles of the editable config collections (built-ins: their LayerSpec)."""
        return {c.id: c.write_role for c in self.collections if c.editable}

    def builtin_enabled(self, layer_id: str) -> bool:
        """Whether the OGC API publishes the built-in layer `layer_id`."""
        return builtin_enabled(self.builtin_layers, layer_id)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            _DatabaseUrlSource(settings_cls),
            env_settings,
            _YamlSource(settings_cls),
        )


class _YamlSource(PydanticBaseSettingsSource):
    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return load_config_file(config_path())


class _DatabaseUrlSource(PydanticBaseSettingsSource):
    """DATABASE_URL (and DATABASE_URL_REPLICAS) win over config.yml and ONEMAP_DATABASE__*."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        database: dict[str, Any] = {}
        if url := os.environ.get("DATABASE_URL"):
            database["url"] = url
        if replicas := os.environ.get("DATABASE_URL_REPLICAS"):
            database["replicas"] = replicas
        return {"database": database} if database else {}


def config_path() -> Path:
    return Path(os.environ.get("ONEMAP_CONFIG", PROJECT_DIR / "config.yml"))


class SettingsError(ValueError):
    """Settings are invalid; `problems` lists (key, message) pairs for the user."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{k}: {m}" for k, m in problems))


def load_settings() -> Settings:
    """Build fresh settings, turning pydantic errors into key-naming SettingsError."""
    try:
        return Settings()
    except ConfigFileError as exc:
        raise SettingsError([("config.yml", str(exc))]) from exc
    except ValidationError as exc:
        problems = [
            (".".join(str(p) for p in err["loc"]) or "(top)", err["msg"]) for err in exc.errors()
        ]
        raise SettingsError(problems) from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()

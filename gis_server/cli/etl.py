"""`onemap import`, `onemap export`, `onemap etl run`: files in and out of the layers.

Exit codes (usable from cron): 0 ok, 1 rejected rows or failure (nothing
written), 2 usage or configuration error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gis_server.cli.options import load_or_exit
from gis_server.settings import PROJECT_DIR, Settings


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    result = {}
    for value in values:
        for part in value.split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise click.UsageError(
                    f"{option} 应为 字段=值 — {option} expects key=value: {part!r}"
                )
            key, val = part.split("=", 1)
            result[key.strip()] = val.strip()
    return result


def _echo_result(result) -> None:
    from etl.report import summary_lines

    for line in summary_lines(result):
        click.echo(line, err=not result.ok)


def _run_guarded(fn):
    """Call fn(); turn EtlError into a message on stderr and its exit code."""
    from etl.errors import EtlError

    try:
        return fn()
    except EtlError as exc:
        click.echo(f"错误 error: {exc}", err=True)
        sys.exit(exc.exit_code)


@click.command("import")
@click.argument("layer")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--table", help="GeoPackage 表 / KML 图层 / Excel 工作表 / zip 成员 — table, sheet or member"
)
@click.option("--crs", help="源坐标系 source CRS: EPSG:4490, EPSG:4528, wgs84, gcj02, bd09 …")
@click.option("--x", "x", help="经度/X 列 — longitude/X column of a CSV or XLSX")
@click.option("--y", "y", help="纬度/Y 列 — latitude/Y column of a CSV or XLSX")
@click.option("--encoding", help="文本编码 — text encoding (default: detect UTF-8 / GB18030)")
@click.option(
    "--map", "field_map", multiple=True, help="源列=字段,… — source column to layer field"
)
@click.option("--set", "defaults", multiple=True, help="字段=值 — value for a field the file lacks")
@click.option(
    "--allow-rejects", is_flag=True, help="导入合格行 — load the good rows despite rejects"
)
@click.option("--dry-run", is_flag=True, help="试运行 — check and count, write nothing")
@click.option("--rejects", "rejects_path", type=click.Path(path_type=Path), help="拒绝行清单路径")
@click.option("--user", help="操作人 — who runs the import (default: OS user)")
@click.option("--id", "raster_id", help="栅格编号 — raster id (raster only)")
@click.option("--title", help="栅格标题 — raster title (raster only)")
@click.option("--description", default="", help="栅格说明 — raster description (raster only)")
def import_cmd(layer: str, file: Path, **opts) -> None:
    """导入 — import FILE into LAYER (towns, grids, cameras, river_patrol_zones, events,
    vehicles, vehicle_positions, raster)."""
    settings = load_or_exit()
    result = _run_guarded(lambda: run_import(settings, layer, file, opts))
    _echo_result(result)
    if not result.ok:
        sys.exit(1)


def run_import(settings: Settings, layer: str, file: Path, opts: dict, job: str | None = None):
    """Dispatch one import by the layer's loader; shared by `onemap import` and `onemap etl run`."""
    from layers.registry import BY_ID

    opts = _job_options(opts)
    if layer == "raster":  # a coverage, not a layer
        return _import_raster(settings, file, opts, job)
    rules = BY_ID[layer].imports if layer in BY_ID else None
    if rules is not None and rules.loader == "gps_fixes":
        return _import_gps_fixes(settings, file, opts, job)
    return _import_features(settings, layer, file, opts, job)  # refuses a layer it cannot load


def _import_raster(settings: Settings, file: Path, opts: dict, job: str | None):
    from etl.raster import import_raster

    return import_raster(
        settings.database.dsn,
        file,
        raster_dir=settings.imports.raster_path,
        raster_id=opts.get("raster_id"),
        title=opts.get("title"),
        description=opts.get("description") or "",
        crs=opts.get("crs"),
        user=opts.get("user"),
        job=job,
        dry_run=bool(opts.get("dry_run")),
    )


def _import_gps_fixes(settings: Settings, file: Path, opts: dict, job: str | None):
    from etl.gps import GpsOptions, import_positions

    gps = settings.imports.gps
    return import_positions(
        settings.database.dsn,
        file,
        GpsOptions(
            max_speed_kmh=gps.max_speed_kmh,
            stop_minutes=gps.stop_minutes,
            gap_minutes=gps.gap_minutes,
            stop_speed_kmh=gps.stop_speed_kmh,
            extent=settings.district.extent,
            crs=opts.get("crs"),
            user=opts.get("user"),
            job=job,
            dry_run=bool(opts.get("dry_run")),
        ),
    )


def _import_features(settings: Settings, layer: str, file: Path, opts: dict, job: str | None):
    from etl.mapping import parse_map_option
    from etl.vector_import import ImportOptions, import_vector

    field_map = {}
    for value in _as_tuple(opts.get("field_map")):
        field_map.update(parse_map_option(value))
    options = ImportOptions(
        table=opts.get("table"),
        crs=opts.get("crs"),
        x=opts.get("x"),
        y=opts.get("y"),
        encoding=opts.get("encoding"),
        field_map=field_map,
        configured=settings.imports.fields.get(layer, {}),
        defaults=_pairs(_as_tuple(opts.get("defaults")), "--set"),
        allow_rejects=bool(opts.get("allow_rejects")),
        dry_run=bool(opts.get("dry_run")),
        rejects_path=Path(opts["rejects_path"]) if opts.get("rejects_path") else None,
        user=opts.get("user"),
        job=job,
        extent=settings.district.extent,
    )
    return import_vector(settings.database.dsn, layer, file, options)


_OPTION_ALIASES = {
    "map": "field_map",
    "set": "defaults",
    "rejects": "rejects_path",
    "id": "raster_id",
}
_OPTIONS = {
    "table",
    "crs",
    "x",
    "y",
    "encoding",
    "field_map",
    "defaults",
    "allow_rejects",
    "dry_run",
    "rejects_path",
    "user",
    "raster_id",
    "title",
    "description",
}


def _job_options(opts: dict) -> dict:
    """Options by CLI parameter name; etl_jobs may use the long option names (map, set …)."""
    from etl.errors import UsageError

    out = {
        _OPTION_ALIASES.get(k.replace("-", "_"), k.replace("-", "_")): v for k, v in opts.items()
    }
    unknown = sorted(set(out) - _OPTIONS)
    if unknown:
        raise UsageError(f"未知选项 — unknown import options: {', '.join(unknown)}")
    return out


def _as_tuple(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, dict):
        return (",".join(f"{k}={v}" for k, v in value.items()),)
    return tuple(value)


@click.command("export")
@click.argument("layer")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--crs", help="输出坐标系 — output CRS (default EPSG:4326; gcj02/bd09 allowed)")
@click.option("--all-versions", is_flag=True, help="网格含历史版本 — grids: every version")
def export_cmd(layer: str, file: Path, crs: str | None, all_versions: bool) -> None:
    """导出 — export LAYER to FILE (.gpkg, .shp, .geojson, .csv, .xlsx)."""
    from etl.export import export_layer

    settings = load_or_exit()
    count = _run_guarded(
        lambda: export_layer(settings.database.dsn, layer, file, crs=crs, all_versions=all_versions)
    )
    click.echo(f"已导出 {count} 条 — exported {count} features: {layer} → {file}")


@click.group("etl")
def etl() -> None:
    """定时导入 — scheduled imports listed under etl_jobs in config.yml."""


@etl.command("run")
@click.argument("job", required=False)
@click.option("--user", help="操作人 — who runs the jobs (default: OS user)")
def etl_run(job: str | None, user: str | None) -> None:
    """运行任务 — run JOB (or every job); exit 0 ok, 1 rejects/failure, 2 config error."""
    from etl.jobs import run_jobs

    settings = load_or_exit()

    def one(layer: str, path: Path, options: dict, name: str):
        return run_import(settings, layer, path, {**options, "user": user}, job=name)

    code = run_jobs(
        settings.etl_jobs,
        one,
        dsn=settings.database.dsn,
        base_dir=PROJECT_DIR,
        only=job,
        echo=click.echo,
        user=user,
    )
    sys.exit(code)


@etl.command("list")
def etl_list() -> None:
    """列出任务 — list the jobs in config.yml."""
    settings = load_or_exit()
    if not settings.etl_jobs:
        click.echo("没有任务 — no etl_jobs in config.yml")
    for job in settings.etl_jobs:
        click.echo(f"{job.name}: {job.layer} ← {job.source} {job.options or ''}")

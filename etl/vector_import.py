"""Import one file into one vector layer: read → CRS → map fields → validate → load → log."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psycopg2
import shapely

from etl import crs as crs_mod
from etl import importlog, load
from etl.catalog import Column, table_columns
from etl.coerce import CoerceError, coerce, is_blank
from etl.errors import CrsError, EtlError, UsageError
from etl.grids import check_grid_topology, upsert_grids
from etl.mapping import Mapping, resolve_mapping
from etl.profiles import ImportProfile, get_profile
from etl.readers import Source, read_source
from etl.report import ImportResult, default_rejects_path, write_rejects
from etl.validate import (
    ROW_RULES,
    GeometryReject,
    Reject,
    duplicate_rejects,
    extent_check,
    normalise,
)


@dataclass
class ImportOptions:
    """Everything `onemap import` and `onemap etl run` can say about one import."""

    table: str | None = None
    crs: str | None = None
    x: str | None = None
    y: str | None = None
    encoding: str | None = None
    field_map: dict[str, str] = field(default_factory=dict)  # --map src=dst
    configured: dict[str, str] = field(default_factory=dict)  # config.yml imports.fields.<layer>
    defaults: dict[str, str] = field(default_factory=dict)  # --set field=value
    allow_rejects: bool = False
    dry_run: bool = False
    rejects_path: Path | None = None
    user: str | None = None
    job: str | None = None
    extent: tuple[float, float, float, float] | None = None


@dataclass
class _Prepared:
    columns: list[Column]
    records: list[dict[str, Any]]
    geoms: list[Any] | None
    rejects: list[Reject]
    repaired: int
    notes: list[str]
    crs_label: str | None


def _targets(profile: ImportProfile, catalog: dict[str, Column]) -> list[str]:
    cols = [c for c in catalog if c not in profile.system and c != "geom"]
    return cols + list(profile.contacts)


def _loaded_columns(
    profile: ImportProfile, catalog: dict[str, Column], mapping: Mapping, defaults: dict[str, str]
) -> list[Column]:
    names = set(mapping.fields.values()) | set(defaults)
    if profile.locate:
        names |= {"grid_code", "town_code"}
    if profile.key not in names:
        raise UsageError(
            f"没有列对应编码字段 {profile.key} — no column maps to the key field "
            f"'{profile.key}'; use --map 源列={profile.key}"
        )
    missing = [
        c.name
        for c in catalog.values()
        if c.required and c.name not in names and c.name not in profile.system and c.name != "geom"
    ]
    if missing:
        raise UsageError(
            f"缺少必填字段 — required fields not in the file: {', '.join(missing)}; map them "
            "with --map 源列=字段 or give a value with --set 字段=值"
        )
    contact = [Column(n, "text", False, None) for n in profile.contacts if n in names]
    return [c for n, c in catalog.items() if n in names] + contact


def _rows(
    source: Source, profile: ImportProfile, mapping: Mapping, columns: list[Column], defaults: dict
) -> tuple[list[dict[str, Any]], list[Reject]]:
    """Coerce every row; a row with any bad value becomes one Reject naming the column."""
    by_target = {t: s for s, t in mapping.fields.items()}
    rules = ROW_RULES.get(profile.id, ())
    records, rejects = [], []
    frame = source.attributes
    for i in range(len(frame)):
        row = int(source.rows[i])
        rec: dict[str, Any] = {"_row": row, "_index": i}
        problems = []
        for col in columns:
            src = by_target.get(col.name)
            raw = frame.iat[i, frame.columns.get_loc(src)] if src is not None else None
            if is_blank(raw) and col.name in defaults:
                raw = defaults[col.name]
            prop = profile.layer.prop(col.name)
            try:
                rec[col.name] = coerce(raw, col.sql_type, prop.enum if prop else None)
            except CoerceError as exc:
                problems.append(f"{src or col.name}: {exc}")
                rec[col.name] = None
                continue
            if rec[col.name] is None and col.required:
                problems.append(
                    f"{src or col.name}: 缺少必填值 — missing required value ({col.name})"
                )
        code = rec.get(profile.key)
        if not problems:
            problems += [msg for rule in rules if (msg := rule(rec))]
        if problems:
            rejects.append(Reject(row, code, "; ".join(problems)))
        records.append(rec)
    return records, rejects


def _typical_bounds(geoms: np.ndarray) -> tuple[float, float, float, float]:
    """Bounds of the plausible lon/lat geometries if most are, else of all: one row with
    swapped or garbage coordinates must be rejected, not make the whole file 'projected'."""
    b = shapely.bounds(geoms)
    lonlat = (b[:, 0] >= -180) & (b[:, 2] <= 180) & (b[:, 1] >= -90) & (b[:, 3] <= 90)
    chosen = b[lonlat] if lonlat.mean() >= 0.5 else b
    return (
        float(chosen[:, 0].min()),
        float(chosen[:, 1].min()),
        float(chosen[:, 2].max()),
        float(chosen[:, 3].max()),
    )


def _geometries(
    source: Source, profile: ImportProfile, opts: ImportOptions, records: list[dict[str, Any]]
) -> tuple[list[Any], list[Reject], int, list[str], str]:
    """Resolve the CRS, transform, repair and type-check every geometry; check the extent."""
    if source.geometry is None:
        raise UsageError(
            "文件没有几何或坐标列 — the file has no geometry or coordinate columns "
            "(use --x/--y to name them)",
            file=str(source.path),
        )
    geoms = source.geometry
    present = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    bounds = _typical_bounds(geoms[present]) if present.any() else None
    try:
        resolved = crs_mod.resolve(source.crs, opts.crs, bounds)
    except CrsError as exc:
        raise CrsError(str(exc), file=str(source.path)) from None
    notes = [resolved.note] if resolved.note else []
    wgs = np.array(geoms, dtype=object)
    if present.any():
        wgs[present] = crs_mod.to_wgs84(geoms[present], resolved)
    out: list[Any] = []
    rejects: list[Reject] = []
    repaired, partly, partly_example = 0, 0, None
    for i, rec in enumerate(records):
        row, code = rec["_row"], rec.get(profile.key)
        if source.geom_errors and source.geom_errors[i]:
            rejects.append(Reject(row, code, source.geom_errors[i]))
            out.append(None)
            continue
        try:
            geom, fixed = normalise(wgs[i], profile.geometry)
        except GeometryReject as exc:
            rejects.append(Reject(row, code, str(exc)))
            out.append(None)
            continue
        repaired += fixed
        if opts.extent:
            where = extent_check(geom, opts.extent)
            p = geom.representative_point()
            if where == "outside":
                rejects.append(
                    Reject(
                        row,
                        code,
                        f"超出辖区范围 — outside the district extent {list(opts.extent)}: "
                        f"near {p.x:.6f}, {p.y:.6f}",
                    )
                )
            elif where == "partly":
                partly += 1
                partly_example = partly_example or f"row {row} ({code}) bounds {geom.bounds}"
        out.append(geom)
    if partly:
        notes.append(
            f"{partly} 个要素部分超出辖区范围 — {partly} features extend beyond the district "
            f"extent, e.g. {partly_example}"
        )
    return out, rejects, repaired, notes, resolved.label


def prepare(
    conn: psycopg2.extensions.connection,
    profile: ImportProfile,
    source: Source,
    opts: ImportOptions,
) -> tuple[_Prepared, Mapping]:
    catalog = table_columns(conn, profile.table)
    targets = _targets(profile, catalog)
    mapping = resolve_mapping(
        [str(c) for c in source.attributes.columns],
        profile,
        targets,
        opts.configured,
        opts.field_map,
        empty={str(c) for c in source.attributes.columns if source.attributes[c].isna().all()},
    )
    unknown = [k for k in opts.defaults if k not in targets]
    if unknown:
        raise UsageError(f"--set: 没有字段 — no such field: {', '.join(unknown)}")
    columns = _loaded_columns(profile, catalog, mapping, opts.defaults)
    records, rejects = _rows(source, profile, mapping, columns, opts.defaults)
    geoms, repaired, notes, crs_label = None, 0, [], None
    if profile.geometry:
        geoms, geom_rejects, repaired, notes, crs_label = _geometries(
            source, profile, opts, records
        )
        rejects += geom_rejects
    rejects += duplicate_rejects(
        [r["_row"] for r in records], [r.get(profile.key) for r in records]
    )
    return _Prepared(columns, records, geoms, rejects, repaired, notes, crs_label), mapping


def _load(
    conn: psycopg2.extensions.connection, profile: ImportProfile, prep: _Prepared
) -> tuple[load.LoadCounts, list[Reject]]:
    bad = {r.row for r in prep.rejects}
    keep = [i for i, r in enumerate(prep.records) if r["_row"] not in bad]
    records = [prep.records[i] for i in keep]
    geoms = [prep.geoms[i] for i in keep] if prep.geoms is not None else None
    with conn.cursor() as cur:
        load.stage(cur, prep.columns, records, geoms)
        located = load.locate(cur) if profile.locate else 0
        table_cols = [c for c in prep.columns if c.name not in profile.contacts]
        if profile.versioned:
            topology = check_grid_topology(cur, load.STAGE)
            if topology:
                return load.LoadCounts(), topology
            counts = upsert_grids(cur, table_cols, len(records))
        else:
            counts = load.upsert(cur, profile, table_cols, len(records))
        load.upsert_contacts(cur, [c.name for c in prep.columns if c.name in profile.contacts])
        counts.located = located
    return counts, []


def _db_message(exc: psycopg2.Error) -> str:
    diag = exc.diag
    parts = [diag.message_primary or str(exc).strip()]
    if diag.message_detail:
        parts.append(diag.message_detail)
    return "数据库拒绝写入 — the database refused the load: " + " ".join(parts)


def import_vector(dsn: str, layer_id: str, path: str | Path, opts: ImportOptions) -> ImportResult:
    """Run one import; all or nothing (unless allow_rejects). Raises EtlError on failure."""
    path = Path(path)
    profile = get_profile(layer_id)
    result = ImportResult(layer=layer_id, file=str(path), sha256=importlog.sha256_of(path))
    entry = importlog.LogEntry(
        who=opts.user or importlog.current_user(),
        layer=layer_id,
        status="failed",
        file_name=str(path),
        sha256=result.sha256,
        job=opts.job,
    )
    conn = psycopg2.connect(dsn, application_name="onemap-etl")
    try:
        try:
            source = read_source(path, table=opts.table, x=opts.x, y=opts.y, encoding=opts.encoding)
            prep, mapping = prepare(conn, profile, source, opts)
        except EtlError as exc:
            if not opts.dry_run and not isinstance(exc, UsageError):
                entry.message = str(exc)
                importlog.write_alone(dsn, entry)
            raise
        _describe(result, source, prep, mapping)
        try:
            if prep.rejects and not opts.allow_rejects:
                counts, late_rejects = load.LoadCounts(), []  # all or nothing: do not load
            else:
                counts, late_rejects = _load(conn, profile, prep)
        except psycopg2.Error as exc:
            conn.rollback()
            entry.message = _db_message(exc)
            importlog.write_alone(dsn, _fill(entry, result)) if not opts.dry_run else None
            raise EtlError(entry.message, file=str(path)) from exc
        return _conclude(conn, dsn, opts, entry, result, prep.rejects + late_rejects, counts)
    finally:
        conn.close()


def _describe(result: ImportResult, source: Source, prep: _Prepared, mapping: Mapping) -> None:
    """What was read and how it was understood (CRS, repairs, notes, early rejects)."""
    result.read = len(source)
    result.crs = prep.crs_label
    result.repaired = prep.repaired
    result.notes = source.notes + prep.notes
    if mapping.ignored:
        result.notes.append("未导入的列 — columns not imported: " + ", ".join(mapping.ignored))
    result.rejects = prep.rejects


def _conclude(
    conn,  # noqa: ANN001
    dsn: str,
    opts: ImportOptions,
    entry: importlog.LogEntry,
    result: ImportResult,
    rejects: list,
    counts: load.LoadCounts,
) -> ImportResult:
    """Commit, or roll back a dry run or a refused load; log it and write the rejects file."""
    late = len(rejects) > len(result.rejects)  # rows the database refused while loading
    result.rejects = rejects
    result.rejected = len({r.row for r in rejects})
    if rejects:
        result.rejects_file = write_rejects(
            opts.rejects_path or default_rejects_path(Path(result.file)), rejects
        )
    blocked = bool(rejects) and (not opts.allow_rejects or late)
    if opts.dry_run or blocked:
        conn.rollback()
    if blocked:
        result.status = "rejected"
        if not opts.dry_run:
            importlog.write_alone(dsn, _fill(entry, result, "rejected"))
        return result
    result.inserted, result.updated = counts.inserted, counts.updated
    result.unchanged, result.located = counts.unchanged, counts.located
    if opts.dry_run:
        result.status = "dry-run"
        return result
    result.status = "partial" if rejects else "ok"
    with conn.cursor() as cur:
        result.log_id = importlog.write(cur, _fill(entry, result, result.status))
    conn.commit()
    return result


def _fill(
    entry: importlog.LogEntry, result: ImportResult, status: str | None = None
) -> importlog.LogEntry:
    entry.status = status or entry.status
    entry.read_count = result.read
    entry.inserted, entry.updated, entry.unchanged = (
        result.inserted,
        result.updated,
        result.unchanged,
    )
    entry.repaired, entry.rejected = result.repaired, result.rejected
    entry.details = {
        "crs": result.crs,
        "located": result.located,
        "rejects_file": str(result.rejects_file) if result.rejects_file else None,
        "notes": result.notes,
        **result.extra,
    }
    if result.rejects and not entry.message:
        entry.message = f"{result.rejected} rows rejected"
    return entry

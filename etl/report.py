"""What an import tells the person who ran it: the summary and the reject file."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from etl.validate import Reject


@dataclass
class ImportResult:
    layer: str
    file: str
    status: str = "ok"  # ok | partial | rejected | failed | dry-run
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    repaired: int = 0
    rejected: int = 0
    located: int = 0
    crs: str | None = None
    sha256: str | None = None
    rejects: list[Reject] = field(default_factory=list)
    rejects_file: Path | None = None
    notes: list[str] = field(default_factory=list)
    extra: dict[str, int] = field(default_factory=dict)  # format-specific counts (GPS)
    log_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "partial", "dry-run")


def default_rejects_path(source: Path) -> Path:
    """`grids.shp` -> `grids.rejects.csv`, next to the input."""
    return source.with_name(source.stem + ".rejects.csv")


def write_rejects(path: Path, rejects: list[Reject]) -> Path:
    """CSV (UTF-8 with BOM so Excel shows Chinese): row, code, reason — sorted by row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(["row", "code", "reason"])
        for r in sorted(rejects, key=lambda r: (r.row, r.reason)):
            writer.writerow([r.row, r.code or "", r.reason])
    return path


_LABELS = (
    ("read", "读取 read"),
    ("inserted", "新增 inserted"),
    ("updated", "更新 updated"),
    ("unchanged", "未变 unchanged"),
    ("repaired", "修复 repaired"),
    ("rejected", "拒绝 rejected"),
)
_STATUS = {
    "ok": "导入完成 — imported",
    "partial": "部分导入(有拒绝行) — imported with rejected rows",
    "rejected": "有拒绝行,未写入任何数据 — rows rejected, nothing written",
    "failed": "导入失败,未写入任何数据 — import failed, nothing written",
    "dry-run": "试运行,未写入任何数据 — dry run, nothing written",
}


def summary_lines(result: ImportResult) -> list[str]:
    lines = [f"{_STATUS.get(result.status, result.status)}: {result.layer} ← {result.file}"]
    if result.crs:
        lines.append(f"  坐标系 CRS: {result.crs}")
    lines += [f"  {note}" for note in result.notes]
    counts = "  " + ", ".join(f"{label} {getattr(result, key)}" for key, label in _LABELS)
    lines.append(counts)
    if result.located:
        lines.append(f"  按位置补全网格/镇街 located in grid/town: {result.located}")
    for key, value in result.extra.items():
        lines.append(f"  {key}: {value}")
    if result.rejects:
        lines.append(f"  拒绝行清单 reject report: {result.rejects_file}")
        for r in sorted(result.rejects, key=lambda r: r.row)[:5]:
            lines.append(f"    row {r.row} code {r.code or '-'}: {r.reason}")
        if len(result.rejects) > 5:
            lines.append(f"    … {len(result.rejects) - 5} more")
    return lines

"""Which source column feeds which layer field.

Strongest first: `--map src=dst`, the layer's `imports.fields` in config.yml,
then automatic matches on the field name, its Chinese title (网格编码 → code)
or its English title. Unmatched source columns are ignored and reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from etl.errors import UsageError
from etl.profiles import CONTACT_ALIASES, ImportProfile


def _norm(name: str) -> str:
    return str(name).strip().lower().replace(" ", "").replace("_", "")


@dataclass
class Mapping:
    fields: dict[str, str]  # source column -> layer field
    ignored: list[str] = field(default_factory=list)


def parse_map_option(text: str | None) -> dict[str, str]:
    """`网格编码=code,网格名称=name` -> {'网格编码': 'code', ...}."""
    result: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise UsageError(f"--map 应为 源列=字段 — --map expects src=dst, got {part!r}")
        src, dst = (p.strip() for p in part.split("=", 1))
        result[src] = dst
    return result


def auto_names(profile: ImportProfile, targets: list[str]) -> dict[str, str]:
    """Normalised names that match each target automatically."""
    names: dict[str, str] = {}
    for target in targets:
        prop = profile.layer.prop(target)
        aliases = [target]
        if prop is not None:
            aliases += [prop.title_zh, prop.title_en]
        aliases += list(CONTACT_ALIASES.get(target, ()))
        for alias in aliases:
            names.setdefault(_norm(alias), target)
    return names


def _truncated(column: str, targets: list[str]) -> str | None:
    """A Shapefile cuts field names to 10 bytes (worker_phone -> worker_pho): undo that."""
    if len(column.encode()) != 10:
        return None
    found = [t for t in targets if t.startswith(column)]
    return found[0] if len(found) == 1 else None


def resolve_mapping(
    columns: list[str],
    profile: ImportProfile,
    targets: list[str],
    configured: dict[str, str] | None = None,
    explicit: dict[str, str] | None = None,
    empty: set[str] | None = None,
) -> Mapping:
    """Map source columns to `targets`; a name in config or --map that matches nothing is an error."""
    fields: dict[str, str] = {}
    for origin, given in (("--map", explicit or {}), ("config.yml imports", configured or {})):
        for src, dst in given.items():
            if dst not in targets:
                raise UsageError(
                    f"{origin}: {profile.id} 没有可导入字段 {dst!r} — {profile.id} has no importable "
                    f"field {dst!r}; fields: {', '.join(targets)}"
                )
            if src in columns and src not in fields and dst not in fields.values():
                fields[src] = dst
            elif origin == "--map" and src not in columns:
                raise UsageError(
                    f"--map: 文件中没有列 {src!r} — the file has no column {src!r}; "
                    f"columns: {', '.join(columns)}"
                )
    auto = auto_names(profile, targets)
    for column in columns:
        if column in fields or column in (empty or set()):
            continue  # an all-blank column (KML's Name beside 点位名称) never wins a field
        target = auto.get(_norm(column)) or _truncated(column, targets)
        if target and target not in fields.values():
            fields[column] = target
    return Mapping(fields, [c for c in columns if c not in fields])

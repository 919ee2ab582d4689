"""Departments and duty rules: the admin's edits and the XLSX import, as plain SQL.

Rules are keyed by (category, subcategory, town_code) — NULLs equal —, so an
import upserts: a centre re-imports its whole 三定 list after each revision.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from layers import vocab
from layers.dispatch.errors import BadInput
from layers.dispatch.rows import all_rows, one

DEPARTMENT_FIELDS = ("code", "name", "kind", "town_code", "phone")
RULE_FIELDS = (
    "category", "subcategory", "town_code", "department_code", "time_limit_hours",
    "urgent_hours", "critical_hours", "same_day", "note",
)  # fmt: skip
RULE_COLUMNS = "id, " + ", ".join(RULE_FIELDS) + ", updated_at"

UPSERT_RULE_SQL = f"""
INSERT INTO duty_rules ({", ".join(RULE_FIELDS)})
VALUES ({", ".join(f"%({f})s" for f in RULE_FIELDS)})
ON CONFLICT ON CONSTRAINT duty_rules_key DO UPDATE SET
  department_code = EXCLUDED.department_code, time_limit_hours = EXCLUDED.time_limit_hours,
  urgent_hours = EXCLUDED.urgent_hours, critical_hours = EXCLUDED.critical_hours,
  same_day = EXCLUDED.same_day, note = EXCLUDED.note, updated_at = now()
RETURNING {RULE_COLUMNS}, (xmax = 0) AS inserted
"""


def list_departments(cur: Any) -> list[dict[str, Any]]:
    cur.execute(f"SELECT {', '.join(DEPARTMENT_FIELDS)}, updated_at FROM departments ORDER BY code")
    return all_rows(cur)


def check_department(d: dict[str, Any]) -> dict[str, Any]:
    if d.get("kind") not in vocab.DEPARTMENT_KINDS:
        raise BadInput("kind", f"应为 {'|'.join(vocab.DEPARTMENT_KINDS)} — unknown kind")
    if (d["kind"] == "town_office") != bool(d.get("town_code")):
        raise BadInput("town_code", "镇街办必须且只有镇街办填写 — required exactly for town_office")
    return {f: d.get(f) for f in DEPARTMENT_FIELDS}


def save_department(cur: Any, d: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Insert or update by code; (row, created)."""
    cur.execute(
        "INSERT INTO departments (code, name, kind, town_code, phone) "
        "VALUES (%(code)s, %(name)s, %(kind)s, %(town_code)s, %(phone)s) "
        "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind, "
        "town_code = EXCLUDED.town_code, phone = EXCLUDED.phone, updated_at = now() "
        f"RETURNING {', '.join(DEPARTMENT_FIELDS)}, updated_at, (xmax = 0) AS inserted",
        check_department(d),
    )
    row = one(cur)
    return row, bool(row.pop("inserted"))


def delete_department(cur: Any, code: str) -> bool:
    cur.execute("SELECT count(*) FROM duty_rules WHERE department_code = %(c)s", {"c": code})
    if cur.fetchone()[0]:
        raise BadInput("code", f"部门 {code} 仍有职责规则 — department still has duty rules")
    cur.execute("DELETE FROM departments WHERE code = %(c)s RETURNING code", {"c": code})
    return cur.fetchone() is not None


def list_rules(cur: Any) -> list[dict[str, Any]]:
    cur.execute(
        f"SELECT {RULE_COLUMNS} FROM duty_rules ORDER BY category, subcategory NULLS FIRST, town_code NULLS FIRST"
    )
    return all_rows(cur)


def _hours(value: Any, field: str, required: bool) -> float | None:
    if value in (None, ""):
        if required:
            raise BadInput(field, "必填 — required")
        return None
    try:
        hours = float(value)
    except (TypeError, ValueError):
        raise BadInput(field, "应为小时数 — must be a number of hours") from None
    if not 0 < hours <= 24 * 365:
        raise BadInput(field, "应大于 0 — must be positive (≤ 1 year)")
    return hours


def check_rule(cur: Any, r: dict[str, Any]) -> dict[str, Any]:
    """A rule's fields checked (BadInput naming the field); text fields trimmed."""
    out: dict[str, Any] = {}
    for f in ("category", "subcategory", "town_code", "department_code", "note"):
        v = r.get(f)
        if v is not None and not isinstance(v, str):
            v = str(v)
        out[f] = v.strip() or None if isinstance(v, str) else None
    if not out["category"]:
        raise BadInput("category", "必填 — required")
    if not out["department_code"]:
        raise BadInput("department_code", "必填 — required")
    cur.execute("SELECT 1 FROM departments WHERE code = %(c)s", {"c": out["department_code"]})
    if cur.fetchone() is None:
        raise BadInput("department_code", f"没有该部门 — no department {out['department_code']!r}")
    out["time_limit_hours"] = _hours(r.get("time_limit_hours"), "time_limit_hours", True)
    out["urgent_hours"] = _hours(r.get("urgent_hours"), "urgent_hours", False)
    out["critical_hours"] = _hours(r.get("critical_hours"), "critical_hours", False)
    same_day = r.get("same_day", False)
    if same_day in ("是", "Y", "y", "yes", "true", "1", 1):
        same_day = True
    elif same_day in (None, "", "否", "N", "n", "no", "false", "0", 0):
        same_day = False
    if not isinstance(same_day, bool):
        raise BadInput("same_day", "应为 是/否 — must be true or false")
    out["same_day"] = same_day
    return out


def save_rule(cur: Any, r: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Upsert one rule by its key; (row, created)."""
    cur.execute(UPSERT_RULE_SQL, check_rule(cur, r))
    row = one(cur)
    return row, bool(row.pop("inserted"))


def update_rule(cur: Any, rule_id: int, r: dict[str, Any]) -> dict[str, Any] | None:
    fields = check_rule(cur, r)
    sets = ", ".join(f"{f} = %({f})s" for f in RULE_FIELDS)
    cur.execute(
        f"UPDATE duty_rules SET {sets}, updated_at = now() WHERE id = %(id)s RETURNING {RULE_COLUMNS}",
        {**fields, "id": rule_id},
    )
    return one(cur)


def delete_rule(cur: Any, rule_id: int) -> bool:
    cur.execute("DELETE FROM duty_rules WHERE id = %(id)s RETURNING id", {"id": rule_id})
    return cur.fetchone() is not None


def import_rules(cur: Any, rows: Iterable[tuple[int, dict[str, Any]]]) -> dict[str, int]:
    """Upsert (row number, fields) pairs; a bad row names itself ("row 7: department_code")."""
    counts = {"inserted": 0, "updated": 0}
    for number, fields in rows:
        try:
            _, created = save_rule(cur, fields)
        except BadInput as exc:
            raise BadInput(f"row {number}: {exc.field}", str(exc).split(": ", 1)[-1]) from None
        counts["inserted" if created else "updated"] += 1
    return counts

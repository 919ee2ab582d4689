"""协办 shares: departments asked to help the lead department on one event, and their part.

A co-handling department's handler records its part (`cohandle_done`, with a
note) — a dispatcher or admin may record it on the department's behalf (the
answer came by phone). The lead department cannot resolve while a share is
open: its 办结 answers for the whole event, so the shares' parts must be in
(409 names the open shares). Asking a department again re-opens its share.
"""

from __future__ import annotations

from typing import Any

from layers.dispatch.rows import all_rows

ASK_SQL = """
INSERT INTO event_cohandlers (event_code, department_code, added_at) VALUES (%(code)s, %(dept)s, now())
ON CONFLICT (event_code, department_code) DO UPDATE
  SET added_at = now(), done_at = NULL, done_by = NULL, done_note = NULL
"""

DONE_SQL = """
UPDATE event_cohandlers SET done_at = now(), done_by = %(actor)s, done_note = %(note)s
WHERE event_code = %(code)s AND department_code = %(dept)s AND done_at IS NULL
"""

LIST_SQL = """
SELECT c.department_code, d.name AS department, c.added_at, c.done_at, c.done_by, c.done_note
FROM event_cohandlers c JOIN departments d ON d.code = c.department_code
WHERE c.event_code = %(code)s ORDER BY c.added_at, c.department_code
"""


def ask(cur: Any, code: str, dept: str) -> None:
    cur.execute(ASK_SQL, {"code": code, "dept": dept})


def complete(cur: Any, code: str, dept: str, actor: str, note: str | None) -> bool:
    """Mark `dept`'s open share done; False when it had none open."""
    cur.execute(DONE_SQL, {"code": code, "dept": dept, "actor": actor, "note": note})
    return cur.rowcount == 1


def of_event(cur: Any, code: str) -> list[dict[str, Any]]:
    """Every share, oldest first, with its department's name and whether (and how) it is done."""
    cur.execute(LIST_SQL, {"code": code})
    return all_rows(cur)


def open_departments(cur: Any, code: str) -> list[str]:
    cur.execute(
        "SELECT department_code FROM event_cohandlers WHERE event_code = %(code)s "
        "AND done_at IS NULL ORDER BY department_code",
        {"code": code},
    )
    return [r[0] for r in cur.fetchall()]

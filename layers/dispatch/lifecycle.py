"""The lifecycle: (state, action) → next state, who may do it, and what it changes.

受理 received/manual → 派发 dispatched → 签收 accepted → 办结 resolved → 核查 verified
→ 归档 closed; 退回 returned (back to the dispatcher), reopen after a failed
verification or an unsatisfied call-back, 督办 escalate and 协办 cohandle on any
open event (a co-handling department records its part with cohandle_done; the lead
cannot resolve while a share is open — layers/dispatch/shares.py), 回访 callback
(satisfaction) once verified. A dispatch (派单/改派) takes its due time from the chosen
department's duty rule for the category and priority, counted from the dispatch. Admins may do
everything; other roles only what the table lists, handlers only on their
department's events and grid workers on their grids' (scope). The row is
locked and its version compared, so two concurrent actions cannot both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from layers import vocab
from layers.dispatch import queues, rules, scope, shares, timeline
from layers.dispatch.errors import (
    BadInput,
    NotPermitted,
    TransitionRefused,
    UnknownEvent,
    VersionConflict,
)
from layers.dispatch.rows import one
from layers.dispatch.timeline import Actor

DISPATCHER = frozenset({"dispatcher"})
FIELD = frozenset({"handler", "grid_worker"})
OPEN = tuple(s for s in vocab.EVENT_STATUSES if s != "closed")

# (from, action) → (to, roles allowed besides admin); to None: the state stays.
TRANSITIONS: dict[tuple[str, str], tuple[str | None, frozenset[str]]] = {
    ("received", "dispatch"): ("dispatched", DISPATCHER),
    ("manual", "dispatch"): ("dispatched", DISPATCHER),
    ("returned", "dispatch"): ("dispatched", DISPATCHER),
    ("dispatched", "dispatch"): ("dispatched", DISPATCHER),  # 改派
    ("dispatched", "accept"): ("accepted", FIELD),
    ("dispatched", "return"): ("returned", FIELD),
    ("accepted", "return"): ("returned", FIELD),
    ("accepted", "resolve"): ("resolved", FIELD),
    ("resolved", "verify"): ("verified", DISPATCHER | {"grid_worker"}),
    ("resolved", "reopen"): ("accepted", DISPATCHER | {"grid_worker"}),
    ("verified", "reopen"): ("accepted", DISPATCHER),
    ("verified", "close"): ("closed", DISPATCHER),
    ("verified", "callback"): (None, DISPATCHER),
    ("closed", "callback"): (None, DISPATCHER),
    ("closed", "reopen"): ("dispatched", DISPATCHER),
    **{(s, "escalate"): (None, DISPATCHER) for s in OPEN},
    **{(s, "cohandle"): (None, DISPATCHER | {"handler"}) for s in ("dispatched", "accepted")},
    **{(s, "cohandle_done"): (None, DISPATCHER | {"handler"})
       for s in ("dispatched", "accepted", "returned")},
}  # fmt: skip
ACTIONS = tuple(sorted({a for _, a in TRANSITIONS}))

# Columns only intake and `act` set: an OGC Part 4 write naming one is refused (422), so the
# state can change only through POST /api/events/{code}/actions, with its checks and timeline.
LOOP_COLUMNS = frozenset({
    "status", "department_code", "department", "due_at", "closed_at", "dispatched_at",
    "accepted_at", "resolved_at", "verified_at", "overdue_at", "version", "escalation_level",
    "satisfaction", "dispatch_reason", "return_count", "auto_dispatched", "grid_worker",
})  # fmt: skip
NOTE_REQUIRED = frozenset({"return", "reopen", "escalate", "cohandle_done"})

# Columns each action sets besides status, version and updated_at.
EFFECTS = {
    "dispatch": "dispatched_at = now(), department_code = %(dept)s, department = %(dept_name)s, "
    "dispatch_reason = %(reason)s, closed_at = NULL, due_at = %(due_at)s, "
    "overdue_at = CASE WHEN %(due_at)s > now() THEN NULL ELSE overdue_at END",
    "accept": "accepted_at = now()",
    "resolve": "resolved_at = now()",
    "verify": "verified_at = now()",
    "reopen": "resolved_at = NULL, verified_at = NULL, closed_at = NULL, satisfaction = NULL",
    "close": "closed_at = now()",
    "escalate": "escalation_level = escalation_level + 1",
    "return": "return_count = return_count + 1",
    "callback": "satisfaction = %(satisfaction)s",
}


@dataclass(frozen=True)
class Request:
    action: str
    note: str | None = None
    department_code: str | None = None
    expected_version: int | None = None
    satisfaction: str | None = None


def allowed_actions(status: str, role: str | None) -> list[str]:
    """The actions `role` may take next from `status` (admin: every action of the state)."""
    return sorted(
        a
        for (s, a), (_, roles) in TRANSITIONS.items()
        if s == status and (role == "admin" or role in roles)
    )


def allowed_for(
    actor: Actor, ev: dict[str, Any], open_shares: list[str] | tuple[str, ...] = ()
) -> list[str]:
    """What `actor` may do next to this event: the role's actions of its state, within scope.

    A handler of a co-handling department (not the lead) may only record its share; nobody
    resolves while `open_shares` remain; cohandle_done needs an open share (its own for a handler).
    """
    if not scope.in_district(actor, ev.get("district_code")):
        return []
    acts = allowed_actions(ev["status"], actor.role)
    lead = _in_scope(actor, ev)
    mine = actor.role == "handler" and actor.department_code in open_shares
    out = []
    for a in acts:
        if a == "cohandle_done":
            if mine or (actor.role != "handler" and open_shares):
                out.append(a)
        elif lead and not (a == "resolve" and open_shares):
            out.append(a)
    return out


def _in_scope(actor: Actor, ev: dict[str, Any]) -> bool:
    """Is the actor on the lead side of the event (its department, its grid; others: all)?
    Nobody with a district acts on another district's event."""
    if not scope.in_district(actor, ev.get("district_code")):
        return False
    if actor.role == "handler":
        return actor.department_code is not None and ev["department_code"] == actor.department_code
    if actor.role == "grid_worker":
        return ev["grid_code"] in actor.grid_codes
    return True


def _authorise(cur: Any, actor: Actor, ev: dict[str, Any], req: Request) -> str | None:
    """The next state, or the refusal: 412 stale version, 409 wrong state, 403 role or scope."""
    if req.expected_version is not None and req.expected_version != ev["version"]:
        raise VersionConflict(req.expected_version, ev["version"])
    key = (ev["status"], req.action)
    open_shares = shares.open_departments(cur, ev["code"])
    if key not in TRANSITIONS:
        raise TransitionRefused(ev["status"], req.action, allowed_for(actor, ev, open_shares))
    to, roles = TRANSITIONS[key]
    if actor.role != "admin" and actor.role not in roles:
        raise NotPermitted(
            f"角色 {actor.role} 不能执行 {req.action} — role {actor.role} may not {req.action} "
            f"(allowed: admin, {', '.join(sorted(roles))})"
        )
    if not scope.in_district(actor, ev.get("district_code")):
        raise NotPermitted(
            f"该事件不在您的区县 — event {ev['code']} is not in your district {actor.district_code}"
        )
    if req.action == "cohandle_done":
        _authorise_share(cur, actor, ev, req, open_shares)
    elif not _in_scope(actor, ev):
        raise NotPermitted(
            f"该事件不在您的职责范围 — event {ev['code']} is not in your department or grids"
        )
    if req.action == "resolve" and open_shares:
        raise TransitionRefused(
            ev["status"], req.action, allowed_for(actor, ev, open_shares),
            why=f"协办未完成 — co-handling shares still open: {', '.join(open_shares)}",
        )  # fmt: skip
    return to


def share_department(actor: Actor, req: Request) -> str | None:
    """Whose share a cohandle_done records: a handler's own department, else the one named."""
    return actor.department_code if actor.role == "handler" else req.department_code


def _authorise_share(
    cur: Any, actor: Actor, ev: dict[str, Any], req: Request, open_shares: list[str]
) -> None:
    """403 for a handler whose department was never asked; 409 when the share is already done."""
    dept = share_department(actor, req)
    if dept is None:
        raise BadInput("department_code", "必填: 哪个协办部门 — which co-handling department")
    if dept in open_shares:
        return
    asked = any(s["department_code"] == dept for s in shares.of_event(cur, ev["code"]))
    if not asked and actor.role == "handler":
        raise NotPermitted(
            f"贵部门不是事件 {ev['code']} 的协办部门 — {dept} is not co-handling this event"
        )
    if not asked:
        raise BadInput("department_code", f"不是该事件的协办部门 — {dept} is not co-handling it")
    raise TransitionRefused(
        ev["status"], req.action, allowed_for(actor, ev, open_shares),
        why=f"协办已完成 — the share of {dept} is already done",
    )  # fmt: skip


def _check_body(cur: Any, req: Request, actor: Actor) -> dict[str, Any]:
    """Parameters of the action's SQL; BadInput names a missing or wrong field."""
    if req.action in NOTE_REQUIRED and not (req.note or "").strip():
        raise BadInput("note", f"{req.action} 需要说明理由 — a reason is required")
    params: dict[str, Any] = {"dept": None, "dept_name": None, "satisfaction": req.satisfaction}
    if req.action == "cohandle_done":
        params["dept"] = share_department(actor, req)
    if req.action in ("dispatch", "cohandle"):
        if not req.department_code:
            raise BadInput("department_code", "必填 — required")
        cur.execute("SELECT name FROM departments WHERE code = %(c)s", {"c": req.department_code})
        row = one(cur)
        if row is None:
            raise BadInput("department_code", f"没有该部门 — no department {req.department_code!r}")
        params.update(dept=req.department_code, dept_name=row["name"])
    if req.action == "callback" and req.satisfaction not in vocab.SATISFACTION:
        raise BadInput("satisfaction", f"应为 {'|'.join(vocab.SATISFACTION)} — required")
    return params


def _dispatch_due(
    cur: Any, ev: dict[str, Any], params: dict[str, Any], actor: Actor, policy: rules.Policy
) -> None:
    """The due time and reason of a (re-)dispatch: the chosen department's rule, from now."""
    rule, how = rules.for_dispatch(cur, ev, params["dept"])
    cur.execute("SELECT now()")
    now = cur.fetchone()[0]
    due = rules.due_at(rule, ev["priority"], now, policy) if rule else ev["due_at"]
    hours = f", {rules.limit_hours(rule, ev['priority'], policy):g} h" if rule else ""
    params.update(due_at=due, reason=f"manual dispatch by {actor.name} → {params['dept_name']}; "
                  f"{how} ({ev['priority']}{hours})")  # fmt: skip


def act(
    cur: Any, code: str, req: Request, actor: Actor, policy: rules.Policy | None = None
) -> dict[str, Any]:
    """Apply `req` to event `code` as `actor`; the event afterwards (not committed)."""
    ev = queues.event(cur, code, lock=True)
    if ev is None:
        raise UnknownEvent(code)
    to = _authorise(cur, actor, ev, req)
    params = _check_body(cur, req, actor)
    if req.action == "dispatch":
        _dispatch_due(cur, ev, params, actor, policy or rules.Policy())
    new_status = to or ev["status"]
    sets = ["status = %(status)s", "version = version + 1", "updated_at = now()"]
    if effect := EFFECTS.get(req.action):
        sets.append(effect)
    params.update(code=code, status=new_status)
    cur.execute(f"UPDATE events SET {', '.join(sets)} WHERE code = %(code)s", params)  # noqa: S608
    if req.action == "cohandle":
        shares.ask(cur, code, params["dept"])
    elif req.action == "cohandle_done":
        shares.complete(cur, code, params["dept"], actor.name, req.note)
    note = (
        req.note
        if req.action != "callback"
        else f"{req.satisfaction}: {req.note or ''}".rstrip(": ")
    )
    if req.action == "dispatch":
        note = f"{req.note}; {params['reason']}" if req.note else params["reason"]
    timeline.record(
        cur, code, req.action, actor, ev["status"], new_status, note=note,
        department_code=params["dept"] or ev["department_code"],
    )  # fmt: skip
    timeline.notify(cur, code)
    return queues.event(cur, code)

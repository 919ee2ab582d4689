"""The dispatch loop's HTTP face (issue 14): intake, queues, detail, actions, duty list.

Routes only parse, authorise and call `layers.dispatch`; each is an
`api_route` with its RouteDoc (summary, least role, params, schemas).
"""

from __future__ import annotations

from starlette.routing import Route

from gis_server.auth import Role
from gis_server.dispatch import admin, events, intake, photos, schemas
from gis_server.routing import Body, Param, RouteDoc, api_route
from layers.dispatch import stats

TAGS = ("dispatch",)
_CODE = Param("code", "path", required=True, description="event code")


_VERSIONED = ("ETag",)  # '"v<version>"' of the event, for If-Match on its next action


def _ok(
    description: str,
    schema: dict | None = None,
    types: tuple[str, ...] = (),
    headers: tuple[str, ...] = (),
) -> Body:
    return Body(description, schema, types or ("application/json",), headers)


def _event_routes() -> list[Route]:
    queue_params = (
        Param("queue", schema={"enum": list(events.queues.QUEUES), "default": "open"}),
        *(Param(n) for n in events.FILTERS),
        Param("limit", schema={"type": "integer", "minimum": 1}),
        Param("offset", schema={"type": "integer", "minimum": 0}),
    )
    return [
        api_route("/api/events", intake.submit, methods=["POST"], doc=RouteDoc(
            "Submit an event (12345, 数字城管, camera AI, geofence, grid worker); idempotent "
            "on (source, external_id); auto-dispatched", Role.REPORTER, TAGS,
            request=Body("the ticket", schemas.INTAKE),
            responses={201: _ok("created and dispatched", schemas.EVENT, headers=("ETag", "Location")),
                       200: _ok("re-sent ticket: the existing event", schemas.EVENT,
                                headers=("ETag", "Location"))})),
        api_route("/api/events", events.list_events, methods=["GET"], doc=RouteDoc(
            "Queues of events (new, manual, overdue, returned, mine …), filtered and paged",
            Role.GRID_WORKER, TAGS, queue_params,
            responses={200: _ok("one page", schemas.EVENT_PAGE)})),
        api_route("/api/events/{code}", events.detail, methods=["GET"], doc=RouteDoc(
            "One event with its timeline; the reporter's contact for dispatchers and admins",
            Role.GRID_WORKER, TAGS, (_CODE,),
            responses={200: _ok("the event", schemas.EVENT_DETAIL, headers=_VERSIONED)})),
        api_route("/api/events/{code}/actions", events.act, methods=["POST"], doc=RouteDoc(
            "Act on an event: dispatch, accept, return, resolve, verify, close, reopen, "
            "escalate, cohandle, callback (409 names the allowed next actions)",
            Role.GRID_WORKER, TAGS, (_CODE, Param("If-Match", "header")),
            request=Body("the action", schemas.ACTION),
            responses={200: _ok("the event afterwards", schemas.EVENT, headers=_VERSIONED)})),
        api_route("/api/events/{code}/nearby", events.nearby_resources, methods=["GET"], doc=RouteDoc(
            "Cameras, vehicles and boats near an event, and its grid worker",
            Role.GRID_WORKER, TAGS, (_CODE, Param("limit", schema={"type": "integer"})),
            responses={200: _ok("nearby resources", schemas.NEARBY)})),
        api_route("/api/dispatch/stats", events.statistics, methods=["GET"], doc=RouteDoc(
            "Statistics per town, department, category, grid or source over a period "
            "(received, auto-dispatched, closed, closure and on-time rates, hours, returns, satisfaction)",
            Role.DISPATCHER, TAGS, (Param("by", schema={"enum": list(stats.GROUPS)}),
                                    Param("from", schema={"type": "string", "format": "date"}),
                                    Param("to", schema={"type": "string", "format": "date"})),
            responses={200: _ok("one row per group", schemas.STATS)})),
    ]  # fmt: skip


def _photo_routes() -> list[Route]:
    name = Param("name", "path", required=True, description="<id>.jpg or <id>.png")
    return [
        api_route("/api/events/{code}/photos", photos.upload, methods=["POST"], doc=RouteDoc(
            "Attach a photo (raw JPEG or PNG body, sniffed from the bytes; re-encoded without "
            "EXIF/GPS; 413 above dispatch.photo_max_bytes)", Role.GRID_WORKER, TAGS, (_CODE,),
            request=Body("the image", None, photos.UPLOAD_TYPES),
            responses={201: _ok("stored", schemas.PHOTO)})),
        api_route("/api/events/{code}/photos/{name}", photos.serve, methods=["GET"], doc=RouteDoc(
            "A photo of an event, for those who may see the event", Role.GRID_WORKER, TAGS,
            (_CODE, name), responses={200: _ok("the image", None, photos.UPLOAD_TYPES,
                                               ("Cache-Control",))})),
    ]  # fmt: skip


def _duty_routes() -> list[Route]:
    dept = Param("code", "path", required=True)
    rule = Param("id", "path", required=True, schema={"type": "integer"})
    return [
        api_route("/api/departments", admin.departments, methods=["GET"], doc=RouteDoc(
            "Departments", Role.VIEWER, TAGS,
            responses={200: _ok("all", schemas.list_of(schemas.DEPARTMENT, "departments"))})),
        api_route("/api/departments", admin.save_department, methods=["POST"], doc=RouteDoc(
            "Create (or update) a department", Role.ADMIN, TAGS,
            request=Body("department", schemas.DEPARTMENT),
            responses={201: _ok("created", schemas.DEPARTMENT)})),
        api_route("/api/departments/{code}", admin.save_department, methods=["PUT"], doc=RouteDoc(
            "Replace a department", Role.ADMIN, TAGS, (dept,),
            request=Body("department", schemas.DEPARTMENT),
            responses={200: _ok("saved", schemas.DEPARTMENT)})),
        api_route("/api/departments/{code}", admin.delete_department, methods=["DELETE"],
                  doc=RouteDoc("Delete a department without duty rules", Role.ADMIN, TAGS, (dept,),
                               responses={204: _ok("deleted")})),
        api_route("/api/duty-rules", admin.rules, methods=["GET"], doc=RouteDoc(
            "Duty rules (三定)", Role.VIEWER, TAGS,
            responses={200: _ok("all", schemas.list_of(schemas.RULE, "duty_rules"))})),
        api_route("/api/duty-rules", admin.save_rule, methods=["POST"], doc=RouteDoc(
            "Create or update (by category, subcategory, town) a duty rule", Role.ADMIN, TAGS,
            request=Body("rule", schemas.RULE), responses={201: _ok("created", schemas.RULE)})),
        api_route("/api/duty-rules/import", admin.import_rules, methods=["POST"], doc=RouteDoc(
            "Import duty rules from XLSX (大类, 小类, 镇街, 责任部门编码, 时限(小时) …)",
            Role.ADMIN, TAGS, request=Body("the workbook", None, (admin.XLSX,)),
            responses={200: _ok("counts", {"type": "object"})})),
        api_route("/api/duty-rules/{id}", admin.save_rule, methods=["PUT"], doc=RouteDoc(
            "Replace a duty rule", Role.ADMIN, TAGS, (rule,),
            request=Body("rule", schemas.RULE), responses={200: _ok("saved", schemas.RULE)})),
        api_route("/api/duty-rules/{id}", admin.delete_rule, methods=["DELETE"], doc=RouteDoc(
            "Delete a duty rule", Role.ADMIN, TAGS, (rule,), responses={204: _ok("deleted")})),
    ]  # fmt: skip


def dispatch_routes() -> list[Route]:
    return [*_event_routes(), *_photo_routes(), *_duty_routes()]

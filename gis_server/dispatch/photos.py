"""`POST /api/events/{code}/photos` (a raw JPEG/PNG body) and `GET /api/events/{code}/photos/{name}`.

Both follow the event's scope: dispatchers and admins, the handler of its
department (or a co-handling one), the grid worker of its grid. Anyone else
signed in gets 403, nobody anonymous anything but 401. Files live under
`dispatch.photo_dir`; the URL in `events.photos` is what grants a GET.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from gis_server import json_body
from gis_server.auth import Principal, Role
from gis_server.auth.collection_policy import authorise
from gis_server.dispatch import common, photo_files
from gis_server.errors import Forbidden, NotFound
from layers.dispatch import photos, queues
from layers.dispatch.timeline import Actor

UPLOAD_TYPES = ("image/jpeg", "image/png")


def _check_scope(cur: Any, principal: Principal, code: str) -> Actor:
    if not photos.exists(cur, code):
        raise NotFound(f"没有该事件 — no event {code!r}")
    actor = common.actor(cur, principal)
    if not queues.can_see(cur, actor, code):
        raise Forbidden(f"无权查看事件 {code} 的照片 — not your event")
    return actor


async def upload(request: Request) -> Response:
    principal = await authorise(request, Role.GRID_WORKER, ("events",), writes=("events",))
    code = request.path_params["code"]
    settings = common.settings_of(request)
    d = settings.dispatch
    data = await json_body.read_body(request, d.photo_max_bytes)
    photo = await run_in_threadpool(photo_files.clean, data, d.photo_max_pixels)
    photo_url = photos.url(code, photo.filename)

    def work(cur: Any) -> list[str]:
        actor = _check_scope(cur, principal, code)
        listed = photos.attach(cur, code, photo_url, actor)
        photo_files.store(d.photo_path, photo)
        return listed

    listed = await common.run(settings, work, commit=True)
    body = {"id": photo.id, "url": photo_url, "media_type": photo.media_type,
            "bytes": len(photo.data), "photos": listed}  # fmt: skip
    return common.json_response(body, 201, {"Location": photo_url})


async def serve(request: Request) -> Response:
    principal = await authorise(request, Role.GRID_WORKER, reads=("events",))
    code, name = request.path_params["code"], request.path_params["name"]
    settings = common.settings_of(request)
    photo_url = photos.url(code, name)

    def work(cur: Any) -> None:
        _check_scope(cur, principal, code)
        if not photos.has_photo(cur, code, photo_url):
            raise NotFound(f"事件 {code} 没有该照片 — no such photo")

    await common.run(settings, work)
    photo = await run_in_threadpool(photo_files.load, settings.dispatch.photo_path, name)
    if photo is None:
        raise NotFound(f"照片文件不存在 — photo {name!r} is not stored")
    headers = {"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff",
               "Content-Disposition": "inline"}  # fmt: skip
    return Response(photo.data, media_type=photo.media_type, headers=headers)

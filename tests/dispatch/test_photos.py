"""Event photos: JPEG/PNG sniffed from the bytes, metadata stripped, size-capped, scoped like the event."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from starlette.testclient import TestClient

from gis_server.app import create_app
from gis_server.settings import get_settings
from tests.dispatch.test_api import keys, submit  # noqa: F401 (the keys fixture)

CAP = 200_000
GPS_IFD = 0x8825


def jpeg_with_gps(size: tuple[int, int] = (64, 48)) -> bytes:
    """A JPEG whose EXIF names a camera and a GPS position (and asks to be rotated)."""
    im = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "TestPhone"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (31.0, 50.0, 0.0), 3: "E", 4: (121.0, 10.0, 0.0)})
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png_with_text() -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "secret location 31.8N 121.2E")
    out = io.BytesIO()
    Image.new("RGBA", (20, 10), (0, 128, 255, 128)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("photos")


@pytest.fixture(scope="module")
def client(world: str, photo_dir: Path) -> Iterator[TestClient]:
    base = get_settings()
    dispatch = base.dispatch.model_copy(update={"photo_dir": photo_dir, "photo_max_bytes": CAP})
    settings = base.model_copy(update={"dispatch": dispatch})
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def upload(client: TestClient, code: str, data: bytes, who: dict, ctype: str = "image/jpeg"):  # noqa: ANN201
    return client.post(f"/api/events/{code}/photos", content=data,
                       headers={**who, "Content-Type": ctype})  # fmt: skip


def test_jpeg_comes_back_without_exif_and_upright(client, world, keys, photo_dir) -> None:  # noqa: F811
    code = submit(client, world, keys)["code"]
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the probe has GPS
    r = upload(client, code, original, keys["worker"])
    assert r.status_code == 201, r.text
    url = r.json()["url"]
    assert r.json()["media_type"] == "image/jpeg" and url in r.json()["photos"]
    got = client.get(url, headers=keys["dispatcher"])
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    im = Image.open(io.BytesIO(got.content))
    assert im.format == "JPEG" and not im.getexif() and "exif" not in im.info
    assert b"TestPhone" not in got.content
    assert im.size == (48, 64)  # the orientation was applied to the pixels
    assert list(photo_dir.iterdir()) and all(p.name != "photo.jpg" for p in photo_dir.iterdir())
    detail = client.get(f"/api/events/{code}", headers=keys["water"]).json()
    assert url in detail["photos"] and detail["version"] == 1  # a photo is not a step


def test_png_is_accepted_without_its_text_chunks(client, world, keys) -> None:  # noqa: F811
    code = submit(client, world, keys)["code"]
    r = upload(client, code, png_with_text(), keys["water"], "application/octet-stream")
    assert r.status_code == 201, r.text
    got = client.get(r.json()["url"], headers=keys["worker"])
    im = Image.open(io.BytesIO(got.content))
    assert got.headers["content-type"] == "image/png" and im.format == "PNG"
    assert im.mode == "RGBA" and im.size == (20, 10) and b"secret" not in got.content


@pytest.mark.parametrize("data", [
    b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
    b"<html><script>alert(1)</script></html>",
    b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
])  # fmt: skip
def test_other_formats_are_refused_415(client, world, keys, data) -> None:  # noqa: F811
    code = submit(client, world, keys)["code"]
    r = upload(client, code, data, keys["worker"], "image/jpeg")  # the name/type lies
    assert r.status_code == 415 and r.json()["code"] == "UnsupportedMediaType"


def test_truncated_jpeg_is_400(client, world, keys) -> None:  # noqa: F811
    code = submit(client, world, keys)["code"]
    r = upload(client, code, jpeg_with_gps()[:40], keys["worker"])
    assert r.status_code == 400 and r.json()["code"] == "InvalidParameterValue"


def test_too_large_is_413(client, world, keys) -> None:  # noqa: F811
    code = submit(client, world, keys)["code"]
    big = jpeg_with_gps() + b"\0" * CAP
    r = upload(client, code, big, keys["worker"])
    assert r.status_code == 413 and r.json()["code"] == "PayloadTooLarge"
    assert client.get(f"/api/events/{code}", headers=keys["dispatcher"]).json()["photos"] == []


def test_scope_other_department_403_anonymous_401(client, world, keys) -> None:  # noqa: F811
    code = submit(client, world, keys)["code"]
    url = upload(client, code, jpeg_with_gps(), keys["water"]).json()["url"]
    assert client.get(url, headers=keys["city"]).status_code == 403  # another department's handler
    assert upload(client, code, jpeg_with_gps(), keys["city"]).status_code == 403
    assert client.get(url).status_code == 401
    assert upload(client, code, jpeg_with_gps(), {}).status_code == 401
    assert client.get(url, headers=keys["viewer"]).status_code == 403
    for who in ("dispatcher", "admin", "worker", "water"):
        assert client.get(url, headers=keys[who]).status_code == 200, who
    other = submit(client, world, keys)["code"]
    assert client.get(url.replace(code, other), headers=keys["admin"]).status_code == 404
    assert (
        client.get(f"/api/events/{code}/photos/..%2f..%2fetc", headers=keys["admin"]).status_code
        == 404
    )


def test_an_upload_is_a_timeline_step_and_a_live_notice(client, world, keys) -> None:  # noqa: F811
    import json
    import select

    import psycopg2

    code = submit(client, world, keys)["code"]
    listener = psycopg2.connect(world)
    listener.autocommit = True
    with listener.cursor() as c:
        c.execute("LISTEN onemap_live")
    r = upload(client, code, jpeg_with_gps(), keys["worker"])
    assert r.status_code == 201, r.text
    got: list[dict] = []
    while not got and select.select([listener], [], [], 10) != ([], [], []):
        listener.poll()
        got += [json.loads(n.payload) for n in listener.notifies if code in n.payload]
        listener.notifies.clear()
    listener.close()
    assert got and got[0]["code"] == code and got[0]["status"] == "dispatched"
    detail = client.get(f"/api/events/{code}", headers=keys["dispatcher"]).json()
    step = detail["timeline"][-1]
    assert step["action"] == "photo" and step["note"] == r.json()["url"]
    assert (
        step["role"] == "grid_worker" and step["to_status"] == step["from_status"] == "dispatched"
    )
    refused = upload(client, code, jpeg_with_gps(), keys["city"])  # no row for a refused upload
    assert refused.status_code == 403
    after = client.get(f"/api/events/{code}", headers=keys["dispatcher"]).json()["timeline"]
    assert [s["action"] for s in after].count("photo") == 1

"""Event photos on disk: sniffed from their bytes, re-encoded without metadata, named at random.

Why re-encode: a phone's JPEG carries EXIF (GPS position, device, time) and a
PNG may carry text and eXIf chunks; decoding the pixels and writing a fresh
file keeps nothing but the picture. The orientation EXIF would have applied is
applied to the pixels first, so the photo does not turn sideways.
"""

from __future__ import annotations

import io
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from gis_server.errors import InvalidParameter, PayloadTooLarge, UnsupportedMediaType

KINDS = {"jpeg": ("image/jpeg", "jpg"), "png": ("image/png", "png")}
ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
_EXTENSIONS = {ext: kind for kind, (_, ext) in KINDS.items()}


@dataclass(frozen=True)
class Photo:
    id: str
    kind: str  # "jpeg" | "png"
    data: bytes

    @property
    def media_type(self) -> str:
        return KINDS[self.kind][0]

    @property
    def filename(self) -> str:
        return f"{self.id}.{KINDS[self.kind][1]}"


def sniff(data: bytes) -> str:
    """ "jpeg" or "png" from the magic bytes (never the name or Content-Type); 415 otherwise."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    raise UnsupportedMediaType("照片只收 JPEG 或 PNG — a photo must be a JPEG or PNG image")


def clean(data: bytes, max_pixels: int) -> Photo:
    """The photo re-encoded from its pixels alone (no EXIF, GPS, ICC, text chunks)."""
    kind = sniff(data)
    try:
        with Image.open(io.BytesIO(data), formats=[kind.upper()]) as im:
            width, height = im.size
            if width * height > max_pixels:
                raise PayloadTooLarge(max_pixels)
            im.load()
            upright = ImageOps.exif_transpose(im)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidParameter(
            "body", f"图片无法解码 — the image cannot be decoded ({exc})"
        ) from None
    out = io.BytesIO()
    if kind == "jpeg":
        upright.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    else:
        pixels = (
            upright
            if upright.mode in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16")
            else upright.convert("RGBA")
        )
        pixels.info = {k: v for k, v in pixels.info.items() if k == "transparency"}
        pixels.save(out, "PNG", optimize=True)
    return Photo(secrets.token_hex(16), kind, out.getvalue())


def store(folder: Path, photo: Photo) -> None:
    """Write the photo under its random name (written whole, then renamed into place)."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{photo.filename}.part"
    tmp.write_bytes(photo.data)
    tmp.replace(folder / photo.filename)


def load(folder: Path, filename: str) -> Photo | None:
    """The stored photo `filename` ("<id>.<ext>"), or None if the name is not one of ours."""
    stem, _, ext = filename.partition(".")
    if not ID_PATTERN.match(stem) or ext not in _EXTENSIONS:
        return None
    path = folder / filename
    if not path.is_file():
        return None
    return Photo(stem, _EXTENSIONS[ext], path.read_bytes())

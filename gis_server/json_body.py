"""The one reader of JSON a client sends: request bodies and cql2-json filters.

`json.loads` accepts what PostgreSQL cannot store and psycopg cannot bind — a NUL
character (`\\u0000`) and lone surrogates (`\\ud800`) — and it recurses once per
nesting level, so 10,000 levels are a RecursionError. Every route that reads JSON
reads it here instead: bounded in size, strict UTF-8, at most MAX_DEPTH levels
deep, no NUL or lone surrogate in any key or string. Anything else is a 400
naming where it is (`properties.name`, `inputs.codes[1]`, or the parameter).
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request

from gis_server.errors import InvalidParameter, PayloadTooLarge

MAX_DEPTH = 64
_BAD_CHAR = re.compile("[\x00\ud800-\udfff]")
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_ONE_KIND = str.maketrans("{}", "[]")  # valid JSON never closes one kind with the other


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The body, or 413 once its Content-Length or what has arrived passes `max_bytes`
    (a route's own limit, below the server's `server.max_body_bytes`)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(max_bytes)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, max_bytes: int | None = None) -> Any:
    """The request body as checked JSON (an empty body is null)."""
    raw = await (read_body(request, max_bytes) if max_bytes else request.body())
    return loads(raw)


def loads(raw: bytes | str, parameter: str | None = None) -> Any:
    """Checked JSON; errors name `parameter` if given, else where in the body they are."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        value = json.loads(text or "null")
    except RecursionError:
        raise _invalid(parameter, None, f"嵌套过深 — nested deeper than {MAX_DEPTH}") from None
    except ValueError as exc:  # UnicodeDecodeError included
        raise _invalid(parameter, None, f"不是合法的 JSON — not valid JSON ({exc})") from None
    if "\\u" in text or _deeper_than(text, MAX_DEPTH):
        _check(value, parameter)  # finds and names the problem, if there is one
    return value


def _deeper_than(text: str, limit: int) -> bool:
    """Whether valid JSON text nests deeper than `limit`, at C speed: with strings and
    everything but brackets removed, each pass drops the innermost pairs."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text)).translate(_ONE_KIND)
    for _ in range(limit):
        if not brackets:
            return False
        brackets = brackets.replace("[]", "")
    return bool(brackets)


def check_text(name: str, value: str) -> str:
    """One client string outside JSON (a form field): no NUL, no lone surrogate."""
    if _BAD_CHAR.search(value):
        raise InvalidParameter(name, _BAD_TEXT)
    return value


_BAD_TEXT = "含 NUL 字符或孤立代理项 — contains a NUL character or a lone surrogate"

# A walk entry: (value, depth, parent entry, key in the parent); the path is rebuilt
# from the parents only when something is wrong.
_Entry = tuple[Any, int, Any, Any]


def _check(value: Any, parameter: str | None) -> None:
    """Walk the value without recursion: depth, and every key and string. Only text
    with `\\u` escapes can hold NUL or a lone surrogate (raw ones are not JSON or not
    UTF-8), so most bodies skip the walk."""
    stack: list[_Entry] = [(value, 1, None, None)]
    while stack:
        entry = stack.pop()
        node, depth = entry[0], entry[1]
        if isinstance(node, str):
            if _BAD_CHAR.search(node):
                raise _invalid(parameter, entry, _BAD_TEXT)
            continue
        if not isinstance(node, dict | list):
            continue
        if depth > MAX_DEPTH:
            raise _invalid(parameter, entry, f"嵌套过深 — nested deeper than {MAX_DEPTH}")
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in items:
            if isinstance(key, str) and _BAD_CHAR.search(key):
                raise _invalid(parameter, (key, depth + 1, entry, key), _BAD_TEXT)
            if isinstance(child, str | dict | list):
                stack.append((child, depth + 1, entry, key))


def _path(entry: _Entry | None) -> str:
    """`properties.name`, `inputs.codes[1]`; empty for the whole document."""
    keys: list[str | int] = []
    while entry is not None and entry[2] is not None:
        keys.append(entry[3])
        entry = entry[2]
    out = ""
    for key in reversed(keys):
        if isinstance(key, int):
            out += f"[{key}]"
        else:
            out += ("." if out else "") + _BAD_CHAR.sub("\ufffd", key)
    return out


def _invalid(parameter: str | None, entry: _Entry | None, message: str) -> InvalidParameter:
    where = _path(entry)
    if parameter is None:
        return InvalidParameter(where or "body", message)
    return InvalidParameter(parameter, f"{where}: {message}" if where else message)

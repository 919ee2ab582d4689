"""Reassembly of subpackaged JT/T 808 messages (header bit 13: total and 1-based index).

Packages of one message share its id and total and carry consecutive
serials; the message is whole when every index 1..total has arrived. Memory
is bounded: a message larger than `max_bytes` or with more than 1024
packages is dropped, and a new message with the same id replaces the one
kept. A whole message is kept until then, so a terminal that resends its last
package (its answer was "fail": the sink refused) gets the whole message
handled again.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from etl.feed.jt808_frame import Header

MAX_PACKAGES = 1024


@dataclass
class _Partial:
    first_serial: int
    total: int
    parts: dict[int, bytes] = field(default_factory=dict)
    size: int = 0


class Reassembly:
    def __init__(self, max_bytes: int = 65536):
        self.max_bytes = max_bytes
        self._open: dict[int, _Partial] = {}
        self.dropped = 0

    def add(self, h: Header, body: bytes) -> tuple[Header, bytes] | None:
        """The whole message once its last package arrived, else None."""
        if not 1 <= h.index <= h.total <= MAX_PACKAGES:
            self.dropped += 1
            return None
        first = (h.serial - h.index + 1) & 0xFFFF
        part = self._open.get(h.msg_id)
        if part is None or part.first_serial != first or part.total != h.total:
            part = self._open[h.msg_id] = _Partial(first, h.total)
        completes = h.index not in part.parts and len(part.parts) == part.total - 1
        if h.index not in part.parts:
            part.size += len(body)
        part.parts[h.index] = body
        if part.size > self.max_bytes:
            self.dropped += 1
            del self._open[h.msg_id]
            return None
        if len(part.parts) < part.total or not (completes or h.index == part.total):
            return None
        whole = b"".join(part.parts[i] for i in range(1, part.total + 1))
        return replace(h, serial=h.serial, body_length=len(whole), total=0, index=0), whole

"""A test SSE client: reads /api/live in a thread, events into a queue."""

from __future__ import annotations

import json
import queue
import threading

import httpx


class SseClient:
    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.events: queue.Queue[tuple[str, str]] = queue.Queue()
        self._client = httpx.Client(timeout=httpx.Timeout(5.0, read=60.0), headers=headers)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(url,), daemon=True)
        self._thread.start()

    def _read(self, url: str) -> None:
        try:
            with self._client.stream("GET", url) as r:
                self.events.put(("status", str(r.status_code)))
                event = "message"
                for line in r.iter_lines():
                    if self._stop.is_set():
                        return
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: "):
                        self.events.put((event, line[6:]))
                        event = "message"
                    elif line.startswith(": "):
                        self.events.put(("comment", line[2:]))
        except httpx.HTTPError as exc:
            if not self._stop.is_set():
                self.events.put(("error", str(exc)))

    def wait_for(self, event: str, match=lambda data: True, timeout: float = 20.0) -> dict:
        """The first `event` whose JSON data satisfies match (a deadline, no sleeps)."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {event} event within {timeout} s")
            try:
                name, data = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if name == "error":
                raise AssertionError(f"stream failed: {data}")
            if name == event and match(body := json.loads(data)):
                return body

    def close(self) -> None:
        self._stop.set()
        self._client.close()

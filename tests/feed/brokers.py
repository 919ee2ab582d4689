"""Real Mosquitto brokers for the feed tests: the configured one on 1883 when it answers,
otherwise (and for restart tests always) a private one on a free port."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def answers(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout: float = 20.0, what: str = "condition") -> None:
    """Poll `condition` until true (no fixed sleeps: a short poll interval, a deadline)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Mosquitto:
    """A private broker with persistence in `directory`; restartable on the same port."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.dir, self.port = directory, port or free_port()
        self.proc: subprocess.Popen | None = None
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "mosquitto.conf").write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {directory}/\n"
            "max_queued_messages 100000\n"
            f"user {getpass.getuser()}\n"
        )

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> Mosquitto:
        log = open(self.dir / "mosquitto.log", "a")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.dir / "mosquitto.conf")], stdout=log, stderr=log
        )
        wait_until(lambda: answers(self.port), what=f"mosquitto on {self.port}")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()  # SIGTERM: the broker saves its persistence file
            self.proc.wait(10)
            self.proc = None
        wait_until(lambda: not answers(self.port), what="mosquitto to stop")

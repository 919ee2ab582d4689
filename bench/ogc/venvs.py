"""Pinned tipg and stock pygeoapi, each in its own virtual environment under var/bench/.

Idempotent: a venv whose marker file names the same requirements is reused.
Both get `uvicorn[standard]` (uvloop + httptools), the usual production set-up;
uvloop also sets TCP_NODELAY on accepted sockets, so the baselines do not pay
the Nagle/delayed-ACK penalty that plain asyncio + `--workers` does.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import ROOT_DIR

BENCH_VAR = ROOT_DIR / "var" / "bench"


@dataclass(frozen=True)
class Venv:
    name: str
    requirements: tuple[str, ...]

    @property
    def path(self) -> Path:
        return BENCH_VAR / self.name

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def marker(self) -> Path:
        return self.path / ".bench-requirements"

    def bin(self, name: str) -> Path:
        return self.path / "bin" / name

    def ready(self) -> bool:
        return (
            self.python.exists()
            and self.marker.exists()
            and self.marker.read_text() == "\n".join(self.requirements)
        )

    def version(self, package: str) -> str:
        """Installed version of `package` in this venv ('?' when unknown)."""
        if not self.python.exists():  # a run with --servers that left this one out
            return "not installed"
        out = subprocess.run(
            [
                str(self.python),
                "-c",
                f"import importlib.metadata as m; print(m.version({package!r}))",
            ],
            capture_output=True,
            text=True,
        )
        return out.stdout.strip() or "?"


TIPG = Venv("tipg", ("tipg~=1.6.1", "uvicorn[standard]"))
PYGEOAPI = Venv(
    "pygeoapi",
    ("pygeoapi==0.24.0", "geoalchemy2", "psycopg2-binary", "starlette", "uvicorn[standard]"),
)


def base_python() -> str:
    """The interpreter behind onemap's own venv (Python 3.12)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def ensure(venv: Venv, log: Callable[[str], None] = print) -> Venv:
    """Create `venv` and pip-install its pinned requirements unless already done."""
    if venv.ready():
        return venv
    BENCH_VAR.mkdir(parents=True, exist_ok=True)
    log(f"installing {' '.join(venv.requirements)} into {venv.path} (once) …")
    if not venv.python.exists():
        subprocess.run([base_python(), "-m", "venv", str(venv.path)], check=True)
    logfile = BENCH_VAR / f"{venv.name}-install.log"
    with logfile.open("w") as out:
        done = subprocess.run(
            [str(venv.python), "-m", "pip", "install", "-q", *venv.requirements],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if done.returncode != 0:
        raise RuntimeError(f"pip install into {venv.path} failed; see {logfile}")
    venv.marker.write_text("\n".join(venv.requirements))
    return venv

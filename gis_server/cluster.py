"""The private PostGIS cluster under the project directory (used when no DATABASE_URL).

PostgreSQL refuses to run as root, so when onemap runs as root the cluster is
owned by and run as the unprivileged `postgres` system user. The same class
makes a streaming replica of another cluster (`init_replica`: pg_basebackup -R)
and promotes it (`promote`), for `scripts/cluster.sh` and the replica tests.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from gis_server.settings import ClusterSettings

# Tuned for a 2-core/24 GiB box loading millions of rows; safe for a laptop.
_SERVER_OPTIONS = {
    "listen_addresses": "127.0.0.1",
    "shared_buffers": "1GB",
    "work_mem": "32MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
    "max_connections": "200",
    "timezone": "Asia/Shanghai",
    "log_timezone": "Asia/Shanghai",
}


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class ClusterError(RuntimeError):
    """The private cluster cannot be created or started; the message says what to do."""


@dataclass
class Cluster:
    settings: ClusterSettings
    # server options over _SERVER_OPTIONS (e.g. smaller shared_buffers for a test pair)
    options: dict[str, str] | None = None

    @property
    def root(self) -> Path:
        return self.settings.data_dir

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    # -- discovery -------------------------------------------------------
    @staticmethod
    def bin_dir() -> Path:
        """The newest installed PostgreSQL whose share dir also has PostGIS."""
        candidates = []
        for d in Path("/usr/lib/postgresql").glob("*/bin"):
            version = d.parent.name
            if (d / "initdb").exists() and re.fullmatch(r"\d+", version):
                has_postgis = any(
                    Path(f"/usr/share/postgresql/{version}/extension").glob("postgis.control")
                )
                candidates.append((has_postgis, int(version), d))
        if not candidates:
            found = shutil.which("initdb")
            if found:
                return Path(found).parent
            raise ClusterError(
                "未找到 PostgreSQL 服务端 (initdb) — PostgreSQL server not found. "
                "Install it: apt-get install postgresql postgresql-15-postgis-3, or set DATABASE_URL."
            )
        candidates.sort()
        has_postgis, _, best = candidates[-1]
        if not has_postgis:
            raise ClusterError(
                f"PostGIS 未安装 — PostGIS is not installed for PostgreSQL {best.parent.name}. "
                f"Install it: apt-get install postgresql-{best.parent.name}-postgis-3"
            )
        return best

    # -- running commands as the cluster owner -----------------------------
    def _owner(self) -> str | None:
        """System user to run postgres as when we are root, else None (ourselves)."""
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam("postgres")
        except KeyError as exc:
            raise ClusterError(
                "以 root 运行需要 postgres 系统用户 — running as root needs the 'postgres' system user "
                "(installed with the postgresql package)."
            ) from exc
        return "postgres"

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        owner = self._owner()
        cmd = (["runuser", "-u", owner, "--"] if owner else []) + args
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd="/")
        if check and proc.returncode != 0:
            raise ClusterError(
                f"{' '.join(args[:2])} failed: {proc.stderr.strip() or proc.stdout.strip()}"
            )
        return proc

    def _prepare_dirs(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(exist_ok=True)
        owner = self._owner()
        if owner:
            pw = pwd.getpwnam(owner)
            for p in (self.root, self.run_dir):
                os.chown(p, pw.pw_uid, pw.pw_gid)
            # The owner must be able to reach the directory: open traverse
            # (not read) permission on the ancestors that lack it.
            for parent in self.root.parents:
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    os.chmod(parent, mode | 0o001)

    # -- lifecycle ---------------------------------------------------------
    def is_initialised(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.is_initialised():
            return False
        proc = self._run(
            [str(self.bin_dir() / "pg_ctl"), "-D", str(self.data), "status"], check=False
        )
        return proc.returncode == 0

    def init(self) -> bool:
        """Create the cluster if absent. Returns True when it was created now."""
        if self.is_initialised():
            return False
        self._prepare_dirs()
        self._run(
            [
                str(self.bin_dir() / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        )
        with open(self.data / "postgresql.auto.conf", "a", encoding="utf-8") as conf:
            for key, value in {**_SERVER_OPTIONS, **(self.options or {})}.items():
                conf.write(f"{key} = '{value}'\n")
        return True

    def init_replica(self, primary_port: int) -> bool:
        """Make this cluster a streaming replica of the cluster on `primary_port`
        (pg_basebackup -R: standby.signal and primary_conninfo written). True if made now."""
        if self.is_initialised():
            return False
        self._prepare_dirs()
        self._run(
            [
                str(self.bin_dir() / "pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(primary_port),
                "-U",
                "postgres",
                "-D",
                str(self.data),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
            ]
        )
        return True

    def promote(self) -> None:
        """End recovery: this replica becomes a primary (pg_ctl promote, waits)."""
        self._run([str(self.bin_dir() / "pg_ctl"), "-D", str(self.data), "-w", "promote"])

    def start(self) -> None:
        if self.is_running():
            return
        self._prepare_dirs()
        if _port_in_use(self.settings.port):
            raise ClusterError(
                f"端口 {self.settings.port} 已被占用 — port {self.settings.port} is taken by another server. "
                "Choose another with ONEMAP_PG_PORT=<port> (before the cluster is first created), "
                "or stop the other server."
            )
        proc = self._run(
            [
                str(self.bin_dir() / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log_file),
                "-o",
                f"-p {self.settings.port} -k {self.run_dir}",
                "-w",
                "-t",
                "60",
                "start",
            ],
            check=False,
        )
        if proc.returncode != 0:
            tail = (
                self.log_file.read_text(errors="replace").splitlines()[-5:]
                if self.log_file.exists()
                else []
            )
            raise ClusterError(
                f"PostgreSQL 启动失败 — the private cluster did not start (port {self.settings.port}):\n"
                + "\n".join(tail)
            )

    def stop(self) -> None:
        if self.is_running():
            self._run(
                [str(self.bin_dir() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]
            )

    def ensure_database(self) -> None:
        """Create the configured database with PostGIS if it does not exist."""
        psql = [
            str(self.bin_dir() / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.settings.port),
            "-U",
            "postgres",
        ]
        name = self.settings.name
        for _ in range(30):
            probe = self._run(psql + ["-d", "postgres", "-tAc", "SELECT 1"], check=False)
            if probe.returncode == 0:
                break
            time.sleep(0.5)
        exists = self._run(
            psql + ["-d", "postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"]
        )
        if exists.stdout.strip() != "1":
            self._run(psql + ["-d", "postgres", "-c", f'CREATE DATABASE "{name}"'])
        self._run(psql + ["-d", name, "-c", "CREATE EXTENSION IF NOT EXISTS postgis"])

    def up(self) -> bool:
        """Initialise if needed, start, create the database. True if created now."""
        created = self.init()
        self.start()
        self.ensure_database()
        return created

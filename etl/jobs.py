"""`onemap etl run`: the imports listed under etl_jobs in config.yml, for cron.

Exit code: 0 when every job loaded cleanly, 1 when any had rejected rows, failed
or found no file, 2 when the job name is unknown or a job is misconfigured.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from etl import importlog
from etl.errors import EtlError
from etl.report import summary_lines


def _files(source: str, base_dir: Path) -> list[Path]:
    pattern = source if Path(source).is_absolute() else str(base_dir / source)
    return [Path(p) for p in sorted(glob.glob(pattern)) if Path(p).is_file()]


def run_jobs(
    jobs: Iterable[Any],
    run_one: Callable[[str, Path, dict, str], Any],
    *,
    dsn: str,
    base_dir: Path,
    only: str | None = None,
    echo: Callable[[str], None] = print,
    user: str | None = None,
) -> int:
    """Run the jobs (or the one named `only`); every file of a job is one import."""
    jobs = list(jobs)
    if only is not None:
        jobs = [j for j in jobs if j.name == only]
        if not jobs:
            echo(f"没有任务 {only!r} — no etl job named {only!r} in config.yml")
            return 2
    if not jobs:
        echo("没有任务 — no etl_jobs in config.yml")
        return 0
    worst = 0
    for job in jobs:
        files = _files(job.source, base_dir)
        if not files:
            message = f"没有匹配的文件 — no file matches {job.source}"
            echo(f"[{job.name}] {message}")
            importlog.write_alone(
                dsn,
                importlog.LogEntry(
                    who=user or importlog.current_user(),
                    layer=job.layer,
                    status="failed",
                    file_name=job.source,
                    job=job.name,
                    message=message,
                ),
            )
            worst = max(worst, 1)
            continue
        for path in files:
            try:
                result = run_one(job.layer, path, dict(job.options), job.name)
            except EtlError as exc:
                echo(f"[{job.name}] 错误 error: {exc}")
                worst = max(worst, exc.exit_code)
                continue
            for line in summary_lines(result):
                echo(f"[{job.name}] {line}")
            if not result.ok or result.rejects:
                worst = max(worst, 1)
    return worst

"""`onemap audit verify`: is the audit trail as it was written? (exit 1 where it is not)."""

from __future__ import annotations

import click

from gis_server.cli.options import fail, load_or_exit
from gis_server.database import connect
from layers import audit_chain


@click.group()
def audit() -> None:
    """审计日志 The audit trail."""


@audit.command("verify")
def verify_cmd() -> None:
    """校验审计链 Check every audit row's SHA-256 chain; name the first broken row."""
    settings = load_or_exit()
    conn = connect(settings.database.dsn)
    try:
        with conn.cursor() as cur:
            report = audit_chain.verify(cur)
    finally:
        conn.close()
    if not report.intact:
        fail(
            f"审计链断裂 — audit chain broken at id {report.broken_id} "
            f"(chain_seq {report.broken_seq}): {report.reason}",
            code=1,
        )
    click.echo(f"审计链完整 — audit chain intact: {report.rows:,} rows, head {report.head or '-'}")

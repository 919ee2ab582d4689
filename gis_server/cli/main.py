"""Entry point of the `onemap` command."""

from __future__ import annotations

import click

from gis_server.cli.audit import audit
from gis_server.cli.backup import backup_cmd, restore_cmd
from gis_server.cli.cluster_stack import cluster
from gis_server.cli.config import config
from gis_server.cli.db import db
from gis_server.cli.demo import demo
from gis_server.cli.duties import duties
from gis_server.cli.etl import etl, export_cmd, import_cmd
from gis_server.cli.feed import feed
from gis_server.cli.grids import grids
from gis_server.cli.report import report
from gis_server.cli.serve import serve
from gis_server.cli.users import keys, users


@click.group()
@click.version_option(package_name="onemap")
def cli() -> None:
    """onemap 一张图: GIS situational-awareness server for district command centres."""


cli.add_command(db)
cli.add_command(config)
cli.add_command(demo)
cli.add_command(serve)
cli.add_command(import_cmd)
cli.add_command(export_cmd)
cli.add_command(etl)
cli.add_command(users)
cli.add_command(keys)
cli.add_command(grids)
cli.add_command(audit)
cli.add_command(backup_cmd)
cli.add_command(restore_cmd)
cli.add_command(feed)
cli.add_command(duties)
cli.add_command(report)
cli.add_command(cluster)

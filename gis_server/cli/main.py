"""Entry point of the `onemap` command."""

from __future__ import annotations

import click

from gis_server.cli.config import config
from gis_server.cli.db import db


@click.group()
@click.version_option(package_name="onemap")
def cli() -> None:
    """onemap 一张图: GIS situational-awareness server for district command centres."""


cli.add_command(db)
cli.add_command(config)

for _module, _name in (("gis_server.cli.demo", "demo"), ("gis_server.cli.serve", "serve")):
    try:
        cli.add_command(getattr(__import__(_module, fromlist=[_name]), _name))
    except ModuleNotFoundError:
        pass

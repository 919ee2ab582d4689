"""`onemap config validate|show`."""

from __future__ import annotations

import json

import click

from gis_server.cli.options import load_or_exit
from gis_server.settings import config_path


@click.group("config")
def config() -> None:
    """配置 — check and show the configuration."""


@config.command("validate")
def config_validate() -> None:
    """Check config.yml and the environment; name every bad key."""
    load_or_exit()
    click.echo(f"配置有效 — {config_path()} is valid")


@config.command("show")
def config_show() -> None:
    """Print the effective settings as JSON."""
    settings = load_or_exit()
    click.echo(json.dumps(settings.model_dump(mode="json"), ensure_ascii=False, indent=2))

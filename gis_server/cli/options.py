"""Shared CLI plumbing: settings loading with readable errors, bilingual messages."""

from __future__ import annotations

import sys

import click

from gis_server.settings import Settings, SettingsError, get_settings


def load_or_exit() -> Settings:
    """Settings, or a message naming every bad key and exit code 2."""
    try:
        return get_settings()
    except SettingsError as exc:
        click.echo("配置错误 — configuration error:", err=True)
        for key, message in exc.problems:
            click.echo(f"  {key}: {message}", err=True)
        sys.exit(2)


def fail(message: str, code: int = 1) -> None:
    click.echo(message, err=True)
    sys.exit(code)

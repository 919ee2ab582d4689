"""`python -m gis_server.cli …`: the `onemap` command, from this checkout's code."""

from gis_server.cli.main import cli

cli()

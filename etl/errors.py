"""ETL exceptions: each names the file (and row/column when there is one) for the CLI."""

from __future__ import annotations


class EtlError(Exception):
    """An import or export cannot go on; nothing has been written."""

    exit_code = 1

    def __init__(self, message: str, *, file: str | None = None) -> None:
        self.file = file
        super().__init__(f"{file}: {message}" if file else message)


class UsageError(EtlError):
    """The command line or configuration asks for something impossible (exit code 2)."""

    exit_code = 2


class SourceError(EtlError):
    """The input file is unreadable, corrupt, or its CRS cannot be trusted."""


class CrsError(SourceError):
    """The file has no usable CRS and its coordinates are not plausibly lon/lat."""

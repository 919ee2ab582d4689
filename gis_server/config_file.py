"""Read config.yml: YAML with ${VAR} / ${VAR:-default} environment interpolation.

Kept apart from the settings models so that `onemap config validate` can report
YAML syntax errors and unknown keys before any model is built.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigFileError(ValueError):
    """config.yml cannot be read or parsed; the message names the file and line."""


def interpolate(text: str, environ: dict[str, str] | None = None) -> str:
    """Replace ${VAR} and ${VAR:-default}; an unset ${VAR} without default becomes ''."""
    env = os.environ if environ is None else environ

    def repl(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = env.get(name)
        if value is None or (value == "" and default is not None):
            return default or ""
        return value

    return _VAR.sub(repl, text)


def load_config_file(path: Path, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Return the interpolated YAML mapping of `path` ({} if the file is empty)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        data = yaml.safe_load(interpolate(raw, environ))
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigFileError(f"{path}: the top level must be a mapping of sections")
    return data

"""config.yml interpolation and validation: errors name the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gis_server.config_file import interpolate
from gis_server.settings import SettingsError, load_settings

ONEMAP = str(Path(sys.executable).parent / "onemap")


def test_interpolation_defaults_and_values():
    env = {"A": "1", "EMPTY": ""}
    assert interpolate("${A} ${A:-9} ${B:-x} ${B} ${EMPTY:-d}", env) == "1 1 x  d"


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.yml"
    p.write_text(text, encoding="utf-8")
    return p


def test_valid_file_loads(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("ONEMAP_CONFIG", str(_write(tmp_path, "server:\n  port: ${P:-8123}\n")))
    assert load_settings().server.port == 8123
    monkeypatch.setenv("P", "9001")
    assert load_settings().server.port == 9001


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("server:\n  port: abc\n", "server.port"),
        ("server:\n  prot: 1\n", "server.prot"),
        ("ogc:\n  default_limit: 0\n", "ogc.default_limit"),
        ("district:\n  extent: [122, 31, 121, 32]\n", "district.extent"),
        (
            "collections:\n  - id: x\n    table: 'bad table'\n    id_column: id\n",
            "collections.0.table",
        ),
        ("database:\n  url: mysql://x\n", "database.url"),
        (
            "collections:\n  - {id: x, table: t, id_column: id, editable: true, write_role: boss}\n",
            "collections.0.write_role",
        ),
        ("layer_policies:\n  cameras: {read_role: nobody}\n", "layer_policies.cameras.read_role"),
    ],
)
def test_errors_name_the_key(tmp_path, monkeypatch, text, key):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("ONEMAP_CONFIG", str(_write(tmp_path, text)))
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert key in [k for k, _ in err.value.problems]


def test_layer_policies_name_published_builtin_layers(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    text = "builtin_layers: [grids]\nlayer_policies:\n  cameras: {read_role: viewer}\n"
    monkeypatch.setenv("ONEMAP_CONFIG", str(_write(tmp_path, text)))
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert "layer_policies: 'cameras'" in str(err.value)
    ok = "layer_policies:\n  cameras: {read_role: viewer}\n"
    monkeypatch.setenv("ONEMAP_CONFIG", str(_write(tmp_path, ok)))
    settings = load_settings()
    assert settings.read_role("cameras") == "viewer" and settings.read_role("grids") is None


def test_database_url_wins(tmp_path, monkeypatch):
    monkeypatch.setenv(
        "ONEMAP_CONFIG", str(_write(tmp_path, "database:\n  url: postgresql://a@h/x\n"))
    )
    monkeypatch.setenv("ONEMAP_DATABASE__URL", "postgresql://b@h/y")
    monkeypatch.setenv("DATABASE_URL", "postgresql://c@h/z")
    assert load_settings().database.dsn == "postgresql://c@h/z"


def test_cli_validate_exit_codes(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "ONEMAP_CONFIG": str(_write(tmp_path, "server:\n  port: 70000\n")),
    }
    bad = subprocess.run([ONEMAP, "config", "validate"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2
    assert "server.port" in bad.stderr
    env["ONEMAP_CONFIG"] = str(_write(tmp_path, "server:\n  port: 8080\n"))
    good = subprocess.run([ONEMAP, "config", "validate"], env=env, capture_output=True, text=True)
    assert good.returncode == 0, good.stderr


def test_broken_yaml_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("ONEMAP_CONFIG", str(_write(tmp_path, "server: [unclosed\n")))
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert "not valid YAML" in str(err.value)

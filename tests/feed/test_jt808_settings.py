"""feed.jt808 in config.yml: its keys reach the listener's Jt808Settings; bad ones are named."""

from __future__ import annotations

import pytest

from gis_server.live.config import jt808_settings
from gis_server.settings import SettingsError, load_settings


def _load(tmp_path, monkeypatch, text: str):
    path = tmp_path / "config.yml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("ONEMAP_CONFIG", str(path))
    return load_settings()


def test_block_reaches_the_listener(tmp_path, monkeypatch):
    s = _load(
        tmp_path,
        monkeypatch,
        "feed:\n  jt808:\n    enabled: true\n    port: 7808\n    crs: gcj02\n"
        "    require_auth: false\n    idle_timeout_s: 30\n",
    )
    assert (s.feed.jt808.enabled, s.feed.jt808.port, s.feed.jt808.host) == (True, 7808, "0.0.0.0")
    listener = jt808_settings(s)
    assert (listener.crs, listener.require_auth, listener.idle_timeout_s) == ("gcj02", False, 30.0)
    assert _load(tmp_path, monkeypatch, "{}\n").feed.jt808.port == 6808  # the default


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("feed:\n  jt808:\n    crs: utm\n", "feed.jt808.crs"),
        ("feed:\n  jt808:\n    port: 70000\n", "feed.jt808.port"),
        ("feed:\n  jt808:\n    accept_everyone: true\n", "feed.jt808.accept_everyone"),
    ],
)
def test_bad_keys_are_named(tmp_path, monkeypatch, text, key):
    with pytest.raises(SettingsError) as err:
        _load(tmp_path, monkeypatch, text)
    assert key in str(err.value)

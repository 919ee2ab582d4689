"""Replica settings and the LSN the client sends: parsed strictly, junk ignored."""

from __future__ import annotations

import pytest

from gis_server.replicas import ReplicaSet, _client_lsn, format_lsn, parse_lsn
from gis_server.settings import SettingsError, load_settings


def test_database_url_replicas_is_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/onemap")
    monkeypatch.setenv(
        "DATABASE_URL_REPLICAS",
        "postgresql://postgres@10.0.0.2/onemap, postgresql://postgres@10.0.0.3/onemap",
    )
    db = load_settings().database
    assert db.replicas == [
        "postgresql://postgres@10.0.0.2/onemap",
        "postgresql://postgres@10.0.0.3/onemap",
    ]
    assert db.replica_max_lag_s == 5


def test_a_replica_that_is_not_a_postgresql_url_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL_REPLICAS", "mysql://10.0.0.2/onemap")
    with pytest.raises(SettingsError) as exc:
        load_settings()
    assert any(key.startswith("database.replicas") for key, _ in exc.value.problems)


def test_lsn_text_round_trips_and_junk_is_not_an_lsn() -> None:
    for text in ("0/0", "0/16B3748", "16/B374D848", "FFFFFFFF/FFFFFFFF"):
        assert format_lsn(parse_lsn(text)) == text
    assert parse_lsn("16/B374D848") == (0x16 << 32) + 0xB374D848
    for junk in ("", "16B374D848", "1/2/3", "zz/1", "1/" + "F" * 20, "-1/5", None):
        assert parse_lsn(junk) is None, junk


def test_the_client_lsn_is_the_newest_of_header_and_cookie_junk_ignored() -> None:
    def scope(*headers: tuple[bytes, bytes]) -> dict:
        return {"headers": list(headers)}

    assert _client_lsn(scope()) == 0
    assert _client_lsn(scope((b"x-onemap-lsn", b"0/10"))) == 0x10
    both = scope((b"x-onemap-lsn", b"0/10"), (b"cookie", b"a=b; onemap_lsn=0/20"))
    assert _client_lsn(both) == 0x20
    assert _client_lsn(scope((b"x-onemap-lsn", b"garbage"), (b"cookie", b"\x00;;=="))) == 0


def test_no_replica_is_chosen_before_the_first_poll_nor_when_behind() -> None:
    replicas = ReplicaSet("postgresql://p/db", ["postgresql://r/db"], max_lag_s=5)
    assert replicas.choose() is None  # nothing polled yet: the primary
    r = replicas.replicas[0]
    r.up, r.replay_lsn, r.lag_s = True, 100, 0.5
    assert replicas.choose(0) == "postgresql://r/db"
    assert replicas.choose(100) == "postgresql://r/db"
    assert replicas.choose(101) is None  # the client wrote past what it replayed
    r.lag_s = 6
    assert replicas.choose(0) is None  # too far behind
    r.lag_s = 0
    replicas.mark_down("postgresql://r/db")
    assert replicas.choose(0) is None

"""scrypt hashing: round trip, salt, stored parameters, tampering."""

from __future__ import annotations

from gis_server.auth import passwords


def test_round_trip_and_wrong_password():
    stored = passwords.hash_password("巡河 patrol 2024!")
    assert passwords.verify_password("巡河 patrol 2024!", stored)
    assert not passwords.verify_password("巡河 patrol 2024?", stored)
    assert not passwords.verify_password("", stored)


def test_salted_and_parameters_stored_with_hash():
    a, b = passwords.hash_password("same password"), passwords.hash_password("same password")
    assert a != b
    assert a.startswith(f"scrypt$n={passwords.N},r={passwords.R},p={passwords.P}$")
    assert "same password" not in a
    assert not passwords.needs_rehash(a)


def test_old_parameters_still_verify_and_ask_for_rehash():
    salt = b"0123456789abcdef"
    digest = passwords._scrypt("legacy", salt, 2**10, 8, 1, 32)
    stored = f"scrypt$n=1024,r=8,p=1${passwords._b64(salt)}${passwords._b64(digest)}"
    assert passwords.verify_password("legacy", stored)
    assert passwords.needs_rehash(stored)


def test_malformed_or_hostile_hash_is_rejected_not_crashing():
    good = passwords.hash_password("pw")
    assert not passwords.verify_password("pw", "plain-text-password")
    assert not passwords.verify_password("pw", good.replace("scrypt$", "md5$"))
    assert not passwords.verify_password("pw", good.replace("n=16384", "n=1073741824"))

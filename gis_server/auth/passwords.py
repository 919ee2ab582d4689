"""Password hashing with scrypt (standard library only).

The stored string carries its own parameters and salt
(``scrypt$n=16384,r=8,p=1$<salt>$<digest>``, base64) so the cost can be
raised later without locking anyone out: old hashes still verify and
`needs_rehash` says when to upgrade them at the next successful login.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

N, R, P = 2**14, 8, 1
SALT_BYTES = 16
DKLEN = 32
_PREFIX = "scrypt"
# Upper bounds on stored parameters so a tampered row cannot exhaust memory.
_MAX_N, _MAX_R, _MAX_P = 2**20, 32, 16


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=256 * n * r + 2**20
    )


def hash_password(password: str) -> str:
    """A fresh salted scrypt hash of `password`, parameters included."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, N, R, P, DKLEN)
    return f"{_PREFIX}$n={N},r={R},p={P}${_b64(salt)}${_b64(digest)}"


def _parse(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    try:
        prefix, params, salt, digest = stored.split("$")
        values = dict(item.split("=", 1) for item in params.split(","))
        n, r, p = int(values["n"]), int(values["r"]), int(values["p"])
        if prefix != _PREFIX or not (1 < n <= _MAX_N and 0 < r <= _MAX_R and 0 < p <= _MAX_P):
            return None
        return n, r, p, _unb64(salt), _unb64(digest)
    except (ValueError, KeyError):
        return None


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches `stored`; the comparison is constant-time."""
    parsed = _parse(stored)
    if parsed is None:
        return False
    n, r, p, salt, digest = parsed
    candidate = _scrypt(password, salt, n, r, p, len(digest))
    return hmac.compare_digest(candidate, digest)


def needs_rehash(stored: str) -> bool:
    """True when `stored` was made with other parameters than today's."""
    parsed = _parse(stored)
    return parsed is None or parsed[:3] != (N, R, P) or len(parsed[4]) != DKLEN


# Verified against when the username is unknown, so a miss costs as long as a hit.
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))

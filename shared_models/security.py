"""Password hashing and JWT handling shared by both apps, so both pay exactly the same crypto cost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_hasher = PasswordHash((Argon2Hasher(),))
# Seeded load users log in hundreds of times at the start of every benchmark cell; with the recommended cost
# (~0.1 s of CPU each) the login storm would dominate warm-up. Their hashes use minimal Argon2 cost; the
# verification code path is the same (parameters travel inside the hash), and real registrations use _hasher.
_seed_hasher = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
# Verifying against a real hash for unknown users keeps login timing from revealing which emails exist.
_DUMMY_HASH = _hasher.hash("timing-equaliser-not-a-password")


class InvalidTokenError(Exception):
    """The token is missing, malformed, expired, forged or names no user id."""


def hash_password(password: str) -> str:
    """Return an Argon2id hash of the password."""
    return _hasher.hash(password)


def hash_seed_password(password: str) -> str:
    """Return a minimal-cost Argon2id hash, for seeded benchmark users only."""
    return _seed_hasher.hash(password)


def verify_password(password: str, hashed: str | None) -> bool:
    """Check a password against its hash; with no hash, spend the same time and return False."""
    if hashed is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    return _hasher.verify(password, hashed)


def create_access_token(*, user_id: int, secret: str, algorithm: str, expires_minutes: int) -> str:
    """Sign a JWT whose subject is the user id and which expires after the given minutes."""
    now = datetime.now(UTC)
    claims = {"sub": str(user_id), "iat": now, "exp": now + timedelta(minutes=expires_minutes)}
    return jwt.encode(claims, secret, algorithm=algorithm)


def decode_access_token(token: str, *, secret: str, algorithm: str) -> int:
    """Return the user id of a valid token, or raise InvalidTokenError."""
    try:
        # A fixed algorithm list rejects alg=none and algorithm-confusion tokens.
        claims = jwt.decode(token, secret, algorithms=[algorithm], options={"require": ["exp", "sub"]})
        user_id = int(claims["sub"])
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidTokenError(str(exc)) from exc
    if not 1 <= user_id <= 2_147_483_647:
        raise InvalidTokenError("subject out of range")
    return user_id

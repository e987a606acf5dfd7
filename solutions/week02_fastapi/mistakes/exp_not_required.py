"""Mistake: the claims are verified when present, but a token without "exp" is accepted — forever."""

from __future__ import annotations

import datetime as dt
import uuid

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from .settings import Settings

# argon2id at OWASP's first recommended setting (19 MiB, 2 passes, 1 lane): tens of ms per
# login for us, the same per guess for an attacker, and 19 MiB per guess stops cheap GPU farms.
# Raise memory_cost as far as your login latency budget allows.
_hasher = PasswordHash((Argon2Hasher(memory_cost=19_456, time_cost=2, parallelism=1),))

# Verified against when the e-mail is unknown, so "no such user" costs as much as "wrong
# password" and the response time does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password: equalises timing for unknown users")


class InvalidToken(Exception):
    """The token is unusable: malformed, badly signed, wrong algorithm, expired or incomplete."""


def hash_password(password: str) -> str:
    """An argon2id PHC string (``$argon2id$v=19$m=…``): algorithm, costs and salt travel with it."""
    return _hasher.hash(password)


def verify_password(password: str, hashed: str | None) -> bool:
    """True when ``password`` matches ``hashed``; with ``hashed=None`` burn the same time, say no."""
    if hashed is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    return _hasher.verify(password, hashed)


def create_access_token(subject: str, settings: Settings, expires_in: dt.timedelta | None = None) -> str:
    """A signed JWT for ``subject`` (the user id) that expires after ``expires_in``."""
    now = dt.datetime.now(dt.UTC)
    lifetime = expires_in if expires_in is not None else dt.timedelta(minutes=settings.access_token_minutes)
    claims = {"sub": subject, "iat": now, "exp": now + lifetime, "jti": uuid.uuid4().hex}
    return jwt.encode(claims, settings.signing_key, algorithm=settings.jwt_algorithm)


def decode_access_token(token: str, settings: Settings) -> str:
    """The ``sub`` of a token this service issued and that is still valid; else :class:`InvalidToken`."""
    try:
        claims = jwt.decode(
            token,
            settings.verification_key,
            # The allow-list is the defence against "alg": "none" and HS/RS confusion: whatever
            # the header claims, only the configured algorithm is ever tried.
            algorithms=[settings.jwt_algorithm],
            # MISTAKE: no options={"require": [...]}: PyJWT checks exp only when it is present
        )
    except jwt.PyJWTError as exc:  # the base class: expired, bad signature, bad alg, garbage …
        raise InvalidToken(str(exc)) from exc
    return str(claims["sub"])

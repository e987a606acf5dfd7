"""Credentials: passwords (argon2id), people's access tokens (JWT, HS256) and machines' API keys.

Three rules carry the security of the whole service:

* a password is stored only as a slow, salted hash (argon2id via pwdlib), so a stolen table does
  not give the passwords back;
* a JWT is decoded with ``algorithms=["HS256"]`` — pinned, never read from the token's header —
  and ``exp`` is required, so ``alg: none``, an RS256 token (the "HS/RS confusion" attack), a
  tampered or an expired token are all refused the same way;
* an API key (``ak_<id>_<secret>``) is 256 random bits shown once; only the SHA-256 of its secret
  is kept. A fast hash is right for a random secret (there is nothing to guess), and every API
  request verifies one, in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from .ids import new_id

JWT_ALGORITHM = "HS256"
API_KEY_PREFIX = "ak_"
_ULID_LENGTH = 26

_passwords = PasswordHash((Argon2Hasher(),))
# Verified against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _passwords.hash(secrets.token_urlsafe(16))


class InvalidCredentials(Exception):
    """A token or key that must be answered with 401; ``str()`` says why (for logs, not clients)."""


def hash_password(password: str) -> str:
    """argon2id with a random salt (pwdlib's defaults)."""
    return _passwords.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Whether ``password`` matches; ``password_hash=None`` (no such user) costs the same and fails."""
    if password_hash is None:
        _passwords.verify(password, _DUMMY_HASH)
        return False
    try:
        return _passwords.verify(password, password_hash)
    except Exception:  # a corrupt hash in the table is a failed sign-in, not a 500
        return False


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    tenant_id: str


def create_access_token(*, user_id: str, tenant_id: str, secret: str, ttl_s: int,
                        now_s: float | None = None) -> str:
    """A signed HS256 token: ``sub`` = user, ``tid`` = tenant, ``exp`` = now + ``ttl_s``."""
    issued = int(time.time() if now_s is None else now_s)
    claims = {"sub": user_id, "tid": tenant_id, "iat": issued, "exp": issued + ttl_s}
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


def decode_access_token(token: str, secret: str) -> TokenClaims:
    """The claims of a valid token, or :class:`InvalidCredentials`.

    The accepted algorithm is fixed here, not taken from the token: a token that names ``none``
    or ``RS256`` is refused before its signature is even looked at.
    """
    try:
        claims = jwt.decode(token, secret, algorithms=[JWT_ALGORITHM],
                            options={"require": ["exp", "sub", "tid"]})
    except jwt.PyJWTError as exc:
        raise InvalidCredentials(f"invalid access token: {exc}") from exc
    if not isinstance(claims["sub"], str) or not isinstance(claims["tid"], str):
        raise InvalidCredentials("invalid access token: sub and tid must be strings")
    return TokenClaims(user_id=claims["sub"], tenant_id=claims["tid"])


def hash_api_secret(secret: str) -> str:
    """SHA-256 (hex) of an API key's secret part — what the table stores."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class NewApiKey:
    key_id: str       # key_<ulid>, the row's id
    key: str          # ak_<ulid>_<secret>, shown to the caller once
    secret_hash: str  # stored


def new_api_key() -> NewApiKey:
    key_id = new_id("key")
    secret = secrets.token_urlsafe(32)
    return NewApiKey(key_id=key_id, key=f"{API_KEY_PREFIX}{key_id.removeprefix('key_')}_{secret}",
                     secret_hash=hash_api_secret(secret))


def parse_api_key(key: str) -> tuple[str, str]:
    """``ak_<ulid>_<secret>`` → ``(key_<ulid>, secret)``, or :class:`InvalidCredentials`."""
    body = key.removeprefix(API_KEY_PREFIX)
    ulid, separator, secret = body[:_ULID_LENGTH], body[_ULID_LENGTH:_ULID_LENGTH + 1], \
        body[_ULID_LENGTH + 1:]
    if not key.startswith(API_KEY_PREFIX) or len(ulid) != _ULID_LENGTH or separator != "_" or not secret:
        raise InvalidCredentials("malformed API key")
    return f"key_{ulid}", secret


def api_secret_matches(secret: str, secret_hash: str) -> bool:
    """Constant-time comparison, so response timing does not reveal how much of a hash matched."""
    return hmac.compare_digest(hash_api_secret(secret), secret_hash)

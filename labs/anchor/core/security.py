"""Credentials: passwords (argon2id), people's access tokens (JWT, HS256) and machines' API keys.

Three rules carry the security of the whole service, and this module is where they live:

* a password is stored only as a slow, salted hash (argon2id via pwdlib), so a stolen table does
  not give the passwords back;
* a JWT is decoded with the algorithm pinned by the server — never read from the token's header —
  and ``exp`` required, so ``alg: none``, an RS256 token carrying its own key, a tampered or an
  expired token are all refused the same way;
* an API key (``ak_<ulid>_<secret>``) is 256 random bits shown once; only the SHA-256 of its secret
  is kept, and compared in constant time.

The API's routes and ``api/deps.py`` call these functions; everything else is given.
"""

from __future__ import annotations

import hashlib  # noqa: F401 — yours to use
import hmac  # noqa: F401 — yours to use
import secrets  # noqa: F401 — yours to use
import time  # noqa: F401 — yours to use
from dataclasses import dataclass

import jwt  # noqa: F401 — yours to use
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from .ids import new_id  # noqa: F401 — yours to use

JWT_ALGORITHM = "HS256"
API_KEY_PREFIX = "ak_"
_ULID_LENGTH = 26

_passwords = PasswordHash((Argon2Hasher(),))


class InvalidCredentials(Exception):
    """A token or key that must be answered with 401; ``str()`` says why (for logs, not clients)."""


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` with a random salt — what the users table stores.

    ``_passwords.hash`` does it with pwdlib's defaults (tuned to cost tens of milliseconds).
    """
    raise NotImplementedError(
        "hash_password: see weeks/13-anchor-core/README.md, section 'Passwords'")


def verify_password(password: str, password_hash: str | None) -> bool:
    """Whether ``password`` matches ``password_hash``.

    ``password_hash=None`` means no such user: verify against a dummy hash anyway and return
    False, so an unknown email costs as long as a wrong password (no account enumeration by
    timing). A corrupt stored hash is a failed sign-in, not an exception.
    """
    raise NotImplementedError(
        "verify_password: see weeks/13-anchor-core/README.md, section 'Passwords'")


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    tenant_id: str


def create_access_token(*, user_id: str, tenant_id: str, secret: str, ttl_s: int,
                        now_s: float | None = None) -> str:
    """A signed HS256 token: ``sub`` = user, ``tid`` = tenant, ``iat`` = now, ``exp`` = now + ``ttl_s``."""
    raise NotImplementedError(
        "create_access_token: see weeks/13-anchor-core/README.md, section 'Access tokens'")


def decode_access_token(token: str, secret: str) -> TokenClaims:
    """The claims of a valid token, or :class:`InvalidCredentials` (never a ``jwt`` exception).

    Pin the algorithm to :data:`JWT_ALGORITHM`; require ``exp``, ``sub`` and ``tid``; check that
    ``sub`` and ``tid`` are strings.
    """
    raise NotImplementedError(
        "decode_access_token: see weeks/13-anchor-core/README.md, section 'Tokens an attacker can make'")


def hash_api_secret(secret: str) -> str:
    """SHA-256 (hex) of an API key's secret part — what the api_keys table stores."""
    raise NotImplementedError(
        "hash_api_secret: see weeks/13-anchor-core/README.md, section 'API keys'")


@dataclass(frozen=True)
class NewApiKey:
    key_id: str       # key_<ulid>, the row's id
    key: str          # ak_<ulid>_<secret>, shown to the caller once
    secret_hash: str  # stored


def new_api_key() -> NewApiKey:
    """A fresh key: id ``new_id("key")``, secret ``secrets.token_urlsafe(32)``, the key string
    ``ak_<the id's ulid>_<secret>`` and the hash of the secret."""
    raise NotImplementedError(
        "new_api_key: see weeks/13-anchor-core/README.md, section 'API keys'")


def parse_api_key(key: str) -> tuple[str, str]:
    """``ak_<ulid>_<secret>`` → ``(key_<ulid>, secret)``, or :class:`InvalidCredentials`.

    The ulid is exactly 26 characters; the secret may itself contain ``_``.
    """
    raise NotImplementedError(
        "parse_api_key: see weeks/13-anchor-core/README.md, section 'API keys'")


def api_secret_matches(secret: str, secret_hash: str) -> bool:
    """Whether ``secret`` hashes to ``secret_hash``, compared in constant time (``hmac.compare_digest``)."""
    raise NotImplementedError(
        "api_secret_matches: see weeks/13-anchor-core/README.md, section 'API keys'")

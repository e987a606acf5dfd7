"""Passwords and access tokens — the two places where "almost right" means "breached".

Your task (lesson: weeks/02-fastapi/README.md, sections 'Auth' and 'Tokens that must fail'):
hash passwords with argon2id through pwdlib, and issue / check JWTs with PyJWT.
"""

from __future__ import annotations

import datetime as dt

from .settings import Settings

AUTH = "see weeks/02-fastapi/README.md, section 'Auth'"
TOKENS = "see weeks/02-fastapi/README.md, section 'Tokens that must fail'"


class InvalidToken(Exception):
    """The token is unusable: malformed, badly signed, wrong algorithm, expired or incomplete."""


def hash_password(password: str) -> str:
    """Return an argon2id hash of ``password`` (a PHC string starting ``$argon2id$``).

    Use pwdlib (``PasswordHash.recommended()``, or an ``Argon2Hasher`` with explicit costs).
    """
    raise NotImplementedError(AUTH)


def verify_password(password: str, hashed: str | None) -> bool:
    """True when ``password`` matches ``hashed``.

    ``hashed=None`` means "no such user": still spend one argon2 verification (against a dummy
    hash you make once at import) and return False, so unknown e-mails take as long as wrong
    passwords and response times do not reveal which accounts exist.
    """
    raise NotImplementedError(AUTH)


def create_access_token(subject: str, settings: Settings, expires_in: dt.timedelta | None = None) -> str:
    """A signed JWT for ``subject`` (the user's id, as a string, in the ``sub`` claim).

    Claims: ``sub``, ``iat`` (now), ``exp`` (now + ``expires_in``, default
    ``settings.access_token_minutes``). Sign with ``settings.signing_key`` using
    ``settings.jwt_algorithm`` (HS256 with a secret, or RS256 with a private key).
    """
    raise NotImplementedError(AUTH)


def decode_access_token(token: str, settings: Settings) -> str:
    """The ``sub`` of a valid token; raise :class:`InvalidToken` for anything else.

    Anything else means: malformed, tampered, expired, missing ``exp``/``iat``/``sub``, ``"alg":
    "none"``, or signed with another algorithm than ``settings.jwt_algorithm`` (HS/RS confusion).
    Verify with ``settings.verification_key``. Every PyJWT failure subclasses ``jwt.PyJWTError``.
    """
    raise NotImplementedError(TOKENS)

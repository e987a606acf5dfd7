"""API keys for machines: a visible prefix, a secret shown once, a hash at rest, revocable.

A key looks like ``bsk_3f9a1c2e7b4d_<32 random characters>``. The part before the second
underscore — the *key id* — is not secret: it is the primary key of the row, shown in listings
and logs so a person can tell keys apart and revoke the right one. The whole key is shown once,
when it is issued; the database keeps only its SHA-256. A fast hash is right here (unlike for
passwords): the key has ~190 random bits, so there is nothing to guess, and every request pays
for the check. A stolen database dump yields no usable key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

KEY_PREFIX = "bsk_"
KEY_ID_CHARS = 12
SECRET_CHARS = 32
_ALPHABET = string.ascii_letters + string.digits

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id      text PRIMARY KEY,
    tenant_id   text NOT NULL,
    tier        text NOT NULL,
    key_hash    text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX IF NOT EXISTS api_keys_tenant ON api_keys (tenant_id);
"""


@dataclass(frozen=True)
class IssuedKey:
    """The answer to "give me a key": the only time ``key`` exists outside the client."""

    key: str
    key_id: str
    tenant_id: str
    tier: str


@dataclass(frozen=True)
class KeyRecord:
    """What the server knows about a key — never the key itself."""

    key_id: str
    tenant_id: str
    tier: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


def generate_key() -> tuple[str, str]:
    """A new ``(key, key_id)``: ``bsk_<12 hex>`` then ``_`` and 32 random letters and digits."""
    key_id = KEY_PREFIX + secrets.token_hex(KEY_ID_CHARS // 2)
    secret = "".join(secrets.choice(_ALPHABET) for _ in range(SECRET_CHARS))
    return f"{key_id}_{secret}", key_id


def key_id_of(key: str) -> str | None:
    """The key id of a well-formed key, ``None`` for anything else (no exception for garbage)."""
    key_id, sep, secret = key.rpartition("_")
    if (not sep or not key_id.startswith(KEY_PREFIX) or len(key_id) != len(KEY_PREFIX) + KEY_ID_CHARS
            or len(secret) != SECRET_CHARS or not secret.isascii() or not secret.isalnum()):
        return None
    return key_id


def hash_key(key: str) -> str:
    """SHA-256 of the whole key, hex: what the database stores."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyStore:
    """Issue, authenticate, list and revoke keys in PostgreSQL."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def issue(self, tenant_id: str, tier: str) -> IssuedKey:
        key, key_id = generate_key()
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO api_keys (key_id, tenant_id, tier, key_hash) VALUES (%s, %s, %s, %s)",
                (key_id, tenant_id, tier, hash_key(key)))
        return IssuedKey(key=key, key_id=key_id, tenant_id=tenant_id, tier=tier)

    async def authenticate(self, key: str) -> KeyRecord | None:
        """The key's record if it is well-formed, known, matches its hash and is not revoked."""
        key_id = key_id_of(key)
        if key_id is None:
            return None
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute("SELECT * FROM api_keys WHERE key_id = %s", (key_id,))
            row = await cur.fetchone()
        if row is None or not hmac.compare_digest(row["key_hash"], hash_key(key)):
            return None
        if row["revoked_at"] is not None:
            return None
        return _record(row)

    async def list(self, tenant_id: str) -> list[KeyRecord]:
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute("SELECT * FROM api_keys WHERE tenant_id = %s ORDER BY created_at, key_id",
                              (tenant_id,))
            return [_record(row) for row in await cur.fetchall()]

    async def revoke(self, key_id: str, *, tenant_id: str) -> bool:
        """Revoke one of ``tenant_id``'s keys; ``False`` if it has no such key (another tenant's included)."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) "
                "WHERE key_id = %s AND tenant_id = %s", (key_id, tenant_id))
            return cur.rowcount == 1


def _record(row: dict[str, object]) -> KeyRecord:
    return KeyRecord(**{field: row[field] for field in ("key_id", "tenant_id", "tier", "created_at",
                                                         "revoked_at")})  # type: ignore[arg-type]

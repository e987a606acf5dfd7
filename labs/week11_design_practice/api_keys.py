"""API keys for machines: a visible prefix, a secret shown once, a hash at rest, revocable.

Your task:

* :func:`generate_key` — ``(key, key_id)``: ``key_id`` is ``bsk_`` + 12 hex characters
  (``secrets.token_hex(6)``); ``key`` is ``f"{key_id}_{secret}"`` with a 32-character secret of
  ASCII letters and digits from ``secrets.choice``.
* :func:`key_id_of` — the key id of a well-formed key (``bsk_`` + 12 characters, ``_``, 32
  letters or digits); ``None`` for anything else — never an exception.
* :func:`hash_key` — SHA-256 of the whole key, hex. The database stores this, never the key.
* :class:`ApiKeyStore` (PostgreSQL, table ``api_keys`` below):
  ``issue(tenant_id, tier)`` inserts the key id and hash and returns the full key once;
  ``authenticate(key)`` returns the :class:`KeyRecord` only if the key is well-formed, its id is
  known, its hash matches (``hmac.compare_digest``) and it is not revoked — else ``None``;
  ``list(tenant_id)`` returns that tenant's records; ``revoke(key_id, tenant_id=…)`` sets
  ``revoked_at`` on that tenant's key and says whether there was one.

Read weeks/11-design-practice/README.md, section 'API keys'.
"""

from __future__ import annotations

import datetime as dt
import string
from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool

KEY_PREFIX = "bsk_"
KEY_ID_CHARS = 12
SECRET_CHARS = 32
_ALPHABET = string.ascii_letters + string.digits
SECTION = "see weeks/11-design-practice/README.md, section 'API keys'"

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
    raise NotImplementedError(f"generate_key — {SECTION}")


def key_id_of(key: str) -> str | None:
    """The key id of a well-formed key, ``None`` for anything else (no exception for garbage)."""
    raise NotImplementedError(f"key_id_of — {SECTION}")


def hash_key(key: str) -> str:
    """SHA-256 of the whole key, hex: what the database stores."""
    raise NotImplementedError(f"hash_key — {SECTION}")


class ApiKeyStore:
    """Issue, authenticate, list and revoke keys in PostgreSQL."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def issue(self, tenant_id: str, tier: str) -> IssuedKey:
        raise NotImplementedError(f"ApiKeyStore.issue — {SECTION}")

    async def authenticate(self, key: str) -> KeyRecord | None:
        """The key's record if it is well-formed, known, matches its hash and is not revoked."""
        raise NotImplementedError(f"ApiKeyStore.authenticate — {SECTION}")

    async def list(self, tenant_id: str) -> list[KeyRecord]:
        raise NotImplementedError(f"ApiKeyStore.list — {SECTION}")

    async def revoke(self, key_id: str, *, tenant_id: str) -> bool:
        """Revoke one of ``tenant_id``'s keys; ``False`` if it has no such key (another tenant's included)."""
        raise NotImplementedError(f"ApiKeyStore.revoke — {SECTION}")

"""Standard Webhooks signing: what every attempt carries so its receiver can trust it.

The signed content is ``{webhook-id}.{webhook-timestamp}.{body}``: the id and the timestamp are
inside the HMAC, so a captured request cannot be replayed under another id or a fresh time. The
key is the base64 part of a ``whsec_`` secret; a signature is ``v1,<base64 HMAC-SHA256>``, and the
``webhook-signature`` header carries one per secret in use, space-separated, so during a rotation
a receiver that knows only the old secret or only the new one accepts the request either way.

``webhook-id`` is the *message* id, the same on every attempt: it is what the receiver dedupes on.
The official ``standardwebhooks`` and ``svix`` libraries verify these headers (the e2e tests prove
it against requests the worker really sent).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24  # the spec: 24 to 64 bytes of key
MAX_SECRET_BYTES = 64


def generate_secret(n_bytes: int = 32) -> str:
    """A new endpoint secret: ``whsec_`` + base64 of ``n_bytes`` random bytes."""
    if not MIN_SECRET_BYTES <= n_bytes <= MAX_SECRET_BYTES:
        raise ValueError(f"a secret has {MIN_SECRET_BYTES}–{MAX_SECRET_BYTES} bytes; got {n_bytes}")
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(n_bytes)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a ``whsec_`` secret; ``ValueError`` naming the problem if it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a signing secret starts with {SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as exc:
        raise ValueError("a signing secret is whsec_ followed by base64") from exc
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise ValueError(f"a signing secret holds {MIN_SECRET_BYTES}–{MAX_SECRET_BYTES} bytes; "
                         f"this one holds {len(key)}")
    return key


def sign(secret: str, msg_id: str, timestamp_s: int, body: bytes) -> str:
    """One signature entry, ``v1,<base64>``, over ``{msg_id}.{timestamp_s}.{body}``."""
    signed = f"{msg_id}.{int(timestamp_s)}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sign_headers(secrets_in_use: Sequence[str], msg_id: str, body: bytes, *,
                 timestamp_s: int | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt, signed with every secret in use.

    A fresh timestamp per attempt: a retry hours later must still fall inside the receiver's
    tolerance window (five minutes in the official libraries).
    """
    if not secrets_in_use:
        raise ValueError("an endpoint needs at least one secret to sign with")
    if not msg_id or "." in msg_id or " " in msg_id:
        raise ValueError(f"a webhook id is non-empty, without '.' or spaces; got {msg_id!r}")
    at = int(time.time()) if timestamp_s is None else int(timestamp_s)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(at),
        "webhook-signature": " ".join(sign(secret, msg_id, at, body) for secret in secrets_in_use),
    }

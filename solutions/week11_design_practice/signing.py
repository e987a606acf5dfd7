"""Standard Webhooks signatures: sign what you send, verify what you receive.

The content signed is ``{webhook-id}.{webhook-timestamp}.{body}`` — the id and the timestamp
are inside the signature, so a captured request cannot be replayed under a new id or a fresh
timestamp. The key is the base64 part of a ``whsec_`` secret; the signature is
``v1,<base64 HMAC-SHA256>``, and the ``webhook-signature`` header holds one entry per secret in
use, space-separated, so a rotation never breaks a receiver that knows only one of them.

Every way a request can be wrong ends in :class:`VerificationError` with a :class:`Reason` — a
receiver turns it into a 400/401 and a log line, never into a 500 from a stray ``ValueError``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping, Sequence
from enum import StrEnum

SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24  # the spec: at least 24 bytes (192 bits), at most 64
MAX_SECRET_BYTES = 64
DEFAULT_TOLERANCE_S = 300.0  # five minutes either way, as the official libraries enforce


class Reason(StrEnum):
    """Why a webhook was refused — stable strings for logs, metrics and problem documents."""

    MISSING_HEADER = "missing-header"
    INVALID_TIMESTAMP = "invalid-timestamp"
    TIMESTAMP_TOO_OLD = "timestamp-too-old"
    TIMESTAMP_TOO_NEW = "timestamp-too-new"
    MALFORMED_SIGNATURE = "malformed-signature"
    NO_MATCHING_SIGNATURE = "no-matching-signature"
    INVALID_SECRET = "invalid-secret"


class VerificationError(Exception):
    """A webhook that must not be processed; ``reason`` says which check failed."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def generate_secret(n_bytes: int = 32) -> str:
    """A new endpoint secret: ``whsec_`` + base64 of ``n_bytes`` random bytes."""
    if not MIN_SECRET_BYTES <= n_bytes <= MAX_SECRET_BYTES:
        raise ValueError(f"a secret has {MIN_SECRET_BYTES}–{MAX_SECRET_BYTES} bytes; got {n_bytes}")
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(n_bytes)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a ``whsec_`` secret; :class:`VerificationError` if it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        raise VerificationError(Reason.INVALID_SECRET, f"a secret starts with {SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VerificationError(Reason.INVALID_SECRET, "the secret is not base64") from exc
    if len(key) < MIN_SECRET_BYTES:
        raise VerificationError(Reason.INVALID_SECRET,
                                f"the secret has {len(key)} bytes; at least {MIN_SECRET_BYTES}")
    return key


def sign(secret: str, msg_id: str, timestamp_s: int, body: bytes) -> str:
    """One signature entry, ``v1,<base64>``, over ``{msg_id}.{timestamp_s}.{body}``."""
    if not msg_id or "." in msg_id or " " in msg_id:
        raise ValueError(f"a webhook id is non-empty, without '.' or spaces; got {msg_id!r}")
    signed = f"{msg_id}.{int(timestamp_s)}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sign_headers(secrets_in_use: Sequence[str], msg_id: str, body: bytes, *,
                 timestamp_s: int | None = None) -> dict[str, str]:
    """The three headers for one attempt, signed with every secret in use (newest first)."""
    if not secrets_in_use:
        raise ValueError("sign with at least one secret")
    at = int(time.time()) if timestamp_s is None else int(timestamp_s)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(at),
        "webhook-signature": " ".join(sign(s, msg_id, at, body) for s in secrets_in_use),
    }


def _header(headers: Mapping[str, str], name: str) -> str:
    # HTTP header names are case-insensitive; a plain dict is not.
    for key, value in headers.items():
        if key.lower() == name:
            if not value.strip():
                break
            return value.strip()
    raise VerificationError(Reason.MISSING_HEADER, f"the {name} header is missing or empty")


def verify(secrets_in_use: str | Sequence[str], headers: Mapping[str, str], body: bytes, *,
           tolerance_s: float = DEFAULT_TOLERANCE_S, now_s: float | None = None) -> str:
    """Check one received webhook; return its ``webhook-id``, or raise :class:`VerificationError`.

    ``secrets_in_use``: the endpoint's secret, or several during a rotation — any match passes.
    ``body`` is the raw bytes as received: never parse and re-serialise JSON before verifying.
    """
    keys = [secret_key(s) for s in ([secrets_in_use] if isinstance(secrets_in_use, str) else secrets_in_use)]
    if not keys:
        raise VerificationError(Reason.INVALID_SECRET, "no secret to verify with")
    msg_id = _header(headers, "webhook-id")
    raw_timestamp = _header(headers, "webhook-timestamp")
    raw_signature = _header(headers, "webhook-signature")

    if not raw_timestamp.isascii() or not raw_timestamp.isdigit():
        raise VerificationError(Reason.INVALID_TIMESTAMP,
                                f"webhook-timestamp is integer Unix seconds; got {raw_timestamp[:40]!r}")
    timestamp_s = int(raw_timestamp)
    now = time.time() if now_s is None else now_s
    if timestamp_s < now - tolerance_s:
        raise VerificationError(Reason.TIMESTAMP_TOO_OLD,
                                f"sent {now - timestamp_s:.0f}s ago; the tolerance is {tolerance_s:.0f}s")
    if timestamp_s > now + tolerance_s:
        raise VerificationError(Reason.TIMESTAMP_TOO_NEW,
                                f"sent {timestamp_s - now:.0f}s ahead; the tolerance is {tolerance_s:.0f}s")

    candidates: list[bytes] = []
    for entry in raw_signature.split():
        version, comma, encoded = entry.partition(",")
        if not comma or not version:
            raise VerificationError(Reason.MALFORMED_SIGNATURE,
                                    f"an entry is version,signature; got {entry[:40]!r}")
        if version != "v1":
            continue  # v1a (asymmetric) or a future version: not ours to check, not an error
        try:
            candidates.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise VerificationError(Reason.MALFORMED_SIGNATURE,
                                    f"a v1 signature is not base64: {encoded[:40]!r}") from exc
    if not candidates:
        raise VerificationError(Reason.MALFORMED_SIGNATURE, "no v1 signature in webhook-signature")

    signed = f"{msg_id}.{timestamp_s}.".encode() + body
    for key in keys:
        expected = hmac.new(key, signed, hashlib.sha256).digest()
        # compare_digest takes the same time wherever the first difference is: `==` stops at
        # the first wrong byte, and that timing lets an attacker guess a signature byte by byte.
        if any(hmac.compare_digest(expected, candidate) for candidate in candidates):
            return msg_id
    raise VerificationError(Reason.NO_MATCHING_SIGNATURE,
                            "no signature matches: wrong secret, or the id, timestamp or body changed")

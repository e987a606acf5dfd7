"""Standard Webhooks signatures: sign what you send, verify what you receive.

Your task — five functions, per the Standard Webhooks spec:

* :func:`generate_secret` — ``whsec_`` + base64 of ``n_bytes`` random bytes (24–64; default 32).
* :func:`secret_key` — the HMAC key: base64-decode what follows ``whsec_``. A secret without the
  prefix, that is not base64, or that decodes to fewer than 24 bytes raises
  ``VerificationError(Reason.INVALID_SECRET, …)``.
* :func:`sign` — ``"v1," + base64(HMAC-SHA256(key, f"{msg_id}.{timestamp_s}." + body))``.
* :func:`sign_headers` — ``{"webhook-id", "webhook-timestamp", "webhook-signature"}`` for one
  attempt; the signature header holds one ``v1,…`` entry per secret, space-separated (a rotation
  signs with the new and the old secret). ``timestamp_s`` defaults to now, integer seconds.
* :func:`verify` — return the ``webhook-id`` of a good request; otherwise raise
  :class:`VerificationError` with the right :class:`Reason` and never anything else (no
  ``ValueError``, ``TypeError`` or ``binascii.Error`` may escape):

  - a missing or blank header (looked up case-insensitively) → ``MISSING_HEADER``;
  - a timestamp that is not integer Unix seconds → ``INVALID_TIMESTAMP``;
  - older than ``now_s - tolerance_s`` → ``TIMESTAMP_TOO_OLD``; newer than ``now_s + tolerance_s``
    → ``TIMESTAMP_TOO_NEW`` (exactly at the edge passes; ``now_s`` defaults to ``time.time()``);
  - an entry without a comma, a ``v1`` signature that is not base64, or no ``v1`` entry at all →
    ``MALFORMED_SIGNATURE`` (entries of other versions, e.g. ``v1a``, are skipped);
  - no ``v1`` entry matching any of the secrets → ``NO_MATCHING_SIGNATURE``.

  Compare signatures with ``hmac.compare_digest``, never ``==``.

Read weeks/11-design-practice/README.md, section 'Signing a webhook'.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum

SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24  # the spec: at least 24 bytes (192 bits), at most 64
MAX_SECRET_BYTES = 64
DEFAULT_TOLERANCE_S = 300.0  # five minutes either way, as the official libraries enforce
SECTION = "see weeks/11-design-practice/README.md, section 'Signing a webhook'"


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
    raise NotImplementedError(f"generate_secret — {SECTION}")


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a ``whsec_`` secret; :class:`VerificationError` if it is not one."""
    raise NotImplementedError(f"secret_key — {SECTION}")


def sign(secret: str, msg_id: str, timestamp_s: int, body: bytes) -> str:
    """One signature entry, ``v1,<base64>``, over ``{msg_id}.{timestamp_s}.{body}``."""
    raise NotImplementedError(f"sign — {SECTION}")


def sign_headers(secrets_in_use: Sequence[str], msg_id: str, body: bytes, *,
                 timestamp_s: int | None = None) -> dict[str, str]:
    """The three headers for one attempt, signed with every secret in use (newest first)."""
    raise NotImplementedError(f"sign_headers — {SECTION}")


def verify(secrets_in_use: str | Sequence[str], headers: Mapping[str, str], body: bytes, *,
           tolerance_s: float = DEFAULT_TOLERANCE_S, now_s: float | None = None) -> str:
    """Check one received webhook; return its ``webhook-id``, or raise :class:`VerificationError`.

    ``secrets_in_use``: the endpoint's secret, or several during a rotation — any match passes.
    ``body`` is the raw bytes as received: never parse and re-serialise JSON before verifying.
    """
    raise NotImplementedError(f"verify — {SECTION}")

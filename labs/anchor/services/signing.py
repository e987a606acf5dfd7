"""Standard Webhooks signing: what every attempt carries so its receiver can trust it.

Write it (week 14). The signed content is ``{webhook-id}.{webhook-timestamp}.{body}`` — the id
and the timestamp inside the HMAC, so a captured request cannot be replayed under another id or a
fresh time — over the body bytes exactly as they are sent. The key is the base64 part of a
``whsec_`` secret; a signature is ``v1,<base64 HMAC-SHA256>``; ``webhook-signature`` holds one
per secret in use, space-separated, so a rotation never breaks a receiver that knows only one.
"""

from __future__ import annotations

from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24  # the spec: 24 to 64 bytes of key
MAX_SECRET_BYTES = 64
TODO = "write it: see weeks/14-anchor-jobs/README.md, section 'Signing'"


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a ``whsec_`` secret; ``ValueError`` naming the problem if it is not one."""
    raise NotImplementedError(TODO)


def sign(secret: str, msg_id: str, timestamp_s: int, body: bytes) -> str:
    """One signature entry, ``v1,<base64>``, over ``{msg_id}.{timestamp_s}.{body}``."""
    raise NotImplementedError(TODO)


def sign_headers(secrets_in_use: Sequence[str], msg_id: str, body: bytes, *,
                 timestamp_s: int | None = None) -> dict[str, str]:
    """``webhook-id`` (the message id), ``webhook-timestamp`` (now, unless given) and
    ``webhook-signature`` (one ``v1,…`` per secret, space-separated) for one attempt.

    A fresh timestamp per attempt: a retry hours later must fall inside the receiver's tolerance.
    """
    raise NotImplementedError(TODO)

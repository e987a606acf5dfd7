"""Endpoint signing secrets: ``whsec_<base64>``, and rotation with a grace period.

Rotating a secret cannot be atomic on both sides: the receiver deploys the new secret some time
after we switch. So the old secret is not deleted; it gets ``expires_at = now + grace`` and keeps
signing (a second signature in ``webhook-signature``) until then — the receiver verifies with
either, and no message is rejected during the switch.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets as random_secrets
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import EndpointSecret

PREFIX = "whsec_"
SECRET_BYTES = 24
# Svix's format: base64 of 24–64 random bytes, optionally prefixed with whsec_.
_SECRET = re.compile(r"^(whsec_)?[A-Za-z0-9+/=]{32,100}$")


class InvalidSecret(ValueError):
    """A given secret that is not ``whsec_`` + base64 of 24–64 bytes."""


def generate_secret() -> str:
    """``whsec_`` + base64 of 24 random bytes (192 bits), as Standard Webhooks recommends."""
    return PREFIX + base64.b64encode(random_secrets.token_bytes(SECRET_BYTES)).decode()


def normalise_secret(given: str) -> str:
    """A tenant-chosen secret, checked and always with its ``whsec_`` prefix."""
    if not _SECRET.match(given):
        raise InvalidSecret("a secret is whsec_ followed by base64 of 24 to 64 bytes")
    raw = given.removeprefix(PREFIX)
    try:
        decoded = base64.b64decode(raw, validate=True)
    except binascii.Error as exc:
        raise InvalidSecret(f"the secret is not valid base64: {exc}") from exc
    if not 24 <= len(decoded) <= 64:
        raise InvalidSecret(f"the secret decodes to {len(decoded)} bytes; it must be 24 to 64")
    return PREFIX + raw


async def current_secret(session: AsyncSession, endpoint_id: str) -> str | None:
    """The secret new messages are signed with (the one without an expiry)."""
    return await session.scalar(select(EndpointSecret.secret).where(
        EndpointSecret.endpoint_id == endpoint_id, EndpointSecret.expires_at.is_(None))
        .order_by(EndpointSecret.id.desc()).limit(1))


async def rotate(session: AsyncSession, endpoint_id: str, *, new_secret: str | None,
                 grace_s: float) -> str:
    """Give the current secret ``grace_s`` more seconds and make a new one current (caller commits)."""
    await session.execute(update(EndpointSecret).where(
        EndpointSecret.endpoint_id == endpoint_id, EndpointSecret.expires_at.is_(None))
        .values(expires_at=func.now() + timedelta(seconds=grace_s)))
    secret = new_secret or generate_secret()
    session.add(EndpointSecret(endpoint_id=endpoint_id, secret=secret))
    return secret

"""Resource ids: a type prefix and a ULID — ``msg_01JD…`` — sortable by creation time.

Time-ordered ids make keyset pagination a plain ``WHERE id > :after ORDER BY id`` and keep each
table's primary-key index append-only; the prefix tells a reader (and a support engineer pasting
one into a search box) what kind of thing an id names, the way Svix's and Stripe's ids do.
"""

from __future__ import annotations

import os
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

PREFIXES = frozenset({"org", "user", "key", "app", "ep", "msg", "dlv", "atmpt", "whsec"})


def ulid(now_ms: int | None = None) -> str:
    """26 Crockford base32 characters: 48 bits of milliseconds, then 80 random bits."""
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def new_id(prefix: str) -> str:
    """``<prefix>_<ulid>`` for one of :data:`PREFIXES`."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}; known: {sorted(PREFIXES)}")
    return f"{prefix}_{ulid()}"

"""Newest-first pagination over ``events`` with an opaque keyset cursor.

A page is "the next ``limit`` rows after the last row you saw", found by a range condition on
the index ``(created_at, id)`` — so page 1000 costs what page 1 costs, and rows inserted while a
client pages never shift it onto rows it has already seen. ``created_at`` alone is not a key
(many rows share a timestamp); ``id`` breaks the ties, which makes the sort order total.

The cursor is the last row's key, JSON in base64url: opaque to clients (they must not build or
edit it), cheap to decode, and validated on the way in so a mangled one is a clear 400, not a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

import psycopg

MAX_LIMIT = 1000


class InvalidCursor(ValueError):
    """The cursor was not produced by :func:`encode_cursor` (truncated, edited or made up)."""


@dataclass(frozen=True)
class Event:
    id: int
    created_at: datetime
    kind: str


@dataclass(frozen=True)
class Page:
    items: list[Event]
    next_cursor: str | None  # None on the last page


def encode_cursor(created_at: datetime, event_id: int) -> str:
    """The opaque cursor that points just after the row ``(created_at, event_id)``."""
    raw = json.dumps([created_at.isoformat(), event_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The key inside ``cursor``; raises :class:`InvalidCursor` for anything else.

    The message says what is wrong and names the cursor ("invalid cursor …"): it is what a 400
    response shows the client.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, event_id = json.loads(raw)
        created_at = datetime.fromisoformat(stamp)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise InvalidCursor(f"invalid cursor {cursor[:40]!r}: not one this API issued") from exc
    if type(event_id) is not int or created_at.tzinfo is None:
        raise InvalidCursor(f"invalid cursor {cursor[:40]!r}: malformed key")
    return created_at, event_id


def list_events(conn: psycopg.Connection, limit: int = 50, cursor: str | None = None) -> Page:
    """One page of events, newest first (``created_at DESC, id DESC``), after ``cursor``.

    ``ValueError`` unless ``1 <= limit <= MAX_LIMIT``; ``InvalidCursor`` before any query runs.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    # Fetch one extra row: it tells us whether a next page exists without a COUNT(*).
    if cursor is None:
        rows = conn.execute(
            "SELECT id, created_at, kind FROM events ORDER BY created_at DESC, id DESC LIMIT %s",
            (limit + 1,),
        ).fetchall()
    else:
        created_at, event_id = decode_cursor(cursor)
        # The row comparison matches the index (created_at, id) walked backwards: it is an index
        # condition, so one descent to the cursor, then `limit` entries. The same logic spelled
        # `created_at < x OR (created_at = x AND id < y)` is only a filter: the scan would start
        # at the newest row and discard every row before the cursor, as OFFSET does.
        rows = conn.execute(
            "SELECT id, created_at, kind FROM events WHERE (created_at, id) < (%s, %s)"
            " ORDER BY created_at DESC, id DESC LIMIT %s",
            (created_at, event_id, limit + 1),
        ).fetchall()
    items = [Event(*row) for row in rows[:limit]]
    more = len(rows) > limit
    return Page(items, encode_cursor(items[-1].created_at, items[-1].id) if more else None)

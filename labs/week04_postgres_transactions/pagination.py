"""Newest-first pagination over ``events`` with an opaque keyset cursor.

The table is ``events (id bigint PRIMARY KEY, created_at timestamptz NOT NULL, kind text NOT
NULL)`` with an index on ``(created_at, id)``. Many events share a ``created_at``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

LESSON = "see weeks/04-postgres-transactions/README.md, section 'Keyset pagination'"
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
    """The opaque cursor that points just after the row ``(created_at, event_id)``.

    Base64url of the key (JSON inside is fine): clients pass it back verbatim and never parse it.
    The key must survive the round trip exactly — microseconds, offset and all.
    """
    raise NotImplementedError(f"encode_cursor: {LESSON}")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The key inside ``cursor``; raise :class:`InvalidCursor` for anything else.

    Truncated, non-base64, non-JSON, wrongly shaped (``5``, ``[1, 2]``, three items) or wrongly
    typed input (a timestamp without a UTC offset; an id that is not an ``int``, or is a ``bool``)
    must all end up as ``InvalidCursor`` — never as a database error or an uncaught
    ``TypeError``. Its message says what is wrong and names the cursor ("invalid cursor …"): it
    is what a 400 response shows the client. ``decode_cursor(encode_cursor(t, i)) == (t, i)``
    for every timezone-aware ``t`` (microseconds included) and every id.
    """
    raise NotImplementedError(f"decode_cursor: {LESSON}")


def list_events(conn: psycopg.Connection, limit: int = 50, cursor: str | None = None) -> Page:
    """One page of events, newest first (``created_at DESC, id DESC``), after ``cursor``.

    ``next_cursor`` points after the page's last item, or is ``None`` when nothing follows. Walking
    every page returns every row exactly once even while other connections insert rows, and a page
    deep in the table costs about what the first page costs: no OFFSET, and the cursor condition
    written as the row comparison ``(created_at, id) < (%s, %s)`` so it is one index range.
    ``ValueError`` unless ``1 <= limit <= MAX_LIMIT``; ``InvalidCursor`` for a bad cursor, before
    any query runs.
    """
    raise NotImplementedError(f"list_events: {LESSON}")

"""MISTAKE: an "opaque" cursor that is really a page offset.

It looks like keyset pagination from the outside, but every page is ``OFFSET n``: rows inserted
ahead of the reader shift it onto rows it has already returned, and page 1000 reads and throws
away 999 pages first. (Fails `test_pages_stay_stable_while_rows_are_inserted`.)
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
    """The cursor was not produced by this module."""


@dataclass(frozen=True)
class Event:
    id: int
    created_at: datetime
    kind: str


@dataclass(frozen=True)
class Page:
    items: list[Event]
    next_cursor: str | None


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(cursor))["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise InvalidCursor(f"invalid cursor {cursor!r}") from exc
    if type(offset) is not int:
        raise InvalidCursor(f"invalid cursor {cursor!r}")
    return offset


def list_events(conn: psycopg.Connection, limit: int = 50, cursor: str | None = None) -> Page:
    offset = decode_cursor(cursor) if cursor else 0
    rows = conn.execute(
        "SELECT id, created_at, kind FROM events ORDER BY created_at DESC, id DESC OFFSET %s LIMIT %s",
        (offset, limit + 1),
    ).fetchall()
    items = [Event(*row) for row in rows[:limit]]
    return Page(items, encode_cursor(offset + limit) if len(rows) > limit else None)

"""Keyset pagination on ids: ``WHERE id > :iterator ORDER BY id LIMIT :limit + 1``.

Ids are ``prefix_ULID`` — time-ordered strings — so "the rows after the last one you saw" is an
index range scan that costs the same on page 1 and page 10,000, unlike ``OFFSET``, which reads and
throws away every row before the page and skips or repeats rows when new ones arrive meanwhile.
One extra row is fetched to know whether another page exists without a ``COUNT``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 250


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page: ``iterator`` is what to pass for the next one; ``done`` when there is none."""

    items: list[T]
    iterator: str | None
    done: bool


def keyset(query: Select[Any], key: InstrumentedAttribute[str], *, iterator: str | None,
           limit: int) -> Select[Any]:
    """``query`` restricted to the rows after ``iterator``, in key order, one row more than a page."""
    if iterator is not None:
        query = query.where(key > iterator)
    return query.order_by(key).limit(limit + 1)


def page(rows: Sequence[T], *, limit: int, iterator: str | None, key_of: Callable[[T], str]) -> Page[T]:
    """Cut the ``limit + 1`` rows :func:`keyset` fetched into a :class:`Page`."""
    items = list(rows[:limit])
    done = len(rows) <= limit
    next_iterator = key_of(items[-1]) if items else iterator
    return Page(items=items, iterator=next_iterator, done=done)

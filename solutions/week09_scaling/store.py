"""The notes themselves, in Redis — given complete.

A real service keeps its resources in PostgreSQL (weeks 03–04); here Redis holds them too, so
the lab has one dependency and three instances share every byte of state. Ids come from one
``INCR`` counter, so they grow with time: "newest first" is "highest id first", and a cursor
can say "the notes older than id 42" — a position that inserts cannot shift.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import redis


class NoteStore:
    """Each author's notes: one hash per note, one sorted set (score = id) per author."""

    def __init__(self, client: redis.Redis, namespace: str = "notes") -> None:
        self.client = client
        self.namespace = namespace

    def create(self, author: str, text: str) -> dict[str, Any]:
        note_id = int(self.client.incr(f"{self.namespace}:next-id"))
        note = {"id": note_id, "author": author, "text": text,
                "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")}
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(f"{self.namespace}:{note_id}", mapping={k: str(v) for k, v in note.items()})
            pipe.zadd(f"{self.namespace}:by:{author}", {str(note_id): note_id})
            pipe.execute()
        return note

    def get(self, author: str, note_id: int) -> dict[str, Any] | None:
        """The note, or ``None`` when it does not exist or belongs to someone else."""
        raw = self.client.hgetall(f"{self.namespace}:{note_id}")
        if not raw or raw["author"] != author:
            return None
        return self._decode(raw)

    def page(self, author: str, *, before_id: int | None, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` of ``author``'s notes with ``id < before_id``, newest first."""
        top = f"({before_id}" if before_id is not None else "+inf"
        ids = self.client.zrevrangebyscore(f"{self.namespace}:by:{author}", top, "-inf",
                                           start=0, num=limit)
        with self.client.pipeline(transaction=False) as pipe:
            for note_id in ids:
                pipe.hgetall(f"{self.namespace}:{note_id}")
            return [self._decode(raw) for raw in pipe.execute() if raw]

    @staticmethod
    def _decode(raw: dict[str, str]) -> dict[str, Any]:
        return {"id": int(raw["id"]), "author": raw["author"], "text": raw["text"],
                "created_at": raw["created_at"]}

"""Week 10's reliable queue on a Redis stream, given, adapted to the anchor's batches.

The stream carries delivery ids; PostgreSQL carries the truth. Each entry goes to one worker of
the consumer group and stays in the group's pending entries list until that worker ``XACK``-s it,
after the attempt is recorded — a worker that dies leaves it pending, and after ``min_idle_ms``
another worker takes it over with ``XAUTOCLAIM``. An entry claimed ``max_deliveries`` times without
an ack (its handling keeps crashing a worker) goes to the dead-letter stream with the reason.

Differences from week 10's ``StreamQueue``: publishing and acking take many entries in one
pipelined round trip (the relay and the worker move hundreds per batch), and the handler loop
lives in the worker, which runs entries concurrently.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis


@dataclass(frozen=True)
class Entry:
    """One stream entry as a worker sees it; ``deliveries`` counts this hand-out (1 = first)."""

    id: str
    fields: dict[str, str]
    deliveries: int


class StreamQueue:
    """Stream ``stream``, consumer group ``group``, dead letters in ``dead_letter_stream``."""

    def __init__(self, client: aioredis.Redis, stream: str, group: str, *, dead_letter_stream: str,
                 max_deliveries: int = 5, min_idle_ms: int = 60_000) -> None:
        self.client = client
        self.stream = stream
        self.group = group
        self.dead_letter_stream = dead_letter_stream
        self.max_deliveries = max_deliveries
        self.min_idle_ms = min_idle_ms

    async def ensure_group(self) -> None:
        """Create the stream and the group (reading from the start) unless they exist.

        From the start (``0``), not ``$``: entries added before the group existed — or before a
        Redis restart rebuilt it — are work too.
        """
        try:
            await self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except aioredis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def publish_many(self, entries: Iterable[Mapping[str, str]]) -> list[str]:
        """Append every entry in one pipelined round trip; their stream ids, in order."""
        async with self.client.pipeline(transaction=False) as pipe:
            for fields in entries:
                pipe.xadd(self.stream, dict[Any, Any](fields))
            return [str(entry_id) for entry_id in await pipe.execute()]

    async def read(self, consumer: str, *, count: int, block_ms: int | None) -> list[Entry]:
        """Up to ``count`` new entries for ``consumer``, waiting up to ``block_ms`` for the first.

        ``NOGROUP`` (Redis restarted empty, or someone deleted the stream) re-creates the group
        instead of crashing the loop: the scheduler re-adds whatever PostgreSQL says is due.
        """
        reply: Any
        try:
            reply = await self.client.xreadgroup(self.group, consumer, {self.stream: ">"}, count=count,
                                                 block=block_ms)
        except aioredis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.ensure_group()
            return []
        return [Entry(entry_id, fields, 1) for name, entries in reply or [] if name == self.stream
                for entry_id, fields in entries if entry_id is not None]

    async def ack_many(self, entry_ids: Iterable[str]) -> None:
        """Done with these entries: out of the pending list, and out of the stream (nobody rereads them)."""
        ids = list(entry_ids)
        if ids:
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.xack(self.stream, self.group, *ids)
                pipe.xdel(self.stream, *ids)
                await pipe.execute()

    async def claim_stale(self, consumer: str, *, count: int) -> tuple[list[Entry], list[Entry]]:
        """Take over entries pending longer than ``min_idle_ms``: ``(to handle, dead-lettered)``.

        ``XAUTOCLAIM`` moves them to ``consumer`` and counts one more delivery; an entry whose count
        now exceeds ``max_deliveries`` goes to the dead-letter stream instead — returned second, so
        the caller records its delivery as failed with the reason.
        """
        reply: Any
        try:
            reply = await self.client.xautoclaim(self.stream, self.group, consumer, self.min_idle_ms,
                                                 start_id="0-0", count=count)
        except aioredis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.ensure_group()
            return [], []
        claimed = [(entry_id, fields) for entry_id, fields in reply[1] if entry_id is not None]
        deleted = list(reply[2]) if len(reply) > 2 else []
        if deleted:  # trimmed away while pending: nothing left to hand out
            await self.client.xack(self.stream, self.group, *deleted)
        if not claimed:
            return [], []
        async with self.client.pipeline(transaction=False) as pipe:
            for entry_id, _ in claimed:
                pipe.xpending_range(self.stream, self.group, min=entry_id, max=entry_id, count=1)
            replies = await pipe.execute()
        counts = {item["message_id"]: int(item["times_delivered"]) for reply_ in replies for item in reply_}
        fresh: list[Entry] = []
        dead: list[Entry] = []
        for entry_id, fields in claimed:
            times = counts.get(entry_id, self.max_deliveries + 1)
            if times > self.max_deliveries:
                entry = Entry(entry_id, fields, times - 1)
                await self.dead_letter(entry, f"no ack after {entry.deliveries} deliveries")
                dead.append(entry)
            else:
                fresh.append(Entry(entry_id, fields, times))
        return fresh, dead

    async def dead_letter(self, entry: Entry, reason: str) -> None:
        """Move ``entry`` to the dead-letter stream with ``reason``, and ack it, in one transaction."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.xadd(self.dead_letter_stream, {"original_id": entry.id, "reason": reason,
                                                "deliveries": str(entry.deliveries),
                                                "fields": json.dumps(entry.fields)})
            pipe.xack(self.stream, self.group, entry.id)
            pipe.xdel(self.stream, entry.id)
            await pipe.execute()

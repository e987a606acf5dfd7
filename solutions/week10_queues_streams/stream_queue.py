"""A reliable work queue on one Redis stream and one consumer group.

A stream is a log: ``XADD`` appends, entries stay until trimmed. A consumer group turns the log
into a work queue: each entry goes to one consumer of the group, and stays in the group's
*pending entries list* (PEL) until that consumer ``XACK``-s it. What this class adds on top is
what makes the queue reliable:

* :meth:`process` acks a message only after its handler returned — a consumer that dies
  mid-message leaves it pending, never lost;
* :meth:`claim_stale` hands messages that have been pending longer than ``min_idle_ms`` (their
  consumer is presumed dead) to a live consumer with ``XAUTOCLAIM`` — never younger ones, which a
  live consumer may still be working on;
* a message delivered ``max_deliveries`` times without an ack goes to a dead-letter stream with
  the reason, instead of poisoning the queue for ever; :meth:`redrive` puts it back after a fix;
* :meth:`publish` bounds the stream (``MAXLEN ~``) and :meth:`trim` drops exactly the entries
  the group has finished with (``MINID``).

Every method is a coroutine on a ``redis.asyncio.Redis`` client made with
``decode_responses=True``; nothing reads settings — the caller passes every number.
Read weeks/10-queues-streams/README.md, section 'A reliable queue on Redis Streams'.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import redis.asyncio as redis


@dataclass(frozen=True)
class Message:
    """One stream entry as a consumer sees it; ``deliveries`` counts this delivery (1 = first)."""

    id: str
    fields: dict[str, str]
    deliveries: int


@dataclass(frozen=True)
class DeadLetter:
    """A message taken out of the queue: where it was, what it held, why, after how many tries."""

    id: str  # its entry id in the dead-letter stream
    original_id: str
    fields: dict[str, str]
    reason: str
    deliveries: int


Handler = Callable[[Message], Awaitable[None]]


class StreamQueue:
    """A work queue: stream ``stream``, consumer group ``group``, dead letters in ``dead_letter_stream``."""

    def __init__(self, client: redis.Redis, stream: str, group: str, *, max_deliveries: int = 5,
                 min_idle_ms: int = 30_000, dead_letter_stream: str | None = None) -> None:
        self.client = client
        self.stream = stream
        self.group = group
        self.max_deliveries = max_deliveries
        self.min_idle_ms = min_idle_ms
        self.dead_letter_stream = dead_letter_stream or f"{stream}:dead"

    async def ensure_group(self) -> None:
        """Create the stream and the group (reading from the start) unless they exist."""
        try:
            await self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def publish(self, fields: Mapping[str, str], *, maxlen: int | None = None) -> str:
        """Append a message; with ``maxlen``, trim the oldest entries to about that many."""
        return await self.client.xadd(self.stream, dict(fields), maxlen=maxlen, approximate=True)

    async def read(self, consumer: str, *, count: int = 10, block_ms: int | None = None) -> list[Message]:
        """New messages (never delivered to anyone) for ``consumer``; they stay pending until acked."""
        reply = await self.client.xreadgroup(self.group, consumer, {self.stream: ">"}, count=count,
                                             block=block_ms)
        entries = _entries(reply, self.stream)
        return [Message(entry_id, fields, 1) for entry_id, fields in entries if entry_id is not None]

    async def ack(self, message_id: str) -> None:
        """Done with ``message_id``: remove it from the group's pending list."""
        await self.client.xack(self.stream, self.group, message_id)

    async def claim_stale(self, consumer: str, *, count: int = 100) -> list[Message]:
        """Take over messages pending longer than ``min_idle_ms``; dead-letter the over-delivered.

        ``XAUTOCLAIM`` moves them to ``consumer`` and counts one more delivery. A message whose
        count now exceeds ``max_deliveries`` has been tried that many times without an ack (its
        consumers died on it): it goes to the dead-letter stream instead of being returned.
        """
        claimed: list[tuple[str, dict[str, str]]] = []
        cursor = "0-0"
        while len(claimed) < count:
            reply = await self.client.xautoclaim(self.stream, self.group, consumer, self.min_idle_ms,
                                                 start_id=cursor, count=count - len(claimed))
            cursor, entries = reply[0], reply[1]
            claimed += [(entry_id, fields) for entry_id, fields in entries if entry_id is not None]
            if cursor == "0-0":
                break
        if not claimed:
            return []
        deliveries = await self._deliveries([entry_id for entry_id, _ in claimed])
        messages = []
        for entry_id, fields in claimed:
            count_now = deliveries.get(entry_id, self.max_deliveries + 1)
            if count_now > self.max_deliveries:  # this claim would be one delivery too many
                tried = count_now - 1
                await self.dead_letter(Message(entry_id, fields, tried), f"no ack after {tried} deliveries")
            else:
                messages.append(Message(entry_id, fields, count_now))
        return messages

    async def _deliveries(self, ids: list[str]) -> dict[str, int]:
        """Delivery counts from the pending list (``XAUTOCLAIM`` does not return them), one round trip."""
        async with self.client.pipeline(transaction=False) as pipe:
            for entry_id in ids:
                pipe.xpending_range(self.stream, self.group, min=entry_id, max=entry_id, count=1)
            replies = await pipe.execute()
        return {entry["message_id"]: entry["times_delivered"] for reply in replies for entry in reply}

    async def dead_letter(self, message: Message, reason: str) -> str:
        """Move ``message`` to the dead-letter stream with ``reason``, and ack it, in one step."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.xadd(self.dead_letter_stream, {
                "original_id": message.id, "reason": reason, "deliveries": str(message.deliveries),
                "fields": json.dumps(message.fields)})
            pipe.xack(self.stream, self.group, message.id)
            dead_id, _ = await pipe.execute()
        return dead_id

    async def dead_letters(self, *, count: int = 1000) -> list[DeadLetter]:
        """The dead-letter stream, oldest first."""
        entries = await self.client.xrange(self.dead_letter_stream, count=count)
        return [DeadLetter(entry_id, fields["original_id"], json.loads(fields["fields"]), fields["reason"],
                           int(fields["deliveries"])) for entry_id, fields in entries]

    async def redrive(self, *, count: int = 1000) -> int:
        """Put dead letters back on the queue as new messages (after the fix); return how many."""
        moved = 0
        for letter in await self.dead_letters(count=count):
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.xadd(self.stream, letter.fields)
                pipe.xdel(self.dead_letter_stream, letter.id)
                await pipe.execute()
            moved += 1
        return moved

    async def process(self, consumer: str, handler: Handler, *, count: int = 10,
                      block_ms: int | None = None) -> int:
        """One round of a worker loop: claim stale messages, read new ones, handle each, ack each.

        The ack comes after ``handler`` returned: a consumer that dies first leaves the message
        pending for :meth:`claim_stale`. A handler that raises leaves it pending too (retried
        after ``min_idle_ms``) — until its ``max_deliveries``-th failure dead-letters it with the
        exception as the reason. Returns how many messages were handled successfully.
        """
        messages = await self.claim_stale(consumer, count=count)
        if len(messages) < count:
            messages += await self.read(consumer, count=count - len(messages),
                                        block_ms=None if messages else block_ms)
        handled = 0
        for message in messages:
            try:
                await handler(message)
            except Exception as exc:
                if message.deliveries >= self.max_deliveries:
                    await self.dead_letter(message, f"{type(exc).__name__}: {exc}")
                continue
            await self.ack(message.id)
            handled += 1
        return handled

    async def trim(self) -> int:
        """Drop the entries the group has finished with (``XTRIM MINID``); return how many.

        Everything older than the oldest pending message *and* already delivered may go; a
        pending message (its consumer may be dead and it still has to be claimed) and a message
        nobody has read yet must stay.
        """
        summary = await self.client.xpending(self.stream, self.group)
        if summary["pending"]:
            keep_from = summary["min"]
        else:
            groups = await self.client.xinfo_groups(self.stream)
            last = next(g["last-delivered-id"] for g in groups if g["name"] == self.group)
            milliseconds, sequence = last.split("-")
            keep_from = f"{milliseconds}-{int(sequence) + 1}"
        return await self.client.xtrim(self.stream, minid=keep_from, approximate=False)


def _entries(reply: list[tuple[str, list[tuple[str, dict[str, str]]]]] | None,
             stream: str) -> list[tuple[str, dict[str, str]]]:
    """XREADGROUP's entries for ``stream`` (the reply lists one ``[stream, entries]`` per stream)."""
    for name, entries in reply or []:
        if name == stream:
            return list(entries)
    return []

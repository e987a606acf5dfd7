"""A reliable work queue on one Redis stream and one consumer group.

A stream is a log: ``XADD`` appends, entries stay until trimmed. A consumer group turns the log
into a work queue: each entry goes to one consumer of the group, and stays in the group's
*pending entries list* (PEL) until that consumer ``XACK``-s it. Your task is what makes the
queue reliable:

* :meth:`StreamQueue.process` acks a message only after its handler returned — a consumer that
  dies mid-message leaves it pending, never lost;
* :meth:`StreamQueue.claim_stale` hands messages pending longer than ``min_idle_ms`` (their
  consumer is presumed dead) to a live consumer with ``XAUTOCLAIM`` — never younger ones, which a
  live consumer may still be working on;
* a message delivered ``max_deliveries`` times without an ack goes to a dead-letter stream with
  the reason, instead of poisoning the queue for ever; :meth:`StreamQueue.redrive` puts it back;
* :meth:`StreamQueue.publish` bounds the stream (``MAXLEN ~``) and :meth:`StreamQueue.trim`
  drops exactly the entries the group has finished with (``MINID``).

Every method is a coroutine on a ``redis.asyncio.Redis`` client made with
``decode_responses=True``; nothing reads settings — the caller passes every number.
Read weeks/10-queues-streams/README.md, section 'A reliable queue on Redis Streams'.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import redis.asyncio as redis

LESSON = "see weeks/10-queues-streams/README.md, section"


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
        """Create the stream and the group, reading from the very start (id ``0``), unless they exist.

        Every worker calls this when it starts, so a group that already exists (Redis answers
        ``BUSYGROUP``) is fine; any other error is not.
        """
        raise NotImplementedError(f"StreamQueue.ensure_group — {LESSON} 'Consumer groups and acks'")

    async def publish(self, fields: Mapping[str, str], *, maxlen: int | None = None) -> str:
        """Append a message and return its id; with ``maxlen``, trim to *about* that many (``MAXLEN ~``).

        3,000 publishes with ``maxlen=500`` must leave between 500 and 700 entries, the newest kept.
        """
        raise NotImplementedError(f"StreamQueue.publish — {LESSON} 'Retention'")

    async def read(self, consumer: str, *, count: int = 10, block_ms: int | None = None) -> list[Message]:
        """Up to ``count`` new messages (never delivered to anyone) for ``consumer``, ``deliveries=1``.

        They stay pending until acked. ``block_ms``: wait that long for a message when there is
        none (``None``: do not wait). Returns ``[]`` when nothing is new.
        """
        raise NotImplementedError(f"StreamQueue.read — {LESSON} 'Consumer groups and acks'")

    async def ack(self, message_id: str) -> None:
        """Done with ``message_id``: remove it from the group's pending list."""
        raise NotImplementedError(f"StreamQueue.ack — {LESSON} 'Consumer groups and acks'")

    async def claim_stale(self, consumer: str, *, count: int = 100) -> list[Message]:
        """Take over up to ``count`` messages pending longer than ``min_idle_ms``; return them.

        Claiming counts one more delivery: a message read once and claimed now has
        ``deliveries == 2`` (``XAUTOCLAIM`` does not say so — ask ``XPENDING``). A message this
        claim would deliver more than ``max_deliveries`` times is not returned: it has been tried
        ``max_deliveries`` times without an ack (its consumers died on it), so :meth:`dead_letter`
        it with ``deliveries=max_deliveries`` and a reason that says so — it must mention the
        deliveries, e.g. "no ack after 2 deliveries". Messages idle for less than ``min_idle_ms``
        belong to a live consumer: never take them.
        """
        raise NotImplementedError(f"StreamQueue.claim_stale — {LESSON} 'When a consumer dies'")

    async def dead_letter(self, message: Message, reason: str) -> str:
        """Move ``message`` to the dead-letter stream with ``reason``, and ack it, in one step.

        Keep what :meth:`dead_letters` must give back: the original id, the fields, the reason
        and ``message.deliveries``. Returns the dead letter's entry id.
        """
        raise NotImplementedError(f"StreamQueue.dead_letter — {LESSON} 'Dead letters and redrive'")

    async def dead_letters(self, *, count: int = 1000) -> list[DeadLetter]:
        """The dead-letter stream, oldest first, as :class:`DeadLetter` records."""
        raise NotImplementedError(f"StreamQueue.dead_letters — {LESSON} 'Dead letters and redrive'")

    async def redrive(self, *, count: int = 1000) -> int:
        """Put up to ``count`` dead letters back on the queue as new messages with their original
        fields, removing them from the dead-letter stream; return how many moved."""
        raise NotImplementedError(f"StreamQueue.redrive — {LESSON} 'Dead letters and redrive'")

    async def process(self, consumer: str, handler: Handler, *, count: int = 10,
                      block_ms: int | None = None) -> int:
        """One round of a worker loop: claim stale messages, read new ones, handle each, ack each.

        * :meth:`claim_stale` first, then :meth:`read` for the rest of ``count``;
        * ``await handler(message)``, and ack only after it returned — while it runs the message
          is still pending;
        * a handler that raises leaves the message pending (retried after ``min_idle_ms``), unless
          this was its ``max_deliveries``-th delivery: then dead-letter it with the reason
          ``"<ExceptionType>: <message>"`` (e.g. ``"ValueError: amount is not a number"``).

        Returns how many messages were handled successfully.
        """
        raise NotImplementedError(f"StreamQueue.process — {LESSON} 'Consumer groups and acks'")

    async def trim(self) -> int:
        """Drop the entries the group has finished with (``XTRIM MINID``); return how many.

        Everything older than the oldest pending message and already delivered may go. A pending
        message (its consumer may be dead; it still has to be claimed) and a message nobody has
        read yet must stay: 100 published, 60 read, 50 acked → the 50 acked go, 50 stay.
        """
        raise NotImplementedError(f"StreamQueue.trim — {LESSON} 'Retention'")

"""Lab: a reliable queue on Redis Streams — groups, acks, claims, dead letters, redrive, retention.

Every test runs one async scenario against a real Redis (a flushed logical database per test).
"A consumer dies" here means it stops without acking; the drills (test_drills.py) kill real
processes.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

import redis.asyncio as aioredis

from labs.week10_queues_streams.stream_queue import Message, StreamQueue

LESSON = "weeks/10-queues-streams/README.md"
RedisFactory = Callable[[], aioredis.Redis]


async def pending_ids(client: aioredis.Redis, queue: StreamQueue) -> dict[str, str]:
    """The group's pending entries list: message id → the consumer that holds it."""
    entries = await client.xpending_range(queue.stream, queue.group, min="-", max="+", count=10_000)
    return {entry["message_id"]: entry["consumer"] for entry in entries}


def test_each_message_goes_to_one_consumer_and_stays_pending_until_acked(redis_async: RedisFactory) -> None:
    async def scenario() -> None:
        async with redis_async() as client:
            queue = StreamQueue(client, "orders", "billing")
            await queue.ensure_group()
            await queue.ensure_group()  # a second worker starting must not fail on BUSYGROUP
            published = [await queue.publish({"order": str(n)}) for n in range(10)]
            first = await queue.read("a", count=6)
            second = await queue.read("b", count=6)
            got = [m.id for m in first + second]
            assert sorted(got) == sorted(published) and len(set(got)) == 10, (
                f"expected the 10 messages split between consumers a and b, each once; a got "
                f"{len(first)}, b got {len(second)}, {len(set(got))} distinct. Read new messages with "
                f"XREADGROUP … '>'. See {LESSON}, section 'Consumer groups and acks'.")
            assert first[0].fields == {"order": "0"} and first[0].deliveries == 1, (
                f"expected the first message to carry its fields and deliveries=1; got {first[0]}")
            assert await queue.read("a", count=10) == [], (
                "expected no new messages once all 10 were delivered: '>' means never delivered to anyone")

            before = await pending_ids(client, queue)
            for message in first:
                await queue.ack(message.id)
            after = await pending_ids(client, queue)
            assert len(before) == 10 and sorted(after) == sorted(m.id for m in second), (
                f"expected all 10 pending until acked, then only b's {len(second)}; pending before: "
                f"{len(before)}, after acking a's: {len(after)}. ack() is XACK stream group id.")

    asyncio.run(scenario())


def test_process_acks_only_after_the_handler_returns(redis_async: RedisFactory) -> None:
    async def scenario() -> None:
        async with redis_async() as client:
            queue = StreamQueue(client, "orders", "billing", min_idle_ms=60_000)
            await queue.ensure_group()
            good = await queue.publish({"order": "good"})
            bad = await queue.publish({"order": "bad"})
            pending_while_handling: dict[str, bool] = {}

            async def handler(message: Message) -> None:
                pending_while_handling[message.id] = message.id in await pending_ids(client, queue)
                if message.fields["order"] == "bad":
                    raise ValueError("cannot bill this order")

            handled = await queue.process("a", handler)

            assert pending_while_handling == {good: True, bad: True}, (
                f"expected each message to be still pending (un-acked) while its handler ran; got "
                f"{pending_while_handling}. Ack after the handler returns: a consumer that dies "
                f"mid-handler must leave the message for someone else. See {LESSON}, section "
                "'Consumer groups and acks'.")
            pending = await pending_ids(client, queue)
            assert handled == 1 and list(pending) == [bad], (
                f"expected the handled message acked and the failed one left pending for a retry; "
                f"process() returned {handled}, pending now: {list(pending)} (good={good}, bad={bad})")

    asyncio.run(scenario())


def test_a_dead_consumers_messages_are_claimed_after_min_idle(redis_async: RedisFactory) -> None:
    async def scenario() -> None:
        async with redis_async() as client:
            queue = StreamQueue(client, "orders", "billing", min_idle_ms=300)
            await queue.ensure_group()
            for n in range(3):
                await queue.publish({"order": str(n)})
            taken = await queue.read("dies", count=3)  # ... and "dies" never acks them
            await asyncio.sleep(0.45)
            claimed = await queue.claim_stale("survivor")

            assert sorted(m.id for m in claimed) == sorted(m.id for m in taken), (
                f"expected the survivor to claim the 3 messages the dead consumer left pending for "
                f"longer than min_idle_ms; got {len(claimed)}. XAUTOCLAIM stream group consumer "
                f"min_idle 0-0. See {LESSON}, section 'When a consumer dies'.")
            assert all(m.deliveries == 2 and m.fields["order"] in {"0", "1", "2"} for m in claimed), (
                f"expected each claimed message with its fields and deliveries=2 (XAUTOCLAIM counts a "
                f"delivery; XPENDING reports it); got {claimed}")
            holders = set((await pending_ids(client, queue)).values())
            assert holders == {"survivor"}, f"expected the survivor to hold them now; held by {holders}"

    asyncio.run(scenario())


def test_a_live_consumers_messages_are_not_stolen(redis_async: RedisFactory) -> None:
    async def scenario() -> None:
        async with redis_async() as client:
            queue = StreamQueue(client, "orders", "billing", min_idle_ms=10_000)
            await queue.ensure_group()
            for n in range(5):
                await queue.publish({"order": str(n)})
            await queue.read("busy", count=5)  # working on them right now
            claimed = await queue.claim_stale("eager")
            seen: list[str] = []

            async def handler(message: Message) -> None:
                seen.append(message.id)

            await queue.process("eager", handler)
            holders = Counter((await pending_ids(client, queue)).values())

            assert claimed == [] and seen == [] and holders == {"busy": 5}, (
                f"expected messages delivered a moment ago to stay with their (live) consumer until "
                f"they have been idle min_idle_ms=10 s; another consumer claimed {len(claimed)} and "
                f"handled {len(seen)}, pending now held by {dict(holders)}. Claiming without a "
                f"min-idle time steals work in progress: it runs twice. See {LESSON}, section "
                "'When a consumer dies'.")

    asyncio.run(scenario())


def test_a_poison_message_is_dead_lettered_after_max_deliveries_with_the_reason(
        redis_async: RedisFactory) -> None:
    async def scenario() -> None:
        async with redis_async() as client:
            queue = StreamQueue(client, "orders", "billing", max_deliveries=3, min_idle_ms=50)
            await queue.ensure_group()
            await queue.publish({"order": "1"})
            poison = await queue.publish({"order": "poison"})
            await queue.publish({"order": "2"})
            attempts: Counter[str] = Counter()

            async def handler(message: Message) -> None:
                attempts[message.fields["order"]] += 1
                if message.fields["order"] == "poison":
                    raise ValueError("amount is not a number")

            for _ in range(40):  # ~3 s at most; a correct queue is done after 3 rounds
                await queue.process("worker", handler)
                if await queue.dead_letters() or attempts["poison"] > 6:
                    break
                await asyncio.sleep(0.07)
            letters = await queue.dead_letters()

            assert attempts["poison"] == 3, (
                f"expected the poison message to be tried max_deliveries=3 times, then set aside; "
                f"it was tried {attempts['poison']} times. Without a dead-letter stream one bad "
                f"message is retried for ever. See {LESSON}, section 'Dead letters and redrive'.")
            assert len(letters) == 1 and letters[0].original_id == poison, (
                f"expected one dead letter for {poison}; got {letters}")
            letter = letters[0]
            assert letter.fields == {"order": "poison"} and letter.deliveries == 3, (
                f"expected the dead letter to keep the original fields and deliveries=3; got {letter}")
            assert "ValueError" in letter.reason and "amount is not a number" in letter.reason, (
                f"expected the reason to name the handler's exception (type and message); got "
                f"{letter.reason!r}")
            assert attempts["1"] == attempts["2"] == 1 and await pending_ids(client, queue) == {}, (
                f"expected the good messages handled once and nothing left pending; attempts "
                f"{dict(attempts)}, pending {await pending_ids(client, queue)}. dead_letter() acks.")

    asyncio.run(scenario())


def test_a_message_whose_consumers_keep_dying_is_dead_lettered(redis_async: RedisFactory) -> None:
    async def scenario() -> None:
        async with redis_async() as client:
            queue = StreamQueue(client, "orders", "billing", max_deliveries=2, min_idle_ms=50)
            await queue.ensure_group()
            crasher = await queue.publish({"order": "crashes its consumer"})
            await queue.read("first", count=1)  # delivery 1: the consumer dies on it
            await asyncio.sleep(0.1)
            second = await queue.claim_stale("second")  # delivery 2: dies again
            await asyncio.sleep(0.1)
            third = await queue.claim_stale("third")
            letters = await queue.dead_letters()

            assert [m.id for m in second] == [crasher] and third == [], (
                f"expected the message claimed once more (delivery 2 of max_deliveries=2), then not "
                f"handed out again; the second claim got {second}, the third {third}. See {LESSON}, "
                "section 'Dead letters and redrive'.")
            assert [(d.original_id, d.deliveries) for d in letters] == [(crasher, 2)], (
                f"expected it dead-lettered after its 2 deliveries; dead letters: {letters}")
            assert "deliver" in letters[0].reason.lower(), (
                f"expected the reason to say it was delivered too often without an ack; got "
                f"{letters[0].reason!r}")
            assert await pending_ids(client, queue) == {}, "expected nothing pending after dead-lettering"

    asyncio.run(scenario())


def test_redrive_puts_dead_letters_back_on_the_queue(redis_async: RedisFactory) -> None:
    async def scenario() -> None:
        async with redis_async() as client:
            queue = StreamQueue(client, "orders", "billing", max_deliveries=1, min_idle_ms=50)
            await queue.ensure_group()
            for n in range(3):
                await queue.publish({"order": str(n), "note": "needs a fix"})

            async def broken(message: Message) -> None:
                raise RuntimeError("bug in release 1.4")

            await queue.process("worker", broken)
            dead = await queue.dead_letters()
            assert len(dead) == 3, f"setting up: expected 3 dead letters with max_deliveries=1; got {dead}"

            moved = await queue.redrive()
            handled: list[dict[str, str]] = []

            async def fixed(message: Message) -> None:
                handled.append(message.fields)

            await queue.process("worker", fixed)

            assert moved == 3 and await queue.dead_letters() == [], (
                f"expected redrive() to move all 3 dead letters back and empty the dead-letter stream; "
                f"it returned {moved}, {len(await queue.dead_letters())} remain. See {LESSON}, section "
                "'Dead letters and redrive'.")
            assert sorted(h["order"] for h in handled) == ["0", "1", "2"] and all(
                h == {"order": h["order"], "note": "needs a fix"} for h in handled), (
                f"expected the redriven messages handled with their original fields; got {handled}")

    asyncio.run(scenario())


def test_publish_with_maxlen_keeps_the_stream_bounded(redis_async: RedisFactory) -> None:
    async def scenario() -> None:
        async with redis_async() as client:
            queue = StreamQueue(client, "clicks", "analytics")
            await queue.ensure_group()
            last = ""
            for n in range(3000):
                last = await queue.publish({"n": str(n)}, maxlen=500)
            length = await client.xlen("clicks")
            newest = await client.xrevrange("clicks", count=1)

            assert 500 <= length <= 700, (
                f"expected about 500 entries after 3,000 publishes with maxlen=500 (MAXLEN ~ trims "
                f"whole nodes, so a little over is fine); the stream holds {length}. See {LESSON}, "
                "section 'Retention'.")
            assert newest[0][0] == last, "expected trimming to drop the oldest entries, not the newest"

    asyncio.run(scenario())


def test_trim_keeps_what_the_group_still_needs(redis_async: RedisFactory) -> None:
    async def scenario() -> None:
        async with redis_async() as client:
            queue = StreamQueue(client, "orders", "billing", min_idle_ms=50)
            await queue.ensure_group()
            ids = [await queue.publish({"order": str(n)}) for n in range(100)]
            delivered = await queue.read("dies", count=60)
            for message in delivered[:50]:
                await queue.ack(message.id)  # 50 done; 10 pending with a dead consumer; 40 unread

            trimmed = await queue.trim()
            remaining = [entry_id for entry_id, _ in await client.xrange("orders")]
            await asyncio.sleep(0.1)
            claimed = await queue.claim_stale("survivor")

            assert remaining == ids[50:], (
                f"expected trim() to drop exactly the 50 acked entries and keep the 10 pending and 40 "
                f"unread ones; it returned {trimmed} and {len(remaining)} entries remain (first kept: "
                f"{remaining[:1]}, expected {ids[50]}). Trim with MINID at the oldest pending entry. "
                f"See {LESSON}, section 'Retention'.")
            assert {m.id for m in claimed} == set(ids[50:60]) and all(m.fields for m in claimed), (
                f"expected the 10 pending messages still claimable with their fields after the trim; "
                f"got {len(claimed)}")

    asyncio.run(scenario())

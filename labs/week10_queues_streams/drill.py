"""Given: the drill processes — a producer, a relay and a consumer built from your three modules.

The drill tests run these as real processes and ``kill -9`` them at the worst moments. Each
process can be told to SIGKILL *itself* at a named point, so the kill lands exactly there on
every run — no sleeping and hoping — while your code alone decides what survives it:

    python -m labs.week10_queues_streams.drill produce --count 300 --keys 10 …
    python -m labs.week10_queues_streams.drill relay --die-after-publishes 25 …
    python -m labs.week10_queues_streams.drill consume --name c1 --die-at after-effect --die-on 20 …

Kill points:

* ``relay --die-after-publishes N``: right after the N-th ``publish`` returned — the event is
  on the stream, its outbox row not yet marked. With ``--backlog B`` the relay starts only once
  the outbox holds B rows, so its first batches are full and the kill lands mid-batch;
* ``consume --die-at during-effect --die-on N``: inside the N-th effect, after its write and
  before ``apply_once`` commits — the effect is rolled back by the death;
* ``consume --die-at after-effect --die-on N``: after the N-th ``apply_once`` committed and before
  the handler returns — the effect is durable, the ack never happens.

The consumer's effect appends a row to ``effects`` (no unique constraint there: a duplicate
effect shows up as two rows). Every process prints ``ready`` once connected and stops cleanly
on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal

import psycopg
import redis.asyncio as redis

from . import consumer, outbox
from .stream_queue import Message, StreamQueue

EFFECTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS effects (
    event_id   text NOT NULL,
    key        text NOT NULL,
    seq        integer NOT NULL,
    consumer   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
"""


def die() -> None:
    """``kill -9`` this process: no finally blocks, no atexit, no flushing — a real crash."""
    os.kill(os.getpid(), signal.SIGKILL)


async def connect(database_url: str, name: str) -> psycopg.AsyncConnection:
    """An autocommit connection named for ``pg_stat_activity``.

    The drills kill clients, not PostgreSQL, so a commit need not wait for its WAL flush:
    ``synchronous_commit=off`` keeps hundreds of small transactions fast on a busy disk.
    """
    return await psycopg.AsyncConnection.connect(database_url, autocommit=True, application_name=name,
                                                 options="-c synchronous_commit=off")


def stop_on_sigterm() -> asyncio.Event:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    return stop


async def produce(args: argparse.Namespace) -> None:
    """Business writes, each with its event, one transaction apiece: ``seq`` counts per key."""
    conn = await connect(args.database_url, f"drill-produce-{args.name}")
    stop = stop_on_sigterm()
    print("ready", flush=True)
    for n in range(args.count):
        if stop.is_set():
            break
        key = f"k{n % args.keys}"
        async with conn.transaction():
            await outbox.add_event(conn, key=key, type="order.updated",
                                   payload={"seq": n // args.keys, "n": n})
        if args.pause_ms:
            await asyncio.sleep(args.pause_ms / 1000)
    print("produced", args.count, flush=True)
    await conn.close()


async def outbox_rows(conn: psycopg.AsyncConnection) -> int:
    cursor = await conn.execute("SELECT count(*) FROM outbox")
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def relay(args: argparse.Namespace) -> None:
    conn = await connect(args.database_url, f"drill-relay-{args.name}")
    client = redis.Redis.from_url(args.redis_url, decode_responses=True)
    queue = StreamQueue(client, args.stream, args.group)
    published = 0

    async def publish(event: outbox.OutboxEvent) -> None:
        nonlocal published
        await queue.publish(event.fields())
        published += 1
        if published == args.die_after_publishes:
            die()

    stop = stop_on_sigterm()
    print("ready", flush=True)
    while not stop.is_set() and await outbox_rows(conn) < args.backlog:
        await asyncio.sleep(0.01)
    await outbox.run_relay(conn, publish, batch_size=args.batch_size, stop=stop)
    await conn.close()
    await client.aclose()


async def consume(args: argparse.Namespace) -> None:
    conn = await connect(args.database_url, f"drill-consume-{args.name}")
    client = redis.Redis.from_url(args.redis_url, decode_responses=True)
    queue = StreamQueue(client, args.stream, args.group, max_deliveries=args.max_deliveries,
                        min_idle_ms=args.min_idle_ms)
    await queue.ensure_group()
    applied = 0

    async def effect(tx: psycopg.AsyncConnection, message: Message) -> None:
        payload = json.loads(message.fields["payload"])
        await tx.execute("INSERT INTO effects (event_id, key, seq, consumer) VALUES (%s, %s, %s, %s)",
                         (message.fields["event_id"], message.fields["key"], payload["seq"], args.name))
        if args.die_at == "during-effect" and applied + 1 == args.die_on:
            die()

    async def handle(message: Message) -> None:
        nonlocal applied
        await consumer.apply_once(conn, args.group, message.fields["event_id"],
                                  lambda tx: effect(tx, message))
        applied += 1
        if args.die_at == "after-effect" and applied == args.die_on:
            die()

    stop = stop_on_sigterm()
    print("ready", flush=True)
    while not stop.is_set():
        await queue.process(args.name, handle, count=args.count, block_ms=50)
    await conn.close()
    await client.aclose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m labs.week10_queues_streams.drill")
    parser.add_argument("role", choices=["produce", "relay", "consume"])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--stream", default="events")
    parser.add_argument("--group", default="drill")
    parser.add_argument("--name", default="1")
    parser.add_argument("--count", type=int, default=10, help="produce: events; consume: per read")
    parser.add_argument("--keys", type=int, default=10)
    parser.add_argument("--pause-ms", type=float, default=0.0)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--backlog", type=int, default=0, help="relay: wait for this many outbox rows")
    parser.add_argument("--die-after-publishes", type=int, default=0)
    parser.add_argument("--die-at", choices=["during-effect", "after-effect"])
    parser.add_argument("--die-on", type=int, default=0)
    parser.add_argument("--min-idle-ms", type=int, default=300)
    parser.add_argument("--max-deliveries", type=int, default=5)
    args = parser.parse_args(argv)
    asyncio.run({"produce": produce, "relay": relay, "consume": consume}[args.role](args))


if __name__ == "__main__":
    main()

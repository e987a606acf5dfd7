"""The worker: reads delivery ids off the stream, claims each in PostgreSQL, attempts it, records it.

Per loop turn it reads up to as many entries as it has free slots (``XREADGROUP … COUNT``,
blocking rather than sleeping), takes over entries another worker left pending longer than
``claim_timeout_s`` (``XAUTOCLAIM``), and claims the whole batch in **one** ``UPDATE … RETURNING``
— the truth about who may attempt a delivery is that lease in PostgreSQL, not the stream. Each
claimed delivery then runs as its own task, up to ``worker_concurrency`` at once:

1. the endpoint was disabled meanwhile → ``skipped`` (kept for a recovery);
2. its rate limit (token bucket), concurrency cap (Redis leases) and circuit breaker (in this
   process) may each say "not now" → the delivery is put back, not counted as an attempt, due
   again when the limiter says so; the scheduler re-announces it;
3. sign with every secret in use, send through the SSRF guard (:mod:`anchor.services.delivery`);
4. hand the outcome to the recorder.

The recorder writes finished attempts in batches — one transaction for the attempt rows, the
deliveries' new states (succeeded; retry at ``now + delay``; failed when the schedule is exhausted),
the endpoints' failure bookkeeping and the operational events — and only then ``XACK``-s their
entries. A worker killed at any point leaves un-acked entries and lapsing leases: another worker
attempts them again (at least once; the receiver dedupes on ``webhook-id``), nothing is lost.

Run as ``python -m anchor.workers.worker``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ..core import metrics
from ..core.ids import new_id
from ..core.redis import DEAD_LETTERS, GROUP, STREAM
from ..services import disabling, events, retry_policy
from ..services.breaker import CircuitBreaker, CircuitOpenError
from ..services.delivery import Outcome, Sender
from ..services.signing import sign_headers
from ..services.streams import Entry, StreamQueue
from ..services.token_bucket import TokenBucket
from . import Clients, pause, run

log = structlog.get_logger()

READ_BLOCK_MS = 500          # how long an idle worker waits on XREADGROUP before looking around
CLAIM_STALE_EVERY_S = 1.0    # how often the worker looks for entries a dead worker left pending
SECRETS_CACHE_S = 1.0        # an endpoint's secrets are re-read at most this often
RECORD_BATCH = 500           # finished attempts written per transaction, at most
ERROR_BACKOFF_S = 1.0
# Waits before looking again for a delivery row not yet seen: the relay publishes before it
# commits, and on a busy machine its commit can lag by seconds; only then is the entry acked
# (the scheduler re-enqueues any row it missed after claim_timeout_s).
UNKNOWN_RECHECK_S = (0.01, 0.05, 0.2, 1.0, 2.0, 5.0)
BREAKER_FAILURES = 10        # consecutive failed attempts that open an endpoint's circuit
BREAKER_RESET_S = 30.0       # scaled by retry_time_scale, at least BREAKER_MIN_RESET_S
BREAKER_MIN_RESET_S = 0.5
INFLIGHT_RETRY_S = 0.1       # back-off when an endpoint is at its concurrency cap
BREAKERS_KEPT = 10_000       # endpoints whose breaker this process remembers

_CLAIM = text("""
    UPDATE deliveries d
    SET lease_until = now() + make_interval(secs => :claim_timeout_s), attempts = d.attempts + 1,
        updated_at = now()
    FROM messages m, endpoints e, applications a
    WHERE d.id = ANY(:ids) AND d.status = 'pending' AND d.next_attempt_at <= now()
      AND (d.lease_until IS NULL OR d.lease_until < now())
      AND m.id = d.message_id AND e.id = d.endpoint_id AND a.id = d.app_id
      AND (NOT e.ordered OR NOT EXISTS (
            SELECT 1 FROM deliveries p
            WHERE p.endpoint_id = d.endpoint_id AND p.status = 'pending' AND p.id < d.id))
    RETURNING d.id, d.tenant_id, d.app_id, d.message_id, d.endpoint_id, d.attempts, d.manual,
              m.payload::text AS body, m.created_at AS ingested_at,
              e.url, e.disabled, e.rate_limit, e.max_concurrency, e.ordered, a.operational""")
_SECRETS = text("""
    SELECT endpoint_id, secret FROM endpoint_secrets
    WHERE endpoint_id = ANY(:ids) AND (expires_at IS NULL OR expires_at > now())
    ORDER BY endpoint_id, expires_at IS NULL DESC, id DESC""")
_INSERT_ATTEMPTS = text("""
    INSERT INTO attempts (id, tenant_id, app_id, message_id, endpoint_id, delivery_id, url, status,
                          response_status_code, response_body, duration_ms, error_class, error_detail,
                          trigger)
    VALUES (:id, :tenant_id, :app_id, :message_id, :endpoint_id, :delivery_id, :url, :status,
            :response_status_code, :response_body, :duration_ms, :error_class, :error_detail, :trigger)""")
_FINISH = text("""
    UPDATE deliveries SET status = :status, lease_until = NULL, updated_at = now(),
        next_attempt_at = now() + make_interval(secs => :delay_s)
    WHERE id = :id""")
_PUT_BACK = text("""
    UPDATE deliveries SET attempts = attempts - 1, lease_until = NULL, updated_at = now(),
        next_attempt_at = now() + make_interval(secs => :delay_s)
    WHERE id = :id""")
_EXISTING = text("SELECT id FROM deliveries WHERE id = ANY(:ids)")
_SKIP = text("UPDATE deliveries SET status = 'skipped', lease_until = NULL, updated_at = now() "
             "WHERE id = ANY(:ids)")
# An ordered endpoint's next delivery was turned away while this one was pending: announce it now.
_NEXT_IN_LINE = text("""
    UPDATE deliveries SET enqueued_at = NULL
    WHERE id IN (SELECT DISTINCT ON (endpoint_id) id FROM deliveries
                 WHERE endpoint_id = ANY(:endpoint_ids) AND status = 'pending'
                 ORDER BY endpoint_id, id)""")
_DEAD = text("""
    WITH failed AS (
        UPDATE deliveries d SET status = 'failed', lease_until = NULL, updated_at = now()
        FROM endpoints e WHERE d.id = :id AND d.status = 'pending' AND e.id = d.endpoint_id
        RETURNING d.id, d.tenant_id, d.app_id, d.message_id, d.endpoint_id, e.url)
    INSERT INTO attempts (id, tenant_id, app_id, message_id, endpoint_id, delivery_id, url, status,
                          response_body, duration_ms, error_detail, trigger)
    SELECT :attempt_id, tenant_id, app_id, message_id, endpoint_id, id, url, 'failed', '', 0, :reason,
           'scheduled' FROM failed""")

# A concurrency lease: members scored by expiry; expired ones (a crashed worker's) are swept first.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
    redis.call('PEXPIRE', KEYS[1], math.max(1, tonumber(ARGV[2]) - tonumber(ARGV[1])))
    return 1
end
return 0
"""


@dataclass
class Claimed:
    """A delivery this worker holds the lease on, with what it needs to attempt it."""

    entry: Entry
    row: Any  # the claim's RETURNING row


@dataclass
class Finished:
    """What the recorder writes for one delivery: an attempt (with ``outcome``) or a put-back."""

    claimed: Claimed
    outcome: Outcome | None = None
    put_back_s: float | None = None  # set: not an attempt; due again after this many seconds
    trigger: str = "scheduled"


@dataclass
class _Batch:
    attempts: list[dict[str, Any]] = field(default_factory=list)
    finishes: list[dict[str, Any]] = field(default_factory=list)
    put_backs: list[dict[str, Any]] = field(default_factory=list)
    endpoint_results: dict[str, disabling.EndpointResult] = field(default_factory=dict)
    operational: dict[str, bool] = field(default_factory=dict)
    exhausted: list[tuple[Claimed, str, int | None]] = field(default_factory=list)
    ordered_done: set[str] = field(default_factory=set)


class Worker:
    """One worker process: its stream consumer, HTTP sender, limiters, breakers and recorder."""

    def __init__(self, clients: Clients, *, consumer: str) -> None:
        settings = clients.settings
        self.clients = clients
        self.settings = settings
        self.consumer = consumer
        self.queue = StreamQueue(clients.redis, STREAM, GROUP, dead_letter_stream=DEAD_LETTERS,
                                 max_deliveries=settings.max_stream_deliveries,
                                 min_idle_ms=round(settings.claim_timeout_s * 1000))
        self.sender = Sender(timeout_s=settings.http_timeout_s,
                             body_max_bytes=settings.response_body_max_bytes,
                             allowed=settings.allowed_networks, max_connections=settings.worker_concurrency)
        self.rates = TokenBucket(clients.redis, namespace="anchor:ep-rate")
        self._acquire = clients.redis.register_script(_ACQUIRE)
        self.breakers: dict[str, CircuitBreaker] = {}
        self._secrets: dict[str, tuple[float, list[str]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._held: dict[str, Claimed] = {}  # claimed here, not yet handed to the recorder
        self._finished: list[Finished] = []
        self._stopping = asyncio.Event()
        self._wake_recorder = asyncio.Event()
        self._reset_s = max(BREAKER_MIN_RESET_S, BREAKER_RESET_S * settings.retry_time_scale)

    # ------------------------------------------------------------------ the loop

    async def run(self, stopping: asyncio.Event) -> None:
        self._stopping = stopping
        await self.queue.ensure_group()
        recorder = asyncio.create_task(self._record_loop(stopping))
        log.info("worker ready", consumer=self.consumer)
        last_stale_check = 0.0
        while not stopping.is_set():
            if recorder.done():  # it ends only on a stop; sending on without it records nothing
                raise RuntimeError("the recorder stopped") from recorder.exception()
            free = self.settings.worker_concurrency - len(self._tasks)
            if free <= 0:
                await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
                continue
            try:
                entries: list[Entry] = []
                if time.monotonic() - last_stale_check >= CLAIM_STALE_EVERY_S:
                    last_stale_check = time.monotonic()
                    entries, dead = await self.queue.claim_stale(self.consumer, count=free)
                    await self._record_dead(dead)
                if len(entries) < free:
                    entries += await self.queue.read(self.consumer, count=free - len(entries),
                                                     block_ms=None if entries else READ_BLOCK_MS)
                if entries:
                    await self._start(entries)
            except Exception as exc:  # a dependency is away: log, wait, carry on
                log.warning("worker read failed", error=f"{type(exc).__name__}: {exc}")
                await pause(stopping, ERROR_BACKOFF_S)
        await self._drain()
        self._wake_recorder.set()
        await recorder
        await self.sender.aclose()

    async def _drain(self) -> None:
        """Stop reading; let what is in flight finish and hand back what cannot.

        Each attempt is bounded by ``http_timeout_s``; whatever still runs a second after that is
        cancelled, and every delivery claimed here but not finished is put back — its lease
        released, not counted as an attempt — so the next worker takes it at once instead of
        waiting ``claim_timeout_s`` for the lease to lapse.
        """
        deadline = time.monotonic() + self.settings.http_timeout_s + 1
        while self._tasks and (left := deadline - time.monotonic()) > 0:
            await asyncio.wait(set(self._tasks), timeout=left)
        stuck = set(self._tasks)
        for task in stuck:
            task.cancel()
        await asyncio.gather(*stuck, return_exceptions=True)
        for claimed in list(self._held.values()):
            self._finish(Finished(claimed, put_back_s=0.0))

    async def _start(self, entries: Sequence[Entry], *, recheck: int = 0) -> None:
        """Claim the batch in one statement; ack what is not ours to attempt; start the rest."""
        by_delivery = {entry.fields.get("delivery_id", ""): entry for entry in entries}
        async with self.clients.sessions() as session, session.begin():
            # Which rows exist, asked *before* the claim: each statement sees the rows committed
            # when it starts, so a row the relay commits in between is claimed, never taken for
            # "exists but not claimable" (asked after, it would be, and its entry acked unattempted).
            known = set((await session.execute(_EXISTING, {"ids": list(by_delivery)})).scalars())
            rows = (await session.execute(_CLAIM, {"ids": list(by_delivery),
                                                   "claim_timeout_s": self.settings.claim_timeout_s})).all()
            disabled = [row.id for row in rows if row.disabled]
            if disabled:
                await session.execute(_SKIP, {"ids": disabled})
            todo = [Claimed(by_delivery[row.id], row) for row in rows if not row.disabled]
            self._held.update((claimed.row.id, claimed) for claimed in todo)
        claimed_ids = {row.id for row in rows}
        unclaimed = [delivery_id for delivery_id in by_delivery if delivery_id not in claimed_ids]
        # No row yet: the relay XADDs before it commits, so a fast worker sees the entry first.
        # Look again a few times (the commit is milliseconds away) before taking it for a row that
        # never committed — whose outbox row the relay then redoes under a new entry.
        unknown = [by_delivery[d] for d in unclaimed if d not in known]
        if unknown and recheck < len(UNKNOWN_RECHECK_S):
            self._spawn(self._recheck(unknown, recheck))
            unknown = []
        elif unknown:
            log.warning("stream entries without a delivery row, acked", count=len(unknown),
                        delivery_ids=[entry.fields.get("delivery_id") for entry in unknown[:5]])
        # Already done, leased by another worker, not yet due, or waiting behind an earlier
        # delivery of an ordered endpoint: not ours; the scheduler announces it again when due.
        await self.queue.ack_many([*(by_delivery[d].id for d in unclaimed if d in known),
                                   *(entry.id for entry in unknown),
                                   *(by_delivery[d].id for d in disabled)])
        await self._load_secrets({c.row.endpoint_id for c in todo})
        for claimed in todo:
            self._spawn(self._attempt(claimed))

    async def _recheck(self, entries: list[Entry], recheck: int) -> None:
        await pause(self._stopping, UNKNOWN_RECHECK_S[recheck])
        if self._stopping.is_set():
            return  # left pending: another worker's XAUTOCLAIM takes them over
        try:
            await self._start(entries, recheck=recheck + 1)
        except Exception as exc:  # left pending: XAUTOCLAIM hands them out again
            log.warning("claim recheck failed", error=f"{type(exc).__name__}: {exc}")

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _load_secrets(self, endpoint_ids: set[str]) -> None:
        now = time.monotonic()
        stale = [ep for ep in endpoint_ids if self._secrets.get(ep, (0.0, []))[0] <= now]
        if not stale:
            return
        async with self.clients.sessions() as session:
            rows = (await session.execute(_SECRETS, {"ids": stale})).all()
        found: dict[str, list[str]] = {ep: [] for ep in stale}
        for endpoint_id, secret in rows:
            found[endpoint_id].append(secret)
        for endpoint_id, secrets in found.items():
            self._secrets[endpoint_id] = (now + SECRETS_CACHE_S, secrets)

    # ------------------------------------------------------------------ one delivery

    async def _attempt(self, claimed: Claimed) -> None:
        row = claimed.row
        structlog.contextvars.bind_contextvars(tenant_id=row.tenant_id, app_id=row.app_id,
                                               endpoint_id=row.endpoint_id, msg_id=row.message_id)
        lease = f"{self.consumer}:{row.id}"
        inflight_key = f"anchor:ep-inflight:{row.endpoint_id}"
        holds_lease = False
        try:
            if row.rate_limit:
                decision = await self.rates.hit(row.endpoint_id, capacity=max(1, row.rate_limit),
                                                refill_per_second=row.rate_limit)
                if not decision.allowed:
                    return self._finish(Finished(claimed, put_back_s=decision.retry_after_s))
            if row.max_concurrency:
                now_ms = round(time.time() * 1000)
                expiry_ms = now_ms + round(self.settings.claim_timeout_s * 1000)
                holds_lease = bool(await self._acquire(keys=[inflight_key],
                                                       args=[now_ms, expiry_ms, row.max_concurrency, lease]))
                if not holds_lease:
                    return self._finish(Finished(claimed, put_back_s=INFLIGHT_RETRY_S))
            breaker = self._breaker(row.endpoint_id)
            try:
                outcome = await breaker.call_async(self._send, row)
            except _Failed as failed:
                outcome = failed.outcome
            except CircuitOpenError as exc:
                return self._finish(Finished(claimed, put_back_s=max(exc.retry_after_s, INFLIGHT_RETRY_S)))
            if row.attempts == 1 and not row.manual:
                metrics.INGEST_TO_ATTEMPT.observe(max(0.0, time.time() - row.ingested_at.timestamp()))
            metrics.ATTEMPTS.labels(outcome=outcome.outcome).inc()
            self._finish(Finished(claimed, outcome=outcome, trigger="manual" if row.manual else "scheduled"))
        except Exception as exc:  # leave the entry pending: it is retried, then dead-lettered
            self._held.pop(row.id, None)
            log.error("delivery crashed", delivery_id=row.id, error=f"{type(exc).__name__}: {exc}")
        finally:
            if holds_lease:
                with contextlib.suppress(Exception):
                    await self.clients.redis.zrem(inflight_key, lease)
            structlog.contextvars.unbind_contextvars("tenant_id", "app_id", "endpoint_id", "msg_id")

    async def _send(self, row: Any) -> Outcome:
        """Sign and send; a failed attempt raises so the breaker counts it (and carries the outcome)."""
        body = row.body.encode()
        secrets = self._secrets.get(row.endpoint_id, (0.0, []))[1]
        if not secrets:
            raise RuntimeError(f"endpoint {row.endpoint_id} has no signing secret")
        outcome = await self.sender.send(row.url, sign_headers(secrets, row.message_id, body), body)
        if not outcome.succeeded:
            raise _Failed(outcome)
        return outcome

    def _breaker(self, endpoint_id: str) -> CircuitBreaker:
        breaker = self.breakers.get(endpoint_id)
        if breaker is None:
            if len(self.breakers) >= BREAKERS_KEPT:
                self.breakers.pop(next(iter(self.breakers)))
            breaker = self.breakers[endpoint_id] = CircuitBreaker(failure_threshold=BREAKER_FAILURES,
                                                                  reset_timeout_s=self._reset_s)
        return breaker

    def _finish(self, finished: Finished) -> None:
        if self._held.pop(finished.claimed.row.id, None) is None:
            return  # already handed over (put back while draining)
        self._finished.append(finished)
        self._wake_recorder.set()

    # ------------------------------------------------------------------ the recorder

    async def _record_loop(self, stopping: asyncio.Event) -> None:
        """Write finished attempts in batches, then ack their entries; retry a batch PostgreSQL refused.

        Nothing may end this loop but the stop: a worker whose recorder died would go on sending
        and never record — every delivery redone by another worker once its lease lapsed.
        """
        while True:
            await self._wake_recorder.wait()
            self._wake_recorder.clear()
            while self._finished:
                batch, self._finished = self._finished[:RECORD_BATCH], self._finished[RECORD_BATCH:]
                try:
                    await self._record(batch)
                except Exception as exc:  # keep the batch; its leases hold meanwhile
                    log.warning("recording attempts failed", error=f"{type(exc).__name__}: {exc}",
                                count=len(batch))
                    self._finished[:0] = batch
                    if stopping.is_set() and not self._tasks:
                        return  # un-acked entries and lapsing leases: another worker redoes them
                    await asyncio.sleep(ERROR_BACKOFF_S)
                    continue
                try:
                    await self.queue.ack_many(f.claimed.entry.id for f in batch)
                except Exception as exc:  # recorded: a later claim of these entries finds them done
                    log.warning("acking recorded attempts failed", error=f"{type(exc).__name__}: {exc}",
                                count=len(batch))
            if stopping.is_set() and not self._tasks:
                return

    async def _record(self, batch: Sequence[Finished]) -> None:
        plan = _Batch()
        for finished in batch:
            self._plan(finished, plan)
        async with self.clients.sessions() as session, session.begin():
            if plan.attempts:
                await session.execute(_INSERT_ATTEMPTS, plan.attempts)
            if plan.finishes:
                await session.execute(_FINISH, plan.finishes)
            if plan.put_backs:
                await session.execute(_PUT_BACK, plan.put_backs)
            await disabling.apply(session, plan.endpoint_results.values(),
                                  disable_after_s=self.settings.scaled_disable_after_s,
                                  operational_endpoints=plan.operational)
            for claimed, attempt_id, status_code in plan.exhausted:
                await _emit_exhausted(session, claimed, attempt_id, status_code)
            if plan.ordered_done:
                await session.execute(_NEXT_IN_LINE, {"endpoint_ids": sorted(plan.ordered_done)})

    def _plan(self, finished: Finished, plan: _Batch) -> None:
        """Turn one finished delivery into its rows: attempt, delivery state, endpoint verdict."""
        row = finished.claimed.row
        outcome = finished.outcome
        if outcome is None:
            plan.put_backs.append({"id": row.id, "delay_s": finished.put_back_s or 0.0})
            return
        attempt_id = new_id("atmpt")
        plan.attempts.append({
            "id": attempt_id, "tenant_id": row.tenant_id, "app_id": row.app_id,
            "message_id": row.message_id, "endpoint_id": row.endpoint_id, "delivery_id": row.id,
            "url": row.url, "status": "succeeded" if outcome.succeeded else "failed",
            "response_status_code": outcome.status_code, "response_body": outcome.body,
            "duration_ms": outcome.duration_ms, "error_class": outcome.error_class,
            "error_detail": outcome.detail, "trigger": finished.trigger})
        plan.operational[row.endpoint_id] = row.operational
        plan.endpoint_results[row.endpoint_id] = disabling.EndpointResult(
            row.endpoint_id, outcome.succeeded, gone=outcome.status_code == 410)
        if outcome.succeeded:
            plan.finishes.append({"id": row.id, "status": "succeeded", "delay_s": 0.0})
        else:
            delay_s = None if outcome.status_code == 410 else retry_policy.next_delay_s(
                attempts=row.attempts, schedule_s=self.settings.scaled_schedule_s,
                jitter=self.settings.retry_jitter, retry_after_s=outcome.retry_after_s,
                slow_down=outcome.slow_down)
            if delay_s is None:
                plan.finishes.append({"id": row.id, "status": "failed", "delay_s": 0.0})
                if not row.operational:
                    plan.exhausted.append((finished.claimed, attempt_id, outcome.status_code))
            else:
                plan.finishes.append({"id": row.id, "status": "pending", "delay_s": delay_s})
        if row.ordered:
            plan.ordered_done.add(row.endpoint_id)

    async def _record_dead(self, dead: Sequence[Entry]) -> None:
        """Entries no worker could finish: their deliveries fail, with the reason in the attempt log."""
        if not dead:
            return
        async with self.clients.sessions() as session, session.begin():
            for entry in dead:
                await session.execute(_DEAD, {
                    "id": entry.fields.get("delivery_id", ""), "attempt_id": new_id("atmpt"),
                    "reason": f"dead-lettered: no worker finished it in {entry.deliveries} tries"})
        log.error("deliveries dead-lettered", count=len(dead))


class _Failed(Exception):
    """A failed attempt, raised through the breaker so it counts as a failure."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.detail)
        self.outcome = outcome


async def _emit_exhausted(session: AsyncSession, claimed: Claimed, attempt_id: str,
                          status_code: int | None) -> None:
    row = claimed.row
    await events.emit(session, row.tenant_id, events.ATTEMPT_EXHAUSTED, {
        "appId": row.app_id, "msgId": row.message_id, "endpointId": row.endpoint_id,
        "lastAttempt": {"id": attempt_id, "responseStatusCode": status_code,
                        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}})


def consumer_name() -> str:
    """Unique per process, readable in ``XINFO CONSUMERS``: host and pid."""
    return f"{socket.gethostname()}-{os.getpid()}"


async def worker_loop(clients: Clients, stopping: asyncio.Event) -> None:
    await Worker(clients, consumer=consumer_name()).run(stopping)


if __name__ == "__main__":
    run("worker", worker_loop)

"""``course anchor drill``: break the running anchor on purpose, one fault at a time, under load.

Each drill sends a steady stream of messages, injects one fault, heals it (or, for a process
killed with SIGKILL, lets the survivors take over — nobody restarts anything by hand), and waits
until every message the API acknowledged is settled. Then it asks the receiver and the database:

``lost``        acknowledged (202) but neither delivered nor recorded as failed — must be 0;
``duplicates``  extra copies the receiver got (at-least-once delivery: counted, and bounded);
``p99_ms``      ingest → first attempt, p99, of the messages sent while the fault was on;
``recover_s``   from the end of the fault until the last message sent before it arrived — how
                long the backlog it caused took to clear.

The roles reach PostgreSQL and Redis through :class:`course.chaos.ChaosProxy` (for the latency
drills); restarts are real — ``pg_ctl stop``/start and a Redis shutdown — when the servers are the
course's embedded ones, and a two-second cut of the proxy when they come from DATABASE_URL or
REDIS_URL (a server the course must not restart). Restarting the embedded servers interrupts
anything else using them: run drills when no tests run.

Timings are compressed so a drill takes seconds: ``http_timeout_s`` 2, claim timeout 7, the retry
schedule scaled by 1/10 000 (Svix's 5 min becomes 30 ms).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from course import anchor, anchor_stack
from course.chaos import ChaosProxy
from course.embedded import POSTGRES, REDIS
from course.load import percentile
from course.processes import ProcessFailed

HTTP_TIMEOUT_S = 2.0
CLAIM_TIMEOUT_S = 7.0
DRILL_SETTINGS = {"http_timeout_s": str(HTTP_TIMEOUT_S), "claim_timeout_s": str(CLAIM_TIMEOUT_S),
                  "retry_time_scale": "0.0001", "scheduler_interval_s": "0.2",
                  "ingest_rate_per_s": "1000000", "ingest_burst": "10000000"}
# The unsafe worker: its claim lapses while its HTTP request is still waiting for an answer.
UNSAFE_SETTINGS = {"claim_timeout_s": "1", "http_timeout_s": "3"}
SHORT_CLAIM_RATE_PER_S = 20.0
SETTLE_TIMEOUT_S = 60.0
LATENCY_S = 0.05
Say = Callable[[str], None]


@dataclass
class Sent:
    """One message the feeder posted."""

    sent_at: float  # time.time(), as in the payload
    status: int | None
    message_id: str | None


@dataclass
class Feeder:
    """Threads posting messages at a steady rate on keep-alive connections, recording each answer."""

    url: str
    path: str
    key: str
    rate_per_s: float = 100.0
    threads: int = 4
    sent: list[Sent] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self._stop.clear()
        self._threads = [threading.Thread(target=self._run, daemon=True, name=f"feeder-{i}")
                         for i in range(self.threads)]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)

    def _run(self) -> None:
        interval = self.threads / self.rate_per_s
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(base_url=self.url, timeout=5.0, headers=headers) as http:
            next_at = time.monotonic()
            while not self._stop.is_set():
                sent_at = time.time()
                body = {"eventType": anchor_stack.DEMO_EVENT_TYPE, "payload": {"sentAt": sent_at}}
                try:
                    response = http.post(self.path, json=body)
                    status: int | None = response.status_code
                    message_id = response.json().get("id") if response.status_code == 202 else None
                except (httpx.HTTPError, ValueError):
                    status, message_id = None, None
                with self._lock:
                    self.sent.append(Sent(sent_at, status, message_id))
                next_at += interval
                self._stop.wait(max(0.0, next_at - time.monotonic()))


@dataclass(frozen=True)
class DrillResult:
    """One line of ``reports/drills.json``."""

    name: str
    lost: int
    duplicates: int
    p99_ms: float | None
    recover_s: float
    acknowledged: int
    delivered: int
    failed: int
    refused: int  # requests the API did not acknowledge (5xx, no answer): the client retries those
    detail: str = ""


@dataclass
class Drill:
    """A running stack with its proxies, its demo tenant and the way to reach the truth."""

    stack: anchor_stack.Stack
    demo: anchor_stack.Demo
    postgres: ChaosProxy
    redis: ChaosProxy
    database_url: str  # direct, not through the proxy: the drill's own questions are not faulted
    say: Say
    rate_per_s: float = 100.0
    before_s: float = 2.0
    fault_s: float = 3.0
    after_s: float = 2.0

    def feeder(self, rate_per_s: float | None = None) -> Feeder:
        return Feeder(self.demo.api_url, f"/api/v1/app/{self.demo.app_id}/msg", self.demo.api_key,
                      rate_per_s=rate_per_s or self.rate_per_s)

    def with_status(self, status: str, ids: list[str]) -> set[str]:
        """Which of these messages have a delivery in ``status``: ``failed`` (given up on, with a
        reason) or ``pending`` (still to attempt, or attempted but not yet recorded)."""
        import psycopg

        with psycopg.connect(self.database_url, connect_timeout=10) as conn:
            rows = conn.execute("SELECT DISTINCT message_id FROM deliveries WHERE status = %s "
                                "AND message_id = ANY(%s)", (status, ids)).fetchall()
        return {row[0] for row in rows}

    def run(self, name: str, inject: Callable[[], None], heal: Callable[[], None],
            detail: str = "", rate_per_s: float | None = None) -> DrillResult:
        """Load, fault, heal, load, settle, count (see the module doc)."""
        self.say(f"drill: {name}")
        since = self.stack.receiver.received(10**12)["count"]
        feeder = self.feeder(rate_per_s)
        feeder.start()
        try:
            time.sleep(self.before_s)
            injected_at = time.time()
            inject()
            time.sleep(self.fault_s)
            heal()
            healed_at = time.time()
            time.sleep(self.after_s)
        finally:
            feeder.stop()
        acked = {s.message_id: s for s in feeder.sent if s.message_id}
        arrived = self.settle(since, set(acked))
        copies = Counter(item["id"] for item in arrived if item["id"] in acked)
        first = {item["id"]: item["at"] for item in arrived if item["copy"] == 1 and item["id"] in acked}
        unarrived = [m for m in acked if m not in first]
        failed = self.with_status("failed", unarrived) if unarrived else set()
        during = [1000 * (first[m] - s.sent_at) for m, s in acked.items()
                  if m in first and injected_at <= s.sent_at <= healed_at]
        backlog = [first[m] for m, s in acked.items() if m in first and s.sent_at <= healed_at]
        result = DrillResult(
            name=name, lost=len(acked) - len(first) - len(failed),
            duplicates=sum(n - 1 for n in copies.values()),
            p99_ms=round(percentile(during, 0.99), 1) if during else None,
            recover_s=round(max(0.0, max(backlog, default=healed_at) - healed_at), 2),
            acknowledged=len(acked), delivered=len(first), failed=len(failed),
            refused=sum(s.status != 202 for s in feeder.sent), detail=detail)
        self.say(f"  lost {result.lost}, duplicates {result.duplicates}, p99 {result.p99_ms} ms, "
                 f"recovered in {result.recover_s} s")
        return result

    def settle(self, since: int, acked: set[str]) -> list[dict[str, Any]]:
        """Wait until every acknowledged message arrived or was recorded failed, and none is pending.

        Arrival is not enough: a delivery a killed worker had in flight reached the receiver, but
        stays pending until its lease lapses and another worker sends it again — that second copy
        is the duplicate the drill must count, so it waits for it (bounded).
        """
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while True:
            # Asked before the receiver: by the time nothing is pending, every copy sent is in.
            settled = not self.with_status("pending", sorted(acked))
            items = list(self.stack.receiver.received(since)["items"])
            missing = acked - {item["id"] for item in items}
            if settled and missing and len(missing) < 50:
                missing -= self.with_status("failed", sorted(missing))
            if (settled and not missing) or time.monotonic() > deadline:
                return items
            time.sleep(0.5)


# --------------------------------------------------------------------------- the faults


def _restart(server: Any, proxy: ChaosProxy, env_var: str) -> str:
    """Restart the embedded server for real; a server from the environment gets a 2 s cut instead."""
    if os.environ.get(env_var):
        proxy.cut()
        time.sleep(2.0)
        proxy.heal()
        return f"{env_var} is not the embedded server: simulated by cutting its proxy for 2 s"
    server.stop()
    server.ensure()
    return "the embedded server stopped and started again"


def kill_worker(drill: Drill) -> DrillResult:
    """SIGKILL a worker while its deliveries are in flight; the other reclaims them."""
    victim = drill.stack.role("worker")[0]
    name = next(n for n, p in drill.stack.processes.items() if p is victim)

    def inject() -> None:
        drill.stack.receiver.control(hang_s=0.5)  # every delivery in flight for half a second
        time.sleep(0.3)
        victim.kill()

    result = drill.run("worker kill -9 mid-delivery", inject, drill.stack.receiver.control,
                       detail=f"{name} (pid {victim.pid}) killed; its entries reclaimed after the "
                              f"{CLAIM_TIMEOUT_S:g} s claim timeout")
    drill.stack.restart(name)  # for the next drill, after the measurement
    return result


def kill_relay(drill: Drill) -> DrillResult:
    """SIGKILL one relay; the other keeps draining the outbox."""
    victim = drill.stack.role("relay")[0]
    name = next(n for n, p in drill.stack.processes.items() if p is victim)

    def inject() -> None:
        victim.kill()

    result = drill.run("relay kill -9", inject, lambda: None,
                       detail=f"{name} (pid {victim.pid}) killed; the other relay carried on")
    drill.stack.restart(name)
    return result


def restart_redis(drill: Drill) -> DrillResult:
    how: list[str] = []
    result = drill.run("Redis restarted", lambda: how.append(_restart(REDIS, drill.redis, "REDIS_URL")),
                       lambda: None)
    return DrillResult(**asdict(result) | {"detail": how[0] + "; stream and consumer group lost, "
                                           "rebuilt by the scheduler"})


def restart_postgres(drill: Drill) -> DrillResult:
    how: list[str] = []
    result = drill.run("PostgreSQL restarted",
                       lambda: how.append(_restart(POSTGRES, drill.postgres, "DATABASE_URL")), lambda: None)
    return DrillResult(**asdict(result) | {"detail": how[0]})


def hanging_endpoint(drill: Drill) -> DrillResult:
    hang_s = HTTP_TIMEOUT_S + 3
    return drill.run("endpoint hangs past the HTTP timeout",
                     lambda: drill.stack.receiver.control(hang_s=hang_s), drill.stack.receiver.control,
                     detail=f"the receiver held every request {hang_s:g} s; HTTP timeout "
                            f"{HTTP_TIMEOUT_S:g} s: each request the worker gave up on had reached the "
                            "receiver, so its retry arrives as a second copy")


def slow_postgres(drill: Drill) -> DrillResult:
    return drill.run(f"PostgreSQL +{LATENCY_S * 1000:.0f} ms", lambda: drill.postgres.delay(LATENCY_S),
                     drill.postgres.heal, detail="every chunk delayed each way by course.chaos")


def slow_redis(drill: Drill) -> DrillResult:
    return drill.run(f"Redis +{LATENCY_S * 1000:.0f} ms", lambda: drill.redis.delay(LATENCY_S),
                     drill.redis.heal, detail="every chunk delayed each way by course.chaos")


def short_claim(drill: Drill) -> DrillResult:
    """Claim timeout below the HTTP timeout: the settings refuse it; forced, count the second copies."""
    unsafe = drill.stack.env | {f"ANCHOR_{k.upper()}": v for k, v in UNSAFE_SETTINGS.items()}
    try:
        anchor.start_role("worker", unsafe, timeout=60).stop()
        refused = "NOT refused by the settings (a defect)"
    except ProcessFailed as exc:
        refused = "refused by the settings" if "CLAIM_TIMEOUT" in str(exc) else f"failed: {exc}"
    workers = [n for n in drill.stack.processes if n.startswith("worker")]
    unsafe |= {"ANCHOR_UNSAFE_SKIP_CLAIM_CHECK": "1"}
    for name in workers:
        drill.stack.processes[name].stop()
        drill.stack.processes[name] = anchor.start_role("worker", unsafe, timeout=60)
    try:
        # A light load: a worker whose every slot is busy never looks for stale entries, so under
        # heavy load the lapsed claims would go unnoticed and the drill would show nothing.
        result = drill.run("claim timeout < HTTP timeout", lambda: drill.stack.receiver.control(hang_s=2),
                           drill.stack.receiver.control,
                           rate_per_s=min(drill.rate_per_s, SHORT_CLAIM_RATE_PER_S))
        result = DrillResult(**asdict(result) | {"detail": (
            f"claim 1 s, HTTP timeout 3 s, replies after 2 s: {refused}; forced with "
            f"ANCHOR_UNSAFE_SKIP_CLAIM_CHECK=1, the endpoint got {result.duplicates} second copies")})
    finally:
        for name in workers:
            drill.stack.processes[name].stop()
            drill.stack.restart(name)
    return result


DRILLS: dict[str, Callable[[Drill], DrillResult]] = {
    "worker-kill": kill_worker, "relay-kill": kill_relay, "redis-restart": restart_redis,
    "postgres-restart": restart_postgres, "endpoint-hang": hanging_endpoint,
    "postgres-latency": slow_postgres, "redis-latency": slow_redis, "short-claim": short_claim,
}


def run(*, only: list[str] | None = None, fault_s: float = 3.0, rate_per_s: float = 100.0,
        say: Say = lambda _text: None) -> dict[str, Any]:
    """Start a stack behind chaos proxies, run the chosen drills in turn, stop; return the report."""
    chosen = only or list(DRILLS)
    unknown = [name for name in chosen if name not in DRILLS]
    if unknown:
        raise anchor.AnchorError(f"no drill {', '.join(unknown)}; drills: {', '.join(DRILLS)}")
    install = anchor.prepare(f"{anchor.DATABASE}_drill", fresh=True)
    results: list[DrillResult] = []
    with ChaosProxy.for_url(install.database_url) as pg_proxy, \
            ChaosProxy.for_url(install.redis_url) as redis_proxy:
        proxied = anchor.Install(pg_proxy.url(install.database_url), redis_proxy.url(install.redis_url),
                                 install.jwt_secret)
        stack = anchor_stack.start_stack(workers=2, relays=2, install=proxied, settings=DRILL_SETTINGS,
                                         progress=say)
        try:
            demo = anchor_stack.create_demo(stack.api_url, stack.receiver_url, stack.endpoint_secret)
            drill = Drill(stack, demo, pg_proxy, redis_proxy, install.database_url, say,
                          rate_per_s=rate_per_s, fault_s=fault_s)
            for name in chosen:
                results.append(DRILLS[name](drill))
        finally:
            stack.stop()
    from course.anchor_load import machine

    return {"drills": [asdict(r) for r in results], "machine": machine(),
            "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "settings": DRILL_SETTINGS, "rate_per_s": rate_per_s, "fault_s": fault_s,
            "command": "course anchor drill" + (f" --only {','.join(chosen)}" if only else "")
                       + f" --fault-s {fault_s:g} --rate {rate_per_s:g}",
            "lost": sum(r.lost for r in results)}

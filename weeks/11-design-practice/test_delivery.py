"""Lab: webhook delivery (retry.py, delivery.py, receiver.py in labs/week11_design_practice/).

The sender retries on a jittered schedule that obeys ``Retry-After`` and stops for good on 410;
the receiver dedupes on ``webhook-id``. Together, through 500s, slow answers, dropped and reset
connections on loopback, every event is applied exactly once.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from course import services
from course.chaos import ChaosProxy
from course.processes import RunningProcess
from labs.week11_design_practice import signing
from labs.week11_design_practice.delivery import Endpoint, Message, deliver
from labs.week11_design_practice.retry import STANDARD_DELAYS_S, RetrySchedule, parse_retry_after

RIG = Path(__file__).with_name("webhook_rig.py")
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # 24 bytes, fixed so the rig and the tests agree
LESSON = "weeks/11-design-practice/README.md, section"


@pytest.fixture(scope="module")
def rig_redis_url(redis_server_url: str) -> Iterator[str]:
    url = services.allocate_redis_db(redis_server_url)
    yield url
    services.release_redis_db(url)


@pytest.fixture(scope="module")
def rig(rig_redis_url: str) -> Iterator[RunningProcess]:
    from course.processes import start_process

    process = start_process([sys.executable, str(RIG), "{port}"],
                            env={"RIG_REDIS_URL": rig_redis_url, "RIG_SECRET": SECRET})
    yield process
    process.stop()


@pytest.fixture
def store(rig_redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(rig_redis_url, decode_responses=True)
    yield client
    client.close()


def message(body: dict[str, object] | None = None) -> Message:
    return Message(f"msg_{uuid.uuid4().hex}", json.dumps(body or {"type": "test.event"}).encode())


class SleepRecorder:
    """An injected ``sleep`` that records the delays it is asked for and does not wait."""

    def __init__(self) -> None:
        self.delays_s: list[float] = []

    async def __call__(self, delay_s: float) -> None:
        self.delays_s.append(delay_s)


def run_delivery(url: str, msg: Message, schedule: RetrySchedule, *, timeout_s: float = 5.0,
                 sleep: Callable[[float], object] | None = None, endpoint: Endpoint | None = None):
    async def go():
        async with httpx.AsyncClient() as client:
            target = endpoint or Endpoint(url, [SECRET])
            kwargs = {"sleep": sleep} if sleep is not None else {}
            return await deliver(client, target, msg, schedule=schedule, timeout_s=timeout_s, **kwargs)
    return asyncio.run(go())


# --------------------------------------------------------------------------- the schedule


def test_retry_delays_use_full_jitter() -> None:
    schedule = RetrySchedule()
    for failures, nominal_s in enumerate(STANDARD_DELAYS_S, start=1):
        delays = [schedule.next_delay_s(failures) for _ in range(400)]
        assert all(d is not None and 0 <= d <= nominal_s for d in delays), (
            f"after failure {failures} every delay must lie in [0, {nominal_s}] s (full jitter: uniform in "
            f"[0, nominal]); got min {min(delays)} max {max(delays)} — see {LESSON} 'Delivering: retries, "
            "jitter and Retry-After'")
        spread = statistics.pstdev(d for d in delays if d is not None) / nominal_s
        assert spread > 0.2 and len(set(delays)) > 300, (
            f"after failure {failures}: 400 delays had {len(set(delays))} distinct values and a spread of "
            f"{spread:.2f}× the nominal {nominal_s} s. Full jitter draws uniformly from [0, nominal] "
            "(spread ≈ "
            "0.29×); without it, every message that failed in the same outage comes back in the same second")


def test_the_schedule_ends_and_compresses() -> None:
    schedule = RetrySchedule()
    assert schedule.max_attempts == len(STANDARD_DELAYS_S) + 1, (
        f"the first attempt plus one per delay: expected {len(STANDARD_DELAYS_S) + 1}; got "
        f"{schedule.max_attempts}")
    assert schedule.next_delay_s(len(STANDARD_DELAYS_S) + 1) is None, (
        "after the last delay the schedule is exhausted")
    fast = RetrySchedule(time_scale=0.001)
    for failures, nominal_s in enumerate(STANDARD_DELAYS_S, start=1):
        delay = fast.next_delay_s(failures, rand=lambda: 0.5)
        assert delay == pytest.approx(nominal_s * 0.5 * 0.001), (
            f"with rand()=0.5 and time_scale=0.001 the delay after failure {failures} is 0.5 × {nominal_s} s "
            f"× 0.001; got {delay}")


def test_retry_after_is_honoured(rig: RunningProcess) -> None:
    schedule = RetrySchedule(delays_s=(0.01, 0.01, 0.01))
    for failures in (1, 2, 3):
        delay = schedule.next_delay_s(failures, retry_after_s=7)
        assert delay is not None and delay >= 7, (
            f"the receiver said Retry-After: 7; the next attempt after failure {failures} came after "
            f"{delay} s. "
            f"Retry-After is a floor: never sooner — see {LESSON} 'Delivering: retries, jitter and "
            "Retry-After'")
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT", now_s=1792567620.0) == pytest.approx(60.0), (
        "Retry-After may also be an HTTP-date: seconds from now until then")
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None

    sleep = SleepRecorder()
    result = run_delivery(f"{rig.url}/scripted/503r7-429r3-200", message(), schedule, sleep=sleep)
    assert result.delivered, f"expected delivery on the third attempt; got {result}"
    assert len(sleep.delays_s) == 2 and sleep.delays_s[0] >= 7 and sleep.delays_s[1] >= 3, (
        f"a 503 with Retry-After: 7, then a 429 with Retry-After: 3: expected waits of at least 7 s and 3 s; "
        f"deliver() slept {sleep.delays_s}. Read the header from each answer and pass it to next_delay_s")


def test_retries_keep_the_id_and_sign_each_attempt(rig: RunningProcess, store: redis.Redis) -> None:
    msg = message({"type": "invoice.paid", "cents": 4200})
    result = run_delivery(f"{rig.url}/scripted/500-502-200", msg, RetrySchedule(delays_s=(0.01, 0.01, 0.01)))
    assert result.delivered and len(result.attempts) == 3, (
        f"500, 502, then 200: expected delivery on attempt 3; got {result}")
    seen = [json.loads(raw) for raw in store.lrange(f"requests:{msg.msg_id}", 0, -1)]
    assert len(seen) == 3, f"the receiver saw {len(seen)} requests for {msg.msg_id}; expected 3"
    for number, request in enumerate(seen, start=1):
        try:
            got = signing.verify(SECRET, request["headers"], request["body"].encode())
        except signing.VerificationError as exc:
            pytest.fail(f"attempt {number} was not correctly signed: {exc}. Sign every attempt afresh",
                        pytrace=False)
        assert got == msg.msg_id, (
            f"attempt {number} carried webhook-id {got}; every retry of a message keeps "
                                   "its id — it is what the receiver dedupes on")
        assert request["body"].encode() == msg.body, "send the message body byte for byte"


def test_410_disables_the_endpoint(rig: RunningProcess, store: redis.Redis) -> None:
    msg = message()
    endpoint = Endpoint(f"{rig.url}/scripted/410-200", [SECRET])
    sleep = SleepRecorder()
    result = run_delivery(endpoint.url, msg, RetrySchedule(delays_s=(0.01,) * 5), endpoint=endpoint,
                          sleep=sleep)
    stopped = len(result.attempts) == 1 and result.endpoint_disabled and endpoint.disabled
    assert not result.delivered and stopped, (
        f"410 Gone means the receiver wants no more: expected one attempt, no retry, endpoint disabled; got "
        f"{len(result.attempts)} attempts, delivered={result.delivered}, "
        f"endpoint.disabled={endpoint.disabled} — "
        f"see {LESSON} 'Delivering: retries, jitter and Retry-After'")
    later = message()
    run_delivery(endpoint.url, later, RetrySchedule(delays_s=(0.01,)), endpoint=endpoint)
    assert store.llen(f"requests:{later.msg_id}") == 0, "a disabled endpoint is sent nothing at all"


# --------------------------------------------------------------------------- the receiver


def test_the_receiver_refuses_bad_signatures_and_stale_timestamps(rig: RunningProcess,
                                                                   store: redis.Redis) -> None:
    body = b'{"type":"test.event"}'
    msg_id = f"msg_{uuid.uuid4().hex}"
    cases = {
        "no signature": {"webhook-id": msg_id, "webhook-timestamp": str(int(time.time()))},
        "wrong secret": signing.sign_headers([signing.generate_secret()], msg_id, body),
        "ten minutes old": signing.sign_headers([SECRET], msg_id, body, timestamp_s=int(time.time()) - 600),
    }
    for case, headers in cases.items():
        response = httpx.post(f"{rig.url}/plain/webhooks", content=body, headers=headers, timeout=10)
        assert 400 <= response.status_code < 500, (
            f"{case}: expected a 4xx from the receiver; got {response.status_code} {response.text[:200]} — "
            f"see {LESSON} 'Receiving exactly once'")
    assert store.hget("applied", msg_id) is None, "a request that failed verification must never be applied"


def test_concurrent_duplicates_are_applied_once(rig: RunningProcess, store: redis.Redis) -> None:
    body = b'{"type":"test.event"}'
    msg_id = f"msg_{uuid.uuid4().hex}"
    headers = signing.sign_headers([SECRET], msg_id, body)
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def post() -> None:
        with httpx.Client(timeout=10) as client:
            barrier.wait()
            answer = client.post(f"{rig.url}/slow-apply/webhooks", content=body, headers=headers)
            statuses.append(answer.status_code)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    applied = int(store.hget("applied", msg_id) or 0)
    assert applied == 1, (
        f"8 copies of one webhook arrived together; it was applied {applied} times (answers "
        f"{sorted(statuses)}). "
        "Checking 'seen?' then applying lets every copy through the gap — claim the id with SET NX first — "
        f"see {LESSON} 'Receiving exactly once'")
    assert all(s in (200, 201, 202, 204, 409) for s in statuses), (
        "copies that lost the claim answer 2xx (already done) or 409 (still in flight); got "
        f"{sorted(statuses)}")


def test_a_failed_apply_can_be_retried(rig: RunningProcess, store: redis.Redis) -> None:
    body = b'{"type":"test.event"}'
    msg_id = f"msg_{uuid.uuid4().hex}"
    first = httpx.post(f"{rig.url}/fail-first/webhooks", content=body,
                       headers=signing.sign_headers([SECRET], msg_id, body), timeout=10)
    assert first.status_code >= 500, f"the rig's apply raised; expected a 5xx; got {first.status_code}"
    second = httpx.post(f"{rig.url}/fail-first/webhooks", content=body,
                        headers=signing.sign_headers([SECRET], msg_id, body), timeout=10)
    applied = int(store.hget("applied", msg_id) or 0)
    assert 200 <= second.status_code < 300 and applied == 1, (
        f"the first apply failed, so the sender retried: expected 2xx and one application; got "
        f"{second.status_code} {second.text[:120]} and {applied} applications. A claim kept after a failed "
        f"apply turns a retryable failure into a lost event: delete it before re-raising — see {LESSON} "
        "'Receiving exactly once'")


def test_a_flaky_receiver_still_gets_every_event_exactly_once(rig: RunningProcess,
                                                              store: redis.Redis) -> None:
    """500s, answers slower than the sender waits, resets and drops — and still once each."""
    assert rig.port is not None
    messages = [message({"type": "order.placed", "n": n}) for n in range(16)]
    schedule = RetrySchedule(delays_s=(0.05, 0.1, 0.2, 0.4, 0.6, 0.8) + (1.0,) * 10)
    with ChaosProxy("127.0.0.1", rig.port) as proxy:
        stop = threading.Event()

        def chaos() -> None:
            while not stop.wait(0.15):
                proxy.reset()
                if stop.wait(0.15):
                    break
                proxy.cut()
                stop.wait(0.05)
                proxy.heal()

        monkey = threading.Thread(target=chaos, daemon=True)
        monkey.start()

        async def all_of_them():
            endpoint_url = f"http://127.0.0.1:{proxy.port}/flaky/webhooks"
            async with httpx.AsyncClient() as client:
                return await asyncio.gather(*(
                    deliver(client, Endpoint(endpoint_url, [SECRET]), msg, schedule=schedule, timeout_s=1.0)
                    for msg in messages))

        try:
            results = asyncio.run(all_of_them())
        finally:
            stop.set()
            monkey.join()
    undelivered = [r for r in results if not r.delivered]
    assert not undelivered, (
        f"{len(undelivered)} of {len(results)} messages were never delivered, e.g. "
        f"{[(a.status, a.error) for a in undelivered[0].attempts]}. A timeout, a reset or a refused "
        "connection "
        "is a failed attempt to retry, not an exception to raise")
    applied = store.hgetall("applied")
    counts = {m.msg_id: int(applied.get(m.msg_id, 0)) for m in messages}
    wrong = {k: v for k, v in counts.items() if v != 1}
    assert not wrong, (
        f"every event must be applied exactly once; these were not: {wrong}. Each one's second attempt was "
        "applied and answered after the sender gave up, so its third attempt is a duplicate the receiver "
        "must "
        f"recognise by webhook-id — see {LESSON} 'Receiving exactly once'")

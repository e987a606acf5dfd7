"""Lab anchor-jobs/retries: when a failed delivery comes back — the schedule, jitter, the receiver's word.

The retry policy is a pure function, so its edges are tested directly (thousands of draws, no
waiting); the worker's use of it is tested through the rows it writes: after a failed attempt a
delivery is due again at ``next_attempt_at``, and that minus the attempt's time is the delay the
worker chose. The stack's schedule is ``0, 100, 300``: a retry is 100 s away, so the tests read
when it is due without waiting for it.
"""

from __future__ import annotations

import email.utils
import importlib
import statistics
import time
from pathlib import Path
from types import ModuleType

import pytest
from anchor_jobs_rig import Endpoint, Rig, wait_until

LESSON = "weeks/14-anchor-jobs/README.md"
SCHEDULE_S = (0.0, 100.0, 300.0)
DRAWS = 3000


@pytest.fixture
def rig(standard_rig: Rig) -> Rig:
    return standard_rig


@pytest.fixture
def retry_policy(anchor_package: Path) -> ModuleType:
    return importlib.import_module("anchor.services.retry_policy")


def _delays(policy: ModuleType, **kwargs: object) -> list[float]:
    return [policy.next_delay_s(schedule_s=SCHEDULE_S, jitter=0.2, **kwargs) for _ in range(DRAWS)]


def test_the_policy_jitters_twenty_percent_either_way(retry_policy: ModuleType) -> None:
    delays = _delays(retry_policy, attempts=1)
    low, high, mean = min(delays), max(delays), statistics.fmean(delays)
    assert low >= 80 and high <= 120, (
        f"expected every delay after the first failure within 100 s ± 20 % = [80, 120]; got [{low:.1f}, "
        f"{high:.1f}]. Look at {LESSON}, section 'Retry schedule and jitter'.")
    assert low < 83 and high > 117 and 97 < mean < 103, (
        f"expected the draws spread over the whole band, centred on 100 (a retry wave spreads both ways); "
        f"got min {low:.1f}, max {high:.1f}, mean {mean:.1f} over {DRAWS} draws. Look at {LESSON}, "
        "section 'Retry schedule and jitter'.")
    second = _delays(retry_policy, attempts=2)
    assert min(second) >= 240 and max(second) <= 360, (
        f"expected the second retry around the schedule's next step (300 s ± 20 %); got "
        f"[{min(second):.1f}, {max(second):.1f}]. Look at {LESSON}, section 'Retry schedule and jitter'.")
    exhausted = retry_policy.next_delay_s(attempts=3, schedule_s=SCHEDULE_S, jitter=0.2)
    assert exhausted is None, (
        f"expected None after the schedule's last step (3 attempts for a 3-step schedule): the delivery "
        f"has failed; got {exhausted}. Look at {LESSON}, section 'Retry schedule and jitter'.")


def test_the_policy_takes_retry_after_as_a_floor_and_slows_down_for_429(retry_policy: ModuleType) -> None:
    floored = _delays(retry_policy, attempts=1, retry_after_s=250.0)
    assert min(floored) >= 250 and max(floored) <= 300, (
        f"expected Retry-After: 250 to be a floor (never sooner), capped at the schedule's largest step "
        f"(300 s); got [{min(floored):.1f}, {max(floored):.1f}]. Look at {LESSON}, section 'What the "
        "receiver says'.")
    capped = _delays(retry_policy, attempts=1, retry_after_s=10**7)
    assert max(capped) <= 300, (
        f"expected a Retry-After of 10^7 s capped at the schedule's largest step (300 s): a receiver may "
        f"slow us down, not park a message for months; got {max(capped):.0f}. Look at {LESSON}, section "
        "'What the receiver says'.")
    slowed = _delays(retry_policy, attempts=1, slow_down=True)
    assert min(slowed) >= 160 and max(slowed) <= 240, (
        f"expected a 429 or a timeout without Retry-After to wait twice the step (200 s ± 20 %); got "
        f"[{min(slowed):.1f}, {max(slowed):.1f}]. Look at {LESSON}, section 'What the receiver says'.")


def _first_retry_delays(rig: Rig, endpoint: Endpoint) -> list[float]:
    """For each delivery with one failed attempt: seconds from that attempt to when it is due again."""
    rows = rig.rows(
        "SELECT extract(epoch FROM d.next_attempt_at - a.created_at)::float AS delay_s "
        "FROM deliveries d JOIN attempts a ON a.delivery_id = d.id "
        "WHERE d.endpoint_id = %s AND d.status = 'pending' AND d.attempts = 1 AND d.lease_until IS NULL",
        endpoint.id)
    return [row["delay_s"] for row in rows]


def _failed_once(rig: Rig, endpoint: Endpoint, count: int, timeout_s: float = 15) -> list[float]:
    wait_until(lambda: len(_first_retry_delays(rig, endpoint)) >= count, timeout_s)
    delays = _first_retry_delays(rig, endpoint)
    assert len(delays) >= count, (
        f"expected {count} deliveries failed once and scheduled again (pending, due later); got "
        f"{len(delays)}: {rig.deliveries(endpoint)[:3]}. Look at {LESSON}, section "
        "'Retry schedule and jitter'.")
    return delays


def test_the_worker_spreads_a_failed_wave_both_ways(rig: Rig) -> None:
    """One message to 30 endpoints that all fail at once: when does each come back?

    One failure per endpoint, so no endpoint's circuit breaker opens and every delay is the policy's.
    """
    tenant = rig.tenant()
    endpoints = [rig.endpoint(tenant, "wave") for _ in range(30)]
    for endpoint in endpoints:
        rig.receiver.behave(endpoint.name, status=500)
    rig.send(tenant)
    delays = [delay for endpoint in endpoints for delay in _failed_once(rig, endpoint, 1)]
    outside = [round(d, 1) for d in delays if not 79 <= d <= 121]
    assert not outside, (
        f"expected each retry due 100 s ± 20 % after its failed attempt; these are not: {outside}. Look "
        f"at {LESSON}, section 'Retry schedule and jitter'.")
    earlier, later = sum(d < 97 for d in delays), sum(d > 103 for d in delays)
    assert earlier >= 3 and later >= 3, (
        f"expected 30 deliveries that failed together to come back spread both ways around 100 s; "
        f"{earlier} are due before 97 s, {later} after 103 s (min {min(delays):.1f}, max "
        f"{max(delays):.1f}). Look at {LESSON}, section 'Retry schedule and jitter'.")


def test_the_worker_waits_at_least_what_retry_after_asks(rig: Rig) -> None:
    tenant = rig.tenant()
    seconds = rig.endpoint(tenant, "retry-after-seconds")
    date = rig.endpoint(tenant, "retry-after-date")
    rig.receiver.behave(seconds.name, status=503, headers={"Retry-After": "200"})
    rig.receiver.behave(date.name, status=503,
                        headers={"Retry-After": email.utils.formatdate(time.time() + 250, usegmt=True)})
    rig.send(tenant)
    [after_seconds] = _failed_once(rig, seconds, 1)
    [after_date] = _failed_once(rig, date, 1)
    assert 199 <= after_seconds <= 301, (
        f"expected 'Retry-After: 200' to put the retry at least 200 s away (the schedule said ~100 s); "
        f"it is due in {after_seconds:.1f} s. Look at {LESSON}, section 'What the receiver says'.")
    assert 240 <= after_date <= 301, (
        f"expected a Retry-After HTTP date 250 s ahead honoured too; the retry is due in "
        f"{after_date:.1f} s. Look at {LESSON}, section 'What the receiver says'.")


def test_the_worker_backs_off_twice_as_long_after_429_or_a_timeout(rig: Rig) -> None:
    tenant = rig.tenant()
    throttled = rig.endpoint(tenant, "throttled")
    hanging = rig.endpoint(tenant, "hanging")
    broken = rig.endpoint(tenant, "plain-500")
    rig.receiver.behave(throttled.name, status=429)
    rig.receiver.behave(hanging.name, delay_s=3)
    rig.receiver.behave(broken.name, status=500)
    rig.send(tenant)
    delays = {kind: _failed_once(rig, endpoint, 1)[0]
              for kind, endpoint in (("429", throttled), ("timeout", hanging), ("500", broken))}
    shown = {kind: round(delay, 1) for kind, delay in delays.items()}
    assert 159 <= delays["429"] <= 241 and 159 <= delays["timeout"] <= 241, (
        f"expected a 429 and a timeout (no Retry-After) to wait twice the step, 200 s ± 20 %; got {shown}. "
        f"An overloaded receiver is not helped by coming back on the normal schedule. Look at {LESSON}, "
        "section 'What the receiver says'.")
    assert 79 <= delays["500"] <= 121, (
        f"expected a plain 500 to wait the normal step, 100 s ± 20 %; got {shown}. Look at {LESSON}, "
        "section 'What the receiver says'.")

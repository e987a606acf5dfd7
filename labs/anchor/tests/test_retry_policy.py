"""The retry policy at its edges: a pure function, so every case is exact (the random source is ours)."""

from __future__ import annotations

import email.utils

import pytest
from anchor.services.retry_policy import next_delay_s, parse_retry_after

SCHEDULE_S = (0.0, 5.0, 300.0, 1800.0)


def low() -> float:
    return 0.0


def high() -> float:
    return 1.0 - 1e-12


def middle() -> float:
    return 0.5


def test_the_schedule_gives_the_delay_after_each_failure() -> None:
    delays = [next_delay_s(attempts=n, schedule_s=SCHEDULE_S, jitter=0.2, rand=middle) for n in (1, 2, 3)]
    assert delays == [5.0, 300.0, 1800.0], (
        f"expected the schedule's delays without jitter at its middle; got {delays}")


def test_past_the_last_entry_the_delivery_is_exhausted() -> None:
    assert next_delay_s(attempts=4, schedule_s=SCHEDULE_S, jitter=0.2) is None, (
        "expected None after as many attempts as the schedule has entries (the first is immediate)")


def test_jitter_stays_within_twenty_percent_either_way() -> None:
    lowest = next_delay_s(attempts=2, schedule_s=SCHEDULE_S, jitter=0.2, rand=low)
    highest = next_delay_s(attempts=2, schedule_s=SCHEDULE_S, jitter=0.2, rand=high)
    assert lowest == pytest.approx(240.0) and highest == pytest.approx(360.0), (
        f"expected jitter uniform in [0.8·d, 1.2·d] = [240, 360]; got {lowest}..{highest}")


def test_retry_after_is_a_floor_capped_at_the_largest_delay() -> None:
    floor = next_delay_s(attempts=1, schedule_s=SCHEDULE_S, jitter=0.2, retry_after_s=60.0, rand=middle)
    assert floor == 60.0, f"expected Retry-After: 60 to lift a 5 s delay to 60 s; got {floor}"
    shorter = next_delay_s(attempts=2, schedule_s=SCHEDULE_S, jitter=0.2, retry_after_s=1.0, rand=middle)
    assert shorter == 300.0, (
        f"expected a Retry-After shorter than the schedule to change nothing; got {shorter}")
    capped = next_delay_s(attempts=1, schedule_s=SCHEDULE_S, jitter=0.2, retry_after_s=10**9, rand=middle)
    assert capped == 1800.0, (
        f"expected a huge Retry-After capped at the schedule's largest delay; got {capped}")


def test_429_or_timeout_without_retry_after_waits_twice_as_long() -> None:
    slowed = next_delay_s(attempts=2, schedule_s=SCHEDULE_S, jitter=0.2, slow_down=True, rand=middle)
    assert slowed == 600.0, f"expected twice the scheduled 300 s; got {slowed}"
    told = next_delay_s(attempts=2, schedule_s=SCHEDULE_S, jitter=0.2, slow_down=True, retry_after_s=30.0,
                        rand=middle)
    assert told == 300.0, f"expected Retry-After to replace the doubling (floor 30 s under 300 s); got {told}"


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    assert parse_retry_after("120") == 120.0
    date = email.utils.formatdate(1_000_060, usegmt=True)
    assert parse_retry_after(date, now_s=1_000_000) == pytest.approx(60.0)
    assert parse_retry_after(email.utils.formatdate(999_000, usegmt=True), now_s=1_000_000) == 0.0
    for junk in (None, "", "soon", "-5", "1.5"):
        assert parse_retry_after(junk) is None, (
        f"expected {junk!r} ignored (None); got {parse_retry_after(junk)}")

"""What the tracker means: next step, pace, anchor readiness."""

from __future__ import annotations

import datetime as dt

from course import curriculum, progress
from course.tracker import Deliverables, LabProgress, Tracker

PASSED = LabProgress(first_passed=dt.datetime(2026, 12, 1, tzinfo=dt.UTC), commit="abc1234")


def tracker_with(passed: list[str], public_url: str = "") -> Tracker:
    return Tracker(start=dt.date(2026, 12, 1), target=dt.date(2027, 5, 31),
                   labs={lab_id: PASSED for lab_id in passed},
                   deliverables=Deliverables(public_url=public_url))


def test_next_step_is_the_first_unpassed_lab_in_course_order() -> None:
    labs = curriculum.all_labs()
    assert progress.next_step(tracker_with([])).command == f"pytest weeks/{labs[0][0].code}"
    first_week = labs[0][0]
    done = [lab.id for week, lab in labs if week.number == first_week.number]
    following = next(week for week, _ in labs if week.number > first_week.number)
    assert progress.next_step(tracker_with(done)).command == f"pytest weeks/{following.code}"


def test_pace_compares_the_calendar_with_the_first_unfinished_week() -> None:
    state = tracker_with([])
    assert progress.pace(state, today=dt.date(2026, 12, 1)).on_pace
    late = progress.pace(state, today=dt.date(2027, 3, 1))
    assert not late.on_pace and late.expected_week == 8 and "7 week(s) behind" in late.summary
    assert "passed" in progress.pace(state, today=dt.date(2027, 6, 10)).summary


def test_anchor_pieces_are_ready_when_their_labs_pass() -> None:
    all_ids = [lab.id for _, lab in curriculum.all_labs()]
    nothing = dict((key, ok) for key, _, ok in progress.anchor_readiness(tracker_with([])))
    assert not any(nothing.values())
    everything = dict((key, ok) for key, _, ok in progress.anchor_readiness(tracker_with(all_ids)))
    assert everything["auth"] and everything["postgres-redis"] and everything["dockerized"]
    assert not everything["deployed"], "deployed needs the public URL the learner records"
    deployed = tracker_with(all_ids, public_url="https://api.example.dev")
    assert dict((k, ok) for k, _, ok in progress.anchor_readiness(deployed))["deployed"]


def test_pace_before_the_clock_starts_says_how_to_start_it() -> None:
    fresh = Tracker()
    before = progress.pace(fresh, today=dt.date(2026, 12, 1))
    assert before.days_left is None and before.expected_week == 1
    assert "course start" in before.summary
    no_target = Tracker(start=dt.date(2026, 12, 1))
    assert progress.pace(no_target, today=dt.date(2026, 12, 1)).days_left == (
        dt.date(2027, 5, 31) - dt.date(2026, 12, 1)).days, "a missing target defaults to May end"

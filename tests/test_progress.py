"""What the tracker means: next step, pace, anchor readiness."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from course import curriculum, progress
from course.tracker import Deliverables, LabProgress, LabRun, Tracker

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


def _passed_on(day: dt.date) -> LabProgress:
    return LabProgress(first_passed=dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC), commit="abc1234")


def test_burn_up_counts_first_passes_against_the_pace_line() -> None:
    ids = [lab.id for _, lab in curriculum.all_labs()]
    failing_only = LabProgress(last=LabRun(outcome="failing", passed=1, total=3,
                                           at=dt.datetime(2026, 12, 4, tzinfo=dt.UTC)))
    state = Tracker(start=dt.date(2026, 12, 1), target=dt.date(2027, 5, 31),
                    labs={ids[0]: _passed_on(dt.date(2026, 12, 3)), ids[1]: _passed_on(dt.date(2026, 12, 10)),
                          ids[2]: failing_only, "retired/lab": _passed_on(dt.date(2026, 12, 2))})
    chart = progress.burn_up(state, today=dt.date(2027, 1, 20))
    assert chart.started and chart.total == len(ids)
    assert chart.passes == (dt.date(2026, 12, 3), dt.date(2026, 12, 10)), \
        "only first passes of labs in the curriculum count; a failing run is not a pass"
    assert chart.done == 2 and chart.done_by(dt.date(2026, 12, 5)) == 1
    assert chart.pace_at(dt.date(2026, 11, 1)) == 0 and chart.pace_at(dt.date(2027, 6, 30)) == len(ids)
    assert 0 < chart.expected < len(ids)
    behind = round(chart.expected) - 2
    bar = progress.pace_bar(chart, width=20)
    assert bar.count("█") + bar.count("░") + bar.count("│") == 20, bar
    assert f"2/{len(ids)} labs" in bar and f"{behind} behind" in bar, bar


def test_burn_up_of_an_empty_tracker_is_a_not_started_chart_not_an_error() -> None:
    chart = progress.burn_up(Tracker(), today=dt.date(2026, 12, 2))
    assert not chart.started and chart.done == 0 and chart.passes == ()
    assert chart.start == dt.date(2026, 12, 2) and chart.target == dt.date(2027, 5, 31), \
        "before the clock starts the pace line is drawn as if the learner started today"
    bar = progress.pace_bar(chart)
    assert "not started" in bar and f"0/{chart.total} labs" in bar and bar.startswith("│"), bar


def test_course_status_prints_the_burn_up_bar(tracker_file: Path) -> None:
    from typer.testing import CliRunner

    from course import tracker
    from course.cli import app

    tracker_file.write_text(tracker.TEMPLATE)
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    assert "burn-up" in result.output and "labs · not started" in result.output, result.output
    tracker.create(tracker_file)
    started = CliRunner().invoke(app, ["status"])
    assert started.exit_code == 0 and "pace 0 by today, on pace" in started.output, started.output

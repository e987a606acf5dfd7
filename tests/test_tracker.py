"""tracker.yaml: comments kept, atomic writes, clear errors, progress never lost."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from course import tracker

AT = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


def _run(outcome: str, passed: int = 3, total: int = 3, at: dt.datetime = AT) -> tracker.LabRun:
    return tracker.LabRun(outcome=outcome, passed=passed, total=total, at=at, commit="abc1234")


def test_create_writes_a_valid_tracker_with_a_may_end_target(tracker_file: Path) -> None:
    state = tracker.create(today=dt.date(2026, 11, 24))
    assert state.start == dt.date(2026, 11, 24)
    assert state.target == dt.date(2027, 5, 31)
    again = tracker.create(today=dt.date(2030, 1, 1))
    assert again.start == dt.date(2026, 11, 24), "create must not overwrite"


@pytest.mark.parametrize(("today", "target"), [
    (dt.date(2026, 1, 10), dt.date(2026, 5, 31)),
    (dt.date(2026, 5, 31), dt.date(2026, 5, 31)),
    (dt.date(2026, 6, 1), dt.date(2027, 5, 31)),
])
def test_default_target_is_the_coming_may_end(today: dt.date, target: dt.date) -> None:
    assert tracker.default_target(today) == target


def test_recording_keeps_the_learners_comments_and_edits(tracker_file: Path) -> None:
    tracker.create(today=dt.date(2026, 11, 24))
    moved = "target: 2027-04-30  # moved up: offer by May"
    text = tracker_file.read_text().replace("target: 2027-05-31", moved)
    tracker_file.write_text(text + "# my own note at the end\n")
    tracker.record_runs({"redis/cache": _run("passed")})
    after = tracker_file.read_text()
    assert "# moved up: offer by May" in after
    assert "# my own note at the end" in after
    assert "# week 12: the URL where your deployed service answers" in after
    assert tracker.load().target == dt.date(2027, 4, 30)
    assert tracker.load().passed("redis/cache")


def test_a_first_pass_is_never_taken_away(tracker_file: Path) -> None:
    tracker.create()
    tracker.record_runs({"redis/cache": _run("passed")})
    later = AT + dt.timedelta(days=3)
    state = tracker.record_runs({"redis/cache": _run("failing", passed=1, at=later)})
    progress = state.labs["redis/cache"]
    assert progress.first_passed == AT
    assert progress.last is not None and progress.last.outcome == "failing"
    assert state.passed("redis/cache")


@pytest.mark.parametrize(("corruption", "where"), [
    ("labs: [\n", "line"),
    ("start: 2026-11-24\ntarget: not-a-date\n", "line 2"),
    ("start: 2026-11-24\ntarget: 2027-05-31\ndeliverables:\n  dsa_solved: -4\n", "line 4"),
    ("start: 2026-11-24\ntarget: 2027-05-31\nsurprise: 1\n", "surprise"),
    ("- just\n- a list\n", "mapping"),
])
def test_a_corrupt_tracker_is_named_and_left_byte_for_byte(tracker_file: Path, corruption: str,
                                                          where: str) -> None:
    tracker_file.write_bytes(corruption.encode())
    with pytest.raises(tracker.TrackerError) as caught:
        tracker.record_runs({"redis/cache": _run("passed")})
    message = str(caught.value)
    assert str(tracker_file) in message and where in message, message
    assert tracker_file.read_bytes() == corruption.encode(), "a broken tracker must be left untouched"
    assert list(tracker_file.parent.iterdir()) == [tracker_file], "no temp files left behind"


def test_deliverables_are_validated_before_writing(tracker_file: Path) -> None:
    tracker.create()
    before = tracker_file.read_bytes()
    with pytest.raises(tracker.TrackerError, match="less than or equal to 3"):
        tracker.set_deliverable("design_stories", "7")
    with pytest.raises(tracker.TrackerError, match="No deliverable"):
        tracker.set_deliverable("salary", "lots")
    assert tracker_file.read_bytes() == before
    assert tracker.set_deliverable("dsa_solved", "12").deliverables.dsa_solved == 12
    assert "# week 16: basic DSA problems solved" in tracker_file.read_text()


def test_unknown_lab_ids_survive_course_changes(tracker_file: Path) -> None:
    """Progress on a lab the course later renames or removes is kept, not dropped."""
    tracker.create()
    tracker.record_runs({"old-week/retired-lab": _run("passed")})
    tracker.record_runs({"redis/cache": _run("passed")})
    assert tracker.load().passed("old-week/retired-lab")

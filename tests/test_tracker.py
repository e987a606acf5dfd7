"""tracker.yaml: comments kept, atomic writes, clear errors, progress never lost."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from course import tracker
from course.paths import REPO_ROOT

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
    for write in (lambda: tracker.record_runs({"redis/cache": _run("passed")}),
                  lambda: tracker.set_deliverable("design_stories", "3"), tracker.create):
        with pytest.raises(tracker.TrackerError) as caught:
            write()
        message = str(caught.value)
        assert str(tracker_file) in message and where in message, message
    assert tracker_file.read_bytes() == corruption.encode(), "a broken tracker must be left untouched"
    left = sorted(p.name for p in tracker_file.parent.iterdir())
    assert left == [".tracker.yaml.lock", "tracker.yaml"], f"no temp files left behind: {left}"


def test_deliverables_are_validated_before_writing(tracker_file: Path) -> None:
    tracker.create()
    before = tracker_file.read_bytes()
    with pytest.raises(tracker.TrackerError, match="less than or equal to 3"):
        tracker.set_deliverable("design_stories", "7")
    with pytest.raises(tracker.TrackerError, match="No deliverable"):
        tracker.set_deliverable("salary", "lots")
    assert tracker_file.read_bytes() == before
    assert tracker.set_deliverable("design_stories", "2").deliverables.design_stories == 2
    assert "# week 11: system-design answers" in tracker_file.read_text()
    with pytest.raises(tracker.TrackerError, match="dsa_solved is counted from your test runs now"):
        tracker.set_deliverable("dsa_solved", "12")


def test_unknown_lab_ids_survive_course_changes(tracker_file: Path) -> None:
    """Progress on a lab the course later renames or removes is kept, not dropped."""
    tracker.create()
    tracker.record_runs({"old-week/retired-lab": _run("passed")})
    tracker.record_runs({"redis/cache": _run("passed")})
    assert tracker.load().passed("old-week/retired-lab")


# --------------------------------------------------------------------------- the committed file


def test_the_repository_ships_a_tracker_that_works_before_any_start() -> None:
    committed = REPO_ROOT / "tracker.yaml"
    listed = subprocess.run(["git", "ls-files", "tracker.yaml"], cwd=REPO_ROOT, capture_output=True,
                            text=True)
    if listed.returncode == 0:
        assert listed.stdout.strip() == "tracker.yaml", "tracker.yaml must be committed, not ignored"
    state = tracker.load(committed)  # a learner's own, started tracker must load too
    if state.start is None:
        assert committed.read_text() == tracker.TEMPLATE, (
            "the committed tracker.yaml and tracker.TEMPLATE (written when the file is missing) differ")


def test_the_suite_never_writes_the_repositorys_tracker() -> None:
    assert tracker.tracker_path() != REPO_ROOT / "tracker.yaml", (
        "tests/conftest.py points COURSE_TRACKER at a scratch file for the whole suite")


def test_the_clock_starts_on_the_first_start_or_run_and_only_once(tmp_path: Path) -> None:
    fresh = tmp_path / "tracker.yaml"
    fresh.write_text(tracker.TEMPLATE)
    assert tracker.load(fresh).start is None
    started = tracker.create(fresh, today=dt.date(2026, 12, 2))
    assert (started.start, started.target) == (dt.date(2026, 12, 2), dt.date(2027, 5, 31))
    assert "# the day you began" in fresh.read_text(), "filling in the dates keeps their comments"
    assert tracker.create(fresh, today=dt.date(2027, 1, 9)).start == dt.date(2026, 12, 2)

    by_run = tmp_path / "by-run.yaml"
    by_run.write_text(tracker.TEMPLATE)
    tracker.set_deliverable("design_stories", "2", by_run)
    assert tracker.load(by_run).start is None, "marking a deliverable does not start the clock"
    state = tracker.record_runs({"redis/cache": _run("failing", passed=0)}, by_run)
    assert state.start == AT.astimezone().date(), "the first run, even a failing one, starts the clock"


def test_a_missing_tracker_says_how_to_get_it_back(tracker_file: Path) -> None:
    with pytest.raises(tracker.TrackerError, match=r"git checkout tracker\.yaml"):
        tracker.load()
    assert tracker.record_runs({"redis/cache": _run("passed")}).passed("redis/cache")
    assert "# Comments you add here are kept." in tracker_file.read_text()


# --------------------------------------------------------------------------- concurrent writers

WRITER = textwrap.dedent("""
    import datetime as dt, sys
    from pathlib import Path
    from course import tracker

    path, writer, count = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    print("ready", flush=True)
    sys.stdin.readline()  # every writer starts at the same moment
    for i in range(count):
        at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=writer, seconds=i)
        shared = "passed" if (i + writer) % 3 == 0 else "failing"
        tracker.record_runs({
            f"writer-{writer}/lab-{i}": tracker.LabRun(outcome="passed", passed=1, total=1, at=at),
            "shared/lab": tracker.LabRun(outcome=shared, passed=1, total=2, at=at, commit=f"w{writer}"),
        }, path)
""")


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    """`course watch` in one terminal and `pytest weeks/07` in another: every record survives."""
    path = tmp_path / "tracker.yaml"
    path.write_text(tracker.TEMPLATE)
    writers, records = 4, 20
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(w), str(records)],
                              cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for w in range(writers)]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for proc in procs:
            _, stderr = proc.communicate(timeout=120)
            assert proc.returncode == 0, stderr[-2000:]
    finally:
        for proc in procs:
            proc.kill()

    state = tracker.load(path)
    missing = [f"writer-{w}/lab-{i}" for w in range(writers) for i in range(records)
               if not state.passed(f"writer-{w}/lab-{i}")]
    assert not missing, f"{len(missing)} of {writers * records} records were lost, e.g. {missing[:3]}"
    shared = state.labs["shared/lab"]
    assert shared.first_passed is not None, "a first pass was taken away by a later failing run"
    writer = int(shared.commit[1:])
    assert (shared.first_passed.second + writer) % 3 == 0, "first_passed must be a passing run's time"
    first_run = dt.datetime(2026, 12, 1, tzinfo=dt.UTC).astimezone().date()  # the learner's local day
    assert state.start == first_run, "the first recorded run started the clock"

"""The `course` command: short, kind output; wrong input is one clear line and a non-zero exit."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from course import curriculum, tracker
from course.cli import app, friendly

runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_status_works_on_a_fresh_clone_before_start(tracker_file: Path) -> None:
    tracker_file.write_text(tracker.TEMPLATE)  # what a fresh clone's tracker.yaml holds
    result = invoke("status")
    assert result.exit_code == 0, result.output
    assert "not started" in result.output and "course start" in result.output, result.output
    assert tracker_file.read_text() == tracker.TEMPLATE, "status only reads"


def test_a_missing_tracker_says_how_to_get_it_back(tracker_file: Path) -> None:
    result = invoke("status")
    assert result.exit_code == 2
    assert "git checkout tracker.yaml" in result.output and "Traceback" not in result.output


def test_start_starts_the_clock_once(tracker_file: Path) -> None:
    tracker_file.write_text(tracker.TEMPLATE)
    first = invoke("start", "--no-serve")
    assert "Your clock starts" in first.output, first.output
    started = tracker.load().start
    assert started is not None
    again = invoke("start", "--no-serve")
    assert "Your clock starts" not in again.output and tracker.load().start == started


def test_status_shows_weeks_pace_anchor_and_next(tracker_file: Path) -> None:
    tracker.create()
    result = invoke("status")
    assert result.exit_code == 0, result.output
    for expected in ("01", "16", "pace", "anchor", "next"):
        assert expected in result.output, expected
    assert invoke("next").exit_code == 0


@pytest.mark.parametrize("args", [("check", "17"), ("check", "x"), ("hint", "99"), ("watch", "0"),
                                  ("check",), ("check", "05", "--all")])
def test_wrong_week_arguments_are_one_clear_message(tracker_file: Path, args: tuple[str, ...]) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "week" in result.output.lower()
    assert len(result.output.strip().splitlines()) <= 2, f"one line, not a page: {result.output}"


@pytest.mark.parametrize("args", [("check", "99"), ("hint", "x"), ("watch", "17")])
def test_an_unknown_week_names_the_valid_choices(args: tuple[str, ...]) -> None:
    result = invoke(*args)
    weeks = curriculum.weeks()
    assert f"no week '{args[1]}'" in result.output, result.output
    assert f"from {weeks[0].code} to {weeks[-1].code}" in result.output, result.output
    assert f"course {args[0]} " in result.output, "an example of the right spelling"


def test_a_week_without_a_lab_cannot_be_watched() -> None:
    empty = next((w for w in curriculum.weeks() if not w.has_lab), None)
    if empty is None:
        pytest.skip("every week has a lab")
    result = invoke("watch", empty.code)
    assert result.exit_code == 2 and "has no lab yet" in result.output, result.output


def test_only_course_errors_become_one_line() -> None:
    """A bug in the harness (a KeyError, say) keeps its traceback instead of posing as advice."""

    @friendly
    def buggy() -> None:
        raise KeyError("postgres")

    @friendly
    def learner_fixable() -> None:
        raise tracker.TrackerError("tracker.yaml: line 3: fix it")

    with pytest.raises(KeyError):
        buggy()
    with pytest.raises(typer.Exit) as exited:
        learner_fixable()
    assert exited.value.exit_code == 2


def test_a_corrupt_tracker_is_reported_and_left_alone(tracker_file: Path) -> None:
    tracker_file.write_text("start: 2026-11-24\ntarget: [\n")
    before = tracker_file.read_bytes()
    for command in (("status",), ("next",), ("deliverable", "design_stories", "3")):
        result = invoke(*command)
        assert result.exit_code == 2 and "line" in result.output, result.output
    assert tracker_file.read_bytes() == before


def test_deliverables_are_marked(tracker_file: Path) -> None:
    tracker.create()
    assert invoke("deliverable", "public_url", "https://api.example.dev").exit_code == 0
    assert tracker.load().deliverables.public_url == "https://api.example.dev"
    bad = invoke("deliverable", "design_stories", "many")
    assert bad.exit_code == 2 and "design_stories" in bad.output
    counted = invoke("deliverable", "dsa_solved", "40")
    assert counted.exit_code == 2 and "counted from your test runs now" in counted.output


def test_hint_lists_hints_or_points_at_the_lesson(tracker_file: Path) -> None:
    result = invoke("hint", "01")
    assert result.exit_code == 0
    assert "01-python-perf" in result.output or "test_" in result.output


def test_services_status_and_doctor(tracker_file: Path) -> None:
    tracker.create()
    status = invoke("services", "status")
    assert status.exit_code == 0 and "postgres" in status.output and "redis" in status.output
    doctor = invoke("doctor")
    assert "Python" in doctor.output and "PostgreSQL" in doctor.output and "Redis" in doctor.output
    assert doctor.exit_code == 0, doctor.output

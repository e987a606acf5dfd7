"""The `course` command: short, kind output; wrong input is one clear line and a non-zero exit."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from course import tracker
from course.cli import app

runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_status_before_start_says_how_to_begin(tracker_file: Path) -> None:
    result = invoke("status")
    assert result.exit_code == 2
    assert "make start" in result.output and "Traceback" not in result.output


def test_status_shows_weeks_pace_anchor_and_next(tracker_file: Path) -> None:
    tracker.create()
    result = invoke("status")
    assert result.exit_code == 0, result.output
    for expected in ("01", "16", "pace", "anchor", "next"):
        assert expected in result.output, expected
    assert invoke("next").exit_code == 0


@pytest.mark.parametrize("args", [("check", "17"), ("check", "x"), ("hint", "99"), ("watch", "0"),
                                  ("check",)])
def test_wrong_week_arguments_are_one_clear_message(tracker_file: Path, args: tuple[str, ...]) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "week" in result.output.lower()


def test_a_corrupt_tracker_is_reported_and_left_alone(tracker_file: Path) -> None:
    tracker_file.write_text("start: 2026-11-24\ntarget: [\n")
    before = tracker_file.read_bytes()
    for command in (("status",), ("next",), ("deliverable", "dsa_solved", "3")):
        result = invoke(*command)
        assert result.exit_code == 2 and "line" in result.output, result.output
    assert tracker_file.read_bytes() == before


def test_deliverables_are_marked(tracker_file: Path) -> None:
    tracker.create()
    assert invoke("deliverable", "public_url", "https://api.example.dev").exit_code == 0
    assert tracker.load().deliverables.public_url == "https://api.example.dev"
    bad = invoke("deliverable", "dsa_solved", "many")
    assert bad.exit_code == 2 and "dsa_solved" in bad.output


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

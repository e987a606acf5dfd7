"""course.dsa: sixty problems, each with three kinds of test; solving is counted from test results."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from course import dsa, tracker
from course.paths import lab_package_dir

AT = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)


def test_sixty_problems_each_with_examples_a_property_and_a_scaling_test() -> None:
    assert len(dsa.problems()) == 60
    assert len({p.id for p in dsa.problems()}) == 60, "problem ids are unique"
    for problem_id, names in dsa.tests_of().items():
        kinds = {
            kind
            for kind in ("examples", "matches_brute_force", "scales")
            if f"test_{problem_id}_{kind}" in names
        }
        assert kinds == {"examples", "matches_brute_force", "scales"}, f"{problem_id} has only {kinds}"


def test_every_problem_has_a_stub_and_three_hint_steps() -> None:
    for problem in dsa.problems():
        assert len(problem.hints) == 3, f"{problem.id}: target complexity, idea, key step"
        assert problem.hints[0].startswith("Target:"), (
            f"{problem.id}: the first step is the target complexity"
        )
        source = (lab_package_dir("week16_interviews") / f"{problem.pattern}.py").read_text()
        name = problem.id if problem.id in source else "".join(w.title() for w in problem.id.split("_"))
        assert name.lower().replace("_", "") in source.lower().replace("_", ""), f"{problem.id}: no stub"


def test_every_week16_test_belongs_to_a_problem() -> None:
    for pattern in dsa.patterns():
        path = dsa.week_folder() / f"test_{pattern}.py"
        names = [
            line.split("(")[0][4:] for line in path.read_text().splitlines() if line.startswith("def test_")
        ]
        orphans = [name for name in names if dsa.problem_of(name, pattern) is None]
        assert not orphans, f"{path.name}: tests that belong to no problem: {orphans}"


def test_the_longest_problem_id_owns_a_test() -> None:
    assert dsa.problem_of("test_kth_largest_stream_scales", "heaps") == "kth_largest_stream"
    assert dsa.problem_of("test_kth_largest_scales", "heaps") == "kth_largest"
    assert dsa.problem_of("test_two_sum_examples", "arrays_hashing") == "two_sum"
    assert dsa.problem_of("test_two_sum_sorted_examples", "two_pointers") == "two_sum_sorted"


def _outcomes(**tests: str) -> dict[tuple[str, str], dict[str, str]]:
    return {(dsa.WEEK_FOLDER, "test_arrays_hashing.py"): dict(tests)}


def test_a_problem_is_solved_only_when_all_its_tests_ran_and_passed() -> None:
    all_pass = _outcomes(
        test_two_sum_examples="passed",
        test_two_sum_matches_brute_force="passed",
        test_two_sum_scales="passed",
        test_is_anagram_examples="passed",
    )
    assert dsa.results_from(all_pass) == {"two_sum": True}, "is_anagram did not run in full: undecided"
    one_fails = _outcomes(
        test_two_sum_examples="passed",
        test_two_sum_matches_brute_force="passed",
        test_two_sum_scales="failed",
    )
    assert dsa.results_from(one_fails) == {"two_sum": False}


def test_solving_is_recorded_once_and_never_taken_away(tracker_file: Path) -> None:
    tracker_file.write_text(tracker.TEMPLATE)
    state = tracker.record_problems({"two_sum": True, "is_anagram": False}, AT)
    assert state.solved("two_sum") and not state.solved("is_anagram")
    assert state.deliverables.dsa_solved == 1
    later = AT + dt.timedelta(days=1)
    state = tracker.record_problems({"two_sum": False}, later)
    assert state.solved("two_sum"), "a later failing run must not take a solve away"
    assert state.dsa["two_sum"].last == "failing"
    assert "&id" not in tracker_file.read_text(), "no YAML aliases in the learner's file"
    assert "1/60 solved (goal 50–70: 49 to the goal)" in dsa.summary(state)
    assert ("Arrays and hashing", 1, 8) in dsa.solved_by_pattern(state)


def test_dsa_solved_cannot_be_typed_by_hand(tracker_file: Path) -> None:
    tracker_file.write_text(tracker.TEMPLATE)
    with pytest.raises(tracker.TrackerError, match="counted from your test runs now"):
        tracker.set_deliverable("dsa_solved", "40")


def test_hints_come_one_step_at_a_time_then_start_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COURSE_HOME", str(tmp_path))
    steps = [dsa.next_hint("two_sum")[:2] for _ in range(4)]
    assert steps == [(1, 3), (2, 3), (3, 3), (1, 3)]
    assert dsa.next_hint("contains_duplicate")[0] == 1, "each problem has its own step"
    with pytest.raises(dsa.UnknownProblem, match="Did you mean two_sum"):
        dsa.next_hint("two_su")


def test_the_site_lists_problems_by_pattern_with_progress(tracker_file: Path) -> None:
    tracker_file.write_text(tracker.TEMPLATE)
    state = tracker.record_problems({"two_sum": True}, AT)
    table = dsa.render_problem_table(state)
    assert "### Arrays and hashing — 1/8" in table
    assert "| Two sum | `pytest weeks/16 -k two_sum` | ✓ |" in table

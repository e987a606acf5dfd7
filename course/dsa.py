"""Week 16's problem set: the catalogue, which tests belong to which problem, progress and hints.

The catalogue is ``weeks/16-interviews/problems.yaml`` (problems by pattern, each with hints in
steps). A problem's tests are the functions in ``test_<pattern>.py`` named ``test_<problem>_…``;
a problem is solved by a run in which every one of them ran and passed — so ``pytest weeks/16 -k
two_sum`` counts two_sum, while a run of a single test of it counts nothing. Solving is recorded in
``tracker.yaml`` (``dsa:``), never typed by hand.
"""

from __future__ import annotations

import ast
import datetime as dt
import functools
import json
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML

from course import statedir, tracker
from course.errors import CourseError
from course.paths import WEEKS_DIR

WEEK_FOLDER = "16-interviews"
GOAL = (50, 70)


class UnknownProblem(CourseError):
    """A problem id that is not in the catalogue; the message lists close ones."""


@dataclass(frozen=True)
class Problem:
    id: str
    title: str
    pattern: str  # the module and test file: arrays_hashing → test_arrays_hashing.py
    pattern_title: str
    hints: tuple[str, ...]

    @property
    def test_file(self) -> str:
        return f"test_{self.pattern}.py"


def week_folder() -> Path:
    return WEEKS_DIR / WEEK_FOLDER


@functools.cache
def problems(folder: Path | None = None) -> tuple[Problem, ...]:
    """Every problem in catalogue order (pattern by pattern)."""
    catalogue = YAML(typ="safe").load(((folder or week_folder()) / "problems.yaml").read_text())
    return tuple(Problem(problem_id, entry["title"], pattern, group["title"], tuple(entry["hints"]))
                 for pattern, group in catalogue.items()
                 for problem_id, entry in group["problems"].items())


def patterns() -> dict[str, str]:
    """Pattern id → title, in catalogue order."""
    return {p.pattern: p.pattern_title for p in problems()}


def problem(problem_id: str) -> Problem:
    found = next((p for p in problems() if p.id == problem_id), None)
    if found is None:
        close = [p.id for p in problems() if problem_id in p.id or p.id in problem_id][:5]
        also = f" Did you mean {', '.join(close)}?" if close else " `course status` lists them by pattern."
        raise UnknownProblem(f"There is no problem '{problem_id}' in week 16.{also}")
    return found


def problem_of(test_name: str, pattern: str) -> str | None:
    """The problem a test belongs to: the longest problem id of ``pattern`` its name starts with.

    ``test_kth_largest_stream_scales`` belongs to ``kth_largest_stream``, not ``kth_largest``.
    """
    name = test_name.split("[")[0].removeprefix("test_")
    owners = [p.id for p in problems() if p.pattern == pattern and name.startswith(p.id + "_")]
    return max(owners, key=len, default=None)


def tests_of(folder: Path | None = None) -> dict[str, set[str]]:
    """Problem id → the names of its test functions, read from the test files without importing them."""
    folder = folder or week_folder()
    found: dict[str, set[str]] = {p.id: set() for p in problems()}
    for pattern in patterns():
        path = folder / f"test_{pattern}.py"
        if not path.exists():
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                owner = problem_of(node.name, pattern)
                if owner is not None:
                    found[owner].add(node.name)
    return found


# --------------------------------------------------------------------------- progress


def results_from(outcomes: dict[tuple[str, str], dict[str, str]]) -> dict[str, bool]:
    """Problem → solved, for every problem whose tests all ran in this run.

    ``outcomes`` is the plugin's record: (week folder, test file) → test name → passed/failed/skipped.
    """
    ran: dict[str, str] = {}
    for (folder, _), tests in outcomes.items():
        if folder != WEEK_FOLDER:
            continue
        for name, outcome in tests.items():
            previous = ran.get(name.split("[")[0])
            ran[name.split("[")[0]] = "failed" if "failed" in (outcome, previous) else outcome
    results = {}
    for problem_id, names in tests_of().items():
        if names and names <= ran.keys():
            results[problem_id] = all(ran[name] == "passed" for name in names)
    return results


def solved_by_pattern(state: tracker.Tracker) -> list[tuple[str, int, int]]:
    """(pattern title, solved, total) in catalogue order."""
    return [(title, sum(state.solved(p.id) for p in problems() if p.pattern == pattern),
             sum(p.pattern == pattern for p in problems())) for pattern, title in patterns().items()]


def solved_count(state: tracker.Tracker) -> int:
    return sum(state.solved(p.id) for p in problems())


def summary(state: tracker.Tracker) -> str:
    """One line: solved/60 against the goal."""
    low, high = GOAL
    solved = solved_count(state)
    verdict = "goal reached" if solved >= low else f"{low - solved} to the goal"
    return f"{solved}/{len(problems())} solved (goal {low}–{high}: {verdict})"


def unsolved(state: tracker.Tracker) -> list[Problem]:
    return [p for p in problems() if not state.solved(p.id)]


def record(outcomes: dict[tuple[str, str], dict[str, str]], at: dt.datetime) -> str | None:
    """Record the problems this run decided; the line to show, or None when it decided none."""
    results = results_from(outcomes)
    if not results:
        return None
    state = tracker.record_problems(results, at)
    return f"dsa {summary(state)}"


# --------------------------------------------------------------------------- hints, one step at a time


def _steps_file() -> Path:
    """Which hint step each problem is at: beside the services' data, out of the learner's repo."""
    return statedir.state_dir() / "hint-steps.json"


def next_hint(problem_id: str) -> tuple[int, int, str]:
    """(step, of, text): the next hint of ``problem_id``; after the last, it starts over."""
    chosen = problem(problem_id)
    path = _steps_file()
    steps: dict[str, int] = json.loads(path.read_text()) if path.exists() else {}
    step = steps.get(chosen.id, 0) % len(chosen.hints)
    steps[chosen.id] = step + 1
    path.write_text(json.dumps(steps, indent=1, sort_keys=True))
    return step + 1, len(chosen.hints), chosen.hints[step]


def render_problem_table(state: tracker.Tracker | None) -> str:
    """The site's list of problems by pattern, each marked solved or not from the tracker."""
    lines = []
    if state is not None:
        lines += [f"**{summary(state)}**", ""]
    for pattern, title in patterns().items():
        chosen = [p for p in problems() if p.pattern == pattern]
        done = sum(state.solved(p.id) for p in chosen) if state else 0
        lines += [f"### {title} — {done}/{len(chosen)}", "", "| problem | run it | solved |", "|---|---|---|"]
        for p in chosen:
            mark = "✓" if state and state.solved(p.id) else "·"
            lines.append(f"| {p.title} | `pytest weeks/16 -k {p.id}` | {mark} |")
        lines.append("")
    return "\n".join(lines)

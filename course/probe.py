"""The pytest plugin ``course.proof`` loads into every run it makes (``-p course.probe``).

JUnit XML says a test failed; the proof needs to know *how*. A named mistake proves something
only when the test's own check catches it — ``assert …, "teaching message"`` or
``pytest.fail(…)`` in the week's tests or the course harness. A mistake that makes the test
crash (an ``ImportError`` after a rename, a ``TypeError`` from a changed signature, a fixture that
cannot start, a timeout) fails too, but teaches nothing: that is a defect of the course.

For each test phase this plugin appends one JSON line to the file named by ``COURSE_PROOF_REPORT``:
the test, the phase, the outcome, what was raised and whether the test's own check raised it.
Collection errors are recorded the same way, under the file that failed to collect.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from pathlib import Path

import pytest

REPORT_ENV = "COURSE_PROOF_REPORT"
_HARNESS = Path(__file__).resolve().parent  # course/: its rigs may check on a test's behalf
_RUNNERS = ("_pytest", "pluggy")            # frames of pytest itself, skipped when looking


def test_key(nodeid: str) -> str:
    """``weeks/05-redis/test_cache.py::test_x[p]`` → ``test_cache.py::test_x[p]`` (week.yaml's form)."""
    path, sep, rest = nodeid.partition("::")
    return Path(path).name + sep + rest


def raised_by_own_check(excinfo: pytest.ExceptionInfo[BaseException], test_folder: Path) -> bool:
    """True when an assertion or ``pytest.fail`` was raised by the test's own code or the harness.

    The innermost frame that is not pytest's own decides: in the test's folder (its file, its
    conftest, helpers beside it) or in ``course/``, the test was checking; anywhere else — the
    code under test, a library — the test merely crashed.
    """
    if not excinfo.errisinstance((AssertionError, pytest.fail.Exception)):
        return False
    for entry in reversed(excinfo.traceback):
        path = Path(str(entry.path)).resolve()
        if any(part in _RUNNERS for part in path.parts):
            continue
        return path.is_relative_to(test_folder.resolve()) or path.is_relative_to(_HARNESS)
    return False


def _write(record: dict[str, object]) -> None:
    target = os.environ.get(REPORT_ENV)
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    excinfo = call.excinfo
    outcome = "skipped" if report.skipped else report.outcome
    raised = caught = None
    if report.failed and excinfo is not None:
        first = next(iter(str(excinfo.value).strip().splitlines()), "")
        raised = f"{excinfo.typename}: {first[:300]}"
        caught = call.when == "call" and raised_by_own_check(excinfo, item.path.parent)
    _write({"test": test_key(item.nodeid), "when": call.when, "outcome": outcome,
            "raised": raised, "caught": caught})
    return report


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        summary = str(report.longrepr).strip().splitlines()
        _write({"test": test_key(report.nodeid), "when": "collect", "outcome": "failed",
                "raised": f"collection error: {summary[-1] if summary else '?'}", "caught": False})

"""Every lab proven: the solution passes, the pristine starter fails, every named mistake is caught.

On a learner's checkout, where ``labs/`` holds their own work, the starter half is skipped with a
note — their code is not a starter any more. In CI the starters must be the recorded pristine ones.

A week's solution and starter checks share one xdist group (they share the solution run); each
named mistake is a separate subprocess of one test, so mistakes are left ungrouped and spread over
the workers instead of queueing behind their week.
"""

from __future__ import annotations

import functools
import os

import pytest

from course import curriculum, proof
from course.curriculum import Mistake, Week
from course.paths import SOLUTIONS_DIR

LAB_WEEKS = [w for w in curriculum.weeks() if w.has_lab]
MISTAKES = [(w, m) for w in LAB_WEEKS for m in w.mistakes]


@functools.cache
def solution_run(code: str) -> proof.Run:
    """One run of the week against solutions/, shared by the solution and starter checks."""
    return proof.run_week(curriculum.week(code), SOLUTIONS_DIR)


def _strict() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.mark.parametrize("week", [pytest.param(w, marks=pytest.mark.xdist_group(w.code)) for w in LAB_WEEKS],
                         ids=lambda w: w.code)
def test_solution_passes(week: Week) -> None:
    problems = proof.prove_solution(week, solution_run(week.code))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("week", [pytest.param(w, marks=pytest.mark.xdist_group(w.code)) for w in LAB_WEEKS],
                         ids=lambda w: w.code)
def test_pristine_starter_fails_every_test(week: Week) -> None:
    changes = proof.starter_changes(week)
    if changes and _strict():
        pytest.fail(f"labs/{week.package} differs from tests/starters/{week.package}.sha256: {changes}. "
                    "If the starter changed on purpose: "
                    f"python -m course.proof --freeze-starters {week.code}")
    if changes:
        pytest.skip(f"labs/{week.package} holds your own work ({len(changes)} files changed), so the "
                    "starter half of the proof is skipped; it runs on an untouched checkout")
    problems = proof.prove_starter(week, solution_run(week.code))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("week", "mistake"), MISTAKES,
                         ids=lambda value: getattr(value, "code", None) or getattr(value, "name", ""))
def test_named_mistake_is_caught_by_its_test(week: Week, mistake: Mistake) -> None:
    problems = proof.prove_mistake(week, mistake)
    assert not problems, "\n".join(problems)

"""Every lab proven: the solution passes, the pristine starter fails, every named mistake is caught.

On a learner's checkout, where ``labs/`` holds their own work, the starter half is skipped with a
note — their code is not a starter any more. In CI the starters must be the recorded pristine ones.

A week's solution and starter checks share one run of the week against solutions/. They may land
on different xdist workers — and ``xdist_group`` marks cannot keep them together: pytest-xdist 3.8
writes the group into a node id attribute pytest 9.2 no longer reads, so ``--dist loadgroup``
groups nothing — so the run is shared through a file every worker of the session can read. Each
named mistake is a separate subprocess of one test, spread over the workers.
"""

from __future__ import annotations

import fcntl
import os
import pickle
from pathlib import Path

import pytest

from course import curriculum, proof
from course.curriculum import Mistake, Week
from course.paths import SOLUTIONS_DIR

LAB_WEEKS = [w for w in curriculum.weeks() if w.has_lab]
MISTAKES = [(w, m) for w in LAB_WEEKS for m in w.mistakes]


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every worker of this session sees: the parent of the xdist workers' base folders."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def solution_run(code: str, shared: Path) -> proof.Run:
    """One run of the week against solutions/, shared by the solution and starter checks.

    Whichever check comes first runs the week (holding the week's lock) and leaves the run in
    ``shared``; the other reads it, waiting on the lock if the run is still going, instead of
    running the week a second time on the other worker.
    """
    stored = shared / f"solution-run-{code}.pickle"
    with (shared / f"solution-run-{code}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stored.exists():
            run: proof.Run = pickle.loads(stored.read_bytes())
            return run
        run = proof.run_week(curriculum.week(code), SOLUTIONS_DIR)
        stored.write_bytes(pickle.dumps(run))
        return run


def _strict() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.mark.parametrize("week", LAB_WEEKS, ids=lambda w: w.code)
def test_solution_passes(week: Week, shared_dir: Path) -> None:
    problems = proof.prove_solution(week, solution_run(week.code, shared_dir))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("week", LAB_WEEKS, ids=lambda w: w.code)
def test_pristine_starter_fails_every_test(week: Week, shared_dir: Path) -> None:
    changes = proof.starter_changes(week)
    if changes and _strict():
        pytest.fail(f"labs/{week.package} differs from tests/starters/{week.package}.sha256: {changes}. "
                    "If the starter changed on purpose: "
                    f"python -m course.proof --freeze-starters {week.code}")
    if changes:
        pytest.skip(f"labs/{week.package} holds your own work ({len(changes)} files changed), so the "
                    "starter half of the proof is skipped; it runs on an untouched checkout")
    problems = proof.prove_starter(week, solution_run(week.code, shared_dir))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("week", "mistake"), MISTAKES,
                         ids=lambda value: getattr(value, "code", None) or getattr(value, "name", ""))
def test_named_mistake_is_caught_by_its_test(week: Week, mistake: Mistake) -> None:
    problems = proof.prove_mistake(week, mistake)
    assert not problems, "\n".join(problems)

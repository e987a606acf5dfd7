"""Shared helpers for the course's own tests (the proof suite)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from course.paths import REPO_ROOT


@pytest.fixture(scope="session", autouse=True)
def scratch_tracker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point every tracker write of the suite at a scratch file, in this process and its children.

    The repository's ``tracker.yaml`` is the learner's record: the course's own tests (which start
    real ``pytest weeks/NN`` runs) must never add to it or start its clock. A fixture, not a
    ``pytest_configure`` hook: pytest loads this conftest for a learner's ``pytest weeks/NN``
    too (``testpaths``), and that run must record where it always does.
    """
    path = tmp_path_factory.mktemp("suite-tracker") / "tracker.yaml"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COURSE_TRACKER", str(path))
        yield path


@pytest.fixture
def tracker_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tracker path outside the repository; the learner's own tracker.yaml is never touched."""
    path = tmp_path / "tracker.yaml"
    monkeypatch.setenv("COURSE_TRACKER", str(path))
    return path


def run_pytest(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO_ROOT,
               timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run pytest in a subprocess the way a learner would, and capture what they would see."""
    full_env = {k: v for k, v in os.environ.items()
                if k not in {"PYTEST_XDIST_WORKER", "PYTEST_CURRENT_TEST", "COURSE_LAB_PATH"}}
    full_env |= {"NO_COLOR": "1"} | (env or {})
    return subprocess.run([sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider"],
                          cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)

"""Shared helpers for the course's own tests (the proof suite)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from course.target import REPO_ROOT


def pytest_configure(config: pytest.Config) -> None:
    """Point every tracker write of the suite at a scratch file, in this process and its children.

    The repository's ``tracker.yaml`` is the learner's record: running the course's own tests
    (which start real ``pytest weeks/NN`` runs) must never add to it or start its clock.
    """
    scratch = Path(tempfile.mkdtemp(prefix="course-suite-tracker-"))
    os.environ["COURSE_TRACKER"] = str(scratch / "tracker.yaml")
    config.add_cleanup(lambda: shutil.rmtree(scratch, ignore_errors=True))


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

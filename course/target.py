"""Which code the lab tests exercise: the learner's ``labs/`` or the reference ``solutions/``.

Test files always import ``labs.weekNN_topic...``. ``labs/__init__.py`` asks
:func:`lab_package_path` where that package really lives, so ``pytest --solutions`` (which sets
``COURSE_LAB_PATH``) swaps the code under test without touching a test file — in the pytest
process and in every subprocess, server and worker it starts, because they inherit the variable.
"""

from __future__ import annotations

import os
from pathlib import Path

LAB_PATH_ENV = "COURSE_LAB_PATH"
REPO_ROOT = Path(__file__).resolve().parent.parent


def lab_package_path(default: list[str]) -> list[str]:
    """The ``__path__`` for the ``labs`` package: ``COURSE_LAB_PATH`` if set, else ``default``."""
    override = os.environ.get(LAB_PATH_ENV)
    return [override] if override else default


def solutions_dir() -> Path:
    return REPO_ROOT / "solutions"


def labs_dir() -> Path:
    return REPO_ROOT / "labs"

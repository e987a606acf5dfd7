"""Which code the lab tests exercise: the learner's ``labs/`` or the reference ``solutions/``.

Test files always import ``labs.weekNN_topic...``. ``labs/__init__.py`` asks
:func:`lab_package_path` where that package really lives, so ``pytest --solutions`` (which sets
``COURSE_LAB_PATH``) swaps the code under test without touching a test file — in the pytest
process and in every subprocess, server and worker it starts, because they inherit the variable.

This module is copied alone into week 06's image (with ``course/__init__.py``), so it imports
nothing from the course. Repository paths live in :mod:`course.paths`.
"""

from __future__ import annotations

import os

LAB_PATH_ENV = "COURSE_LAB_PATH"


def lab_package_path(default: list[str]) -> list[str]:
    """The ``__path__`` for the ``labs`` package: ``COURSE_LAB_PATH`` if set, else ``default``."""
    override = os.environ.get(LAB_PATH_ENV)
    return [override] if override else default


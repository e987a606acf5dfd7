"""Every concept notebook executes top to bottom against the real services."""

from __future__ import annotations

from pathlib import Path

import pytest

from course import notebooks
from course.paths import NOTEBOOKS_DIR

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.xdist_group(p.stem)) for p in NOTEBOOKS],
                         ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path: Path) -> None:
    notebooks.execute(path)  # executes in memory; the committed file is not rewritten

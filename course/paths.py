"""Where things live in the repository — the one place the harness learns its layout.

Every folder the course reads (lessons, starters, solutions, notebooks, the proof's records) is
named here, relative to the checkout, so moving one is a one-line change and no module guesses a
path of its own. ``course/target.py`` is the exception by design: it is copied alone into week
06's image, so it must import nothing from the course.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

WEEKS_DIR = REPO_ROOT / "weeks"            # weeks/NN-topic/: lesson, week.yaml, lab tests
LABS_DIR = REPO_ROOT / "labs"              # the learner's code: labs/weekNN_topic/
SOLUTIONS_DIR = REPO_ROOT / "solutions"    # the reference code, module for module like labs/
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"    # notebooks/NN-topic.ipynb
STARTER_MANIFESTS_DIR = REPO_ROOT / "tests" / "starters"  # checksums of the pristine starters
REPORTS_DIR = REPO_ROOT / "reports"        # the anchor's measured reports: load.json, drills.json

MISTAKES_FOLDER = "mistakes"               # solutions/<package>/mistakes/<name>.diff


def lab_package_dir(package: str) -> Path:
    """``labs/<package>``: the starter, or the learner's own code once they start."""
    return LABS_DIR / package


def solution_package_dir(package: str) -> Path:
    """``solutions/<package>``: the reference solution the proof runs the tests against."""
    return SOLUTIONS_DIR / package


def mistakes_dir(package: str) -> Path:
    """``solutions/<package>/mistakes``: one diff per named mistake."""
    return SOLUTIONS_DIR / package / MISTAKES_FOLDER


def relative(path: Path) -> str:
    """``path`` as the course prints it: relative to the checkout when it is inside it."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)

"""The course's shape, read from the repository: weeks, their labs, hints, mistakes, anchor pieces.

Each ``weeks/NN-topic/week.yaml`` describes one week. Nothing here is copied into the learner's
``tracker.yaml``: progress there is keyed on stable lab ids, so the course can add, reorder or
rename content without losing anyone's history.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from ruamel.yaml import YAML

from course.paths import NOTEBOOKS_DIR, WEEKS_DIR

WEEK_FOLDER = re.compile(r"^(?P<number>\d{2})-(?P<slug>[a-z0-9-]+)$")

# The seed plan's "Anchor Project (MANDATORY)" list, plus its optional ML add-on.
ANCHOR_MILESTONES: dict[str, str] = {
    "auth": "Auth",
    "postgres-redis": "Postgres + Redis",
    "async-endpoints": "Async endpoints",
    "background-jobs": "Background jobs",
    "dockerized": "Dockerized",
    "deployed": "Deployed",
    "readme-diagram": "README with architecture diagram",
}


class CurriculumError(ValueError):
    """A week.yaml that does not describe a week; the message names the file."""


class Lab(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9-]+/[a-z0-9-]+$")
    title: str
    tests: str = Field(pattern=r"^test_[a-z0-9_]+\.py$")
    files: list[str] = []
    anchor: list[str] = []


class Mistake(BaseModel):
    """A realistic wrong implementation that must fail the test it is named for."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    replaces: str
    fails: str
    hint: str


class Week(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: int
    slug: str
    folder: Path
    title: str
    summary: str
    goals: list[str] = []
    package: str | None = None
    labs: list[Lab] = []
    hints: dict[str, str] = {}
    mistakes: list[Mistake] = []

    @property
    def code(self) -> str:
        """The two-digit week number learners type: ``05``."""
        return f"{self.number:02d}"

    @property
    def has_lab(self) -> bool:
        return bool(self.labs)

    @property
    def notebook(self) -> Path:
        return NOTEBOOKS_DIR / f"{self.folder.name}.ipynb"

    def lab_for_test_file(self, filename: str) -> Lab | None:
        return next((lab for lab in self.labs if lab.tests == filename), None)

    def hint_for(self, test_id: str) -> str | None:
        """The hint for ``test_file.py::test_name`` — from hints, then from a named mistake."""
        if test_id in self.hints:
            return self.hints[test_id]
        return next((m.hint for m in self.mistakes if m.fails == test_id), None)


def _load_week(folder: Path) -> Week:
    match = WEEK_FOLDER.match(folder.name)
    if not match:
        raise CurriculumError(f"{folder}: week folders are named NN-topic, e.g. 05-redis")
    meta_file = folder / "week.yaml"
    try:
        meta = YAML(typ="safe").load(meta_file.read_text()) or {}
        return Week(number=int(match["number"]), slug=match["slug"], folder=folder, **meta)
    except FileNotFoundError as exc:
        raise CurriculumError(f"{meta_file}: missing") from exc
    except Exception as exc:
        raise CurriculumError(f"{meta_file}: {exc}") from exc


@functools.cache
def weeks(root: Path = WEEKS_DIR) -> tuple[Week, ...]:
    """Every week in the repository, in order."""
    folders = sorted(p for p in root.iterdir() if p.is_dir() and WEEK_FOLDER.match(p.name))
    return tuple(_load_week(folder) for folder in folders)


def week(number: int | str) -> Week:
    """Week ``number`` (``5``, ``"05"``); raises ``LookupError`` with the valid range."""
    all_weeks = weeks()
    try:
        wanted = int(number)
    except (TypeError, ValueError):
        wanted = -1
    for candidate in all_weeks:
        if candidate.number == wanted:
            return candidate
    first, last = all_weeks[0].code, all_weeks[-1].code
    raise LookupError(f"There is no week {number!s}: weeks run from {first} to {last}.")


def all_labs() -> list[tuple[Week, Lab]]:
    return [(w, lab) for w in weeks() for lab in w.labs]

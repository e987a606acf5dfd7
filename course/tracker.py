"""``tracker.yaml``: the learner's plan and progress — loaded, validated and updated safely.

The file belongs to the learner. Edits go through ruamel.yaml's round-trip mode so comments and
ordering survive; every update is a read-modify-write under a lock file beside the tracker, so
two processes recording at once (``course watch`` in one terminal, ``pytest`` in another) never
lose each other's records; writes are atomic (temp file, fsync, rename) so a crash never leaves
half a file; an invalid file raises :class:`TrackerError` naming the file and line and is never
rewritten. A lab's first pass is recorded once and kept forever — a later failing run updates
``last`` but cannot take the achievement away.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import io
import os
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from course.errors import CourseError
from course.paths import REPO_ROOT

TRACKER_ENV = "COURSE_TRACKER"

# The course ships this file as tracker.yaml at the top of the repository, so a fresh clone shows
# it and `course status` works at once. `start` and `target` stay empty until the learner's clock
# starts: their first `course start` or first recorded lab run fills both in.
TEMPLATE = """\
# Backend Semester — your plan and your progress. This file is yours: commit it.
# Your first `course start` or `pytest weeks/NN` fills in start and target; lab runs write
# `labs:` (a first pass is kept forever); you fill in `deliverables:` (or `course deliverable`).
# Comments you add here are kept.
start:              # the day you began
target:             # the day you mean to finish: May 31 by default (the seed plan's deadline)
labs: {}
deliverables:
  public_url: ""  # week 12: the URL where your deployed service answers
  resume: false  # week 16: resume rewritten around impact (true when done)
  design_stories: 0  # week 11: system-design answers you can give cold (of 3)
  dsa_solved: 0  # week 16: DSA problems solved (goal: 50-70), counted by `pytest weeks/16`
"""


class TrackerError(CourseError, ValueError):
    """tracker.yaml cannot be used as it is; the message says where and how to fix it."""


class LabRun(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["passed", "failing"]
    passed: int = Field(ge=0)
    total: int = Field(ge=0)
    at: dt.datetime
    commit: str = ""


class LabProgress(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_passed: dt.datetime | None = None
    commit: str = ""
    last: LabRun | None = None


class Deliverables(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public_url: str = ""
    resume: bool = False
    design_stories: int = Field(default=0, ge=0, le=3)
    dsa_solved: int = Field(default=0, ge=0)


class ProblemProgress(BaseModel):
    """One week-16 problem: solved once all its tests passed in one run (kept forever), and the last run."""

    model_config = ConfigDict(extra="forbid")

    first_solved: dt.datetime | None = None
    last: Literal["passed", "failing"]
    at: dt.datetime


class InterviewSession(BaseModel):
    """One `course interview` drill: when, how long it was meant to take, what was asked."""

    model_config = ConfigDict(extra="forbid")

    at: dt.datetime
    minutes: int = Field(ge=1)
    questions: list[str]


class Tracker(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: dt.date | None = None  # None until the learner's first `course start` or lab run
    target: dt.date | None = None
    labs: dict[str, LabProgress] = {}
    deliverables: Deliverables = Deliverables()
    dsa: dict[str, ProblemProgress] = {}  # week 16's problems, written by `pytest weeks/16`
    interviews: list[InterviewSession] = []  # `course interview` drills, oldest first

    def solved(self, problem_id: str) -> bool:
        progress = self.dsa.get(problem_id)
        return progress is not None and progress.first_solved is not None

    def passed(self, lab_id: str) -> bool:
        progress = self.labs.get(lab_id)
        return progress is not None and progress.first_passed is not None


def tracker_path() -> Path:
    override = os.environ.get(TRACKER_ENV)
    return Path(override) if override else REPO_ROOT / "tracker.yaml"


def default_target(today: dt.date) -> dt.date:
    """May 31 of the coming semester: this year's if it is still ahead, else next year's."""
    this_year = dt.date(today.year, 5, 31)
    return this_year if today <= this_year else dt.date(today.year + 1, 5, 31)


def _yaml() -> YAML:
    yaml = YAML()  # round-trip: keeps comments, order and quoting
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _line_of(doc: Any, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the deepest key in ``loc`` that the YAML document still has."""
    line = None
    node = doc
    for key in loc:
        if isinstance(node, CommentedMap) and key in node:
            line = node.lc.key(key)[0] + 1
            node = node[key]
        else:
            break
    return line


def _parse(path: Path, text: str) -> tuple[CommentedMap, Tracker]:
    try:
        doc = _yaml().load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "somewhere"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise TrackerError(
            f"{path}: {where}: not valid YAML ({problem}).\n"
            "  The file was left as it is. Fix that line (often an indentation or a missing ':'),"
            " or compare with `git diff tracker.yaml`."
        ) from exc
    if not isinstance(doc, CommentedMap):
        raise TrackerError(f"{path}: expected a mapping with start, target, labs and deliverables.")
    try:
        return doc, Tracker.model_validate(dict(doc))
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        line = _line_of(doc, loc)
        field = ".".join(str(part) for part in loc) or "(top level)"
        where = f"line {line}: " if line else ""
        raise TrackerError(
            f"{path}: {where}{field}: {first['msg']}.\n"
            "  The file was left as it is. Fix that value and run the command again."
        ) from exc


def create(path: Path | None = None, today: dt.date | None = None) -> Tracker:
    """Start the learner's clock: write a tracker if there is none, fill in an empty start date.

    A tracker that already has a start date is never changed — `course start` may run any
    number of times.
    """
    path = path or tracker_path()
    with _locked(path):
        doc = _read_for_update(path)
        return _write(path, doc) if _start_clock(doc, today or dt.date.today()) else load(path)


def load(path: Path | None = None) -> Tracker:
    path = path or tracker_path()
    if not path.exists():
        raise TrackerError(f"{path}: not found. `git checkout tracker.yaml` restores the course's copy;"
                           " `course start` (or `make start`) writes a fresh one.")
    return _parse(path, path.read_text())[1]


def current_commit() -> str:
    """Short hash of HEAD, or "" outside a git checkout."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=5)
        if out.returncode == 0:
            return out.stdout.strip()
    return ""


def record_runs(runs: dict[str, LabRun], path: Path | None = None) -> Tracker:
    """Record lab results; a first pass is stamped once and never removed.

    The first recorded run also starts the learner's clock if `course start` has not.
    """
    path = path or tracker_path()
    with _locked(path):
        doc = _read_for_update(path)
        if runs:
            _start_clock(doc, min(run.at for run in runs.values()).astimezone().date())  # local day
        labs = doc.get("labs")
        if not isinstance(labs, CommentedMap):
            labs = CommentedMap()
            doc["labs"] = labs
        for lab_id, run in runs.items():
            entry = labs.get(lab_id)
            if not isinstance(entry, CommentedMap):
                entry = CommentedMap()
                labs[lab_id] = entry
            if run.outcome == "passed" and not entry.get("first_passed"):
                entry["first_passed"] = run.at
                entry["commit"] = run.commit
            entry["last"] = CommentedMap(run.model_dump(mode="json"))
        return _write(path, doc)


def record_problems(results: dict[str, bool], at: dt.datetime, path: Path | None = None) -> Tracker:
    """Record week-16 problems (True: every test passed); a first solve is kept forever.

    ``deliverables.dsa_solved`` follows the count, so the file says the same thing everywhere.
    """
    path = path or tracker_path()
    with _locked(path):
        doc = _read_for_update(path)
        if results:
            _start_clock(doc, at.astimezone().date())
        dsa = doc.get("dsa")
        if not isinstance(dsa, CommentedMap):
            dsa = CommentedMap()
            doc["dsa"] = dsa
        for problem_id, solved in results.items():
            entry = dsa.get(problem_id)
            if not isinstance(entry, CommentedMap):
                entry = CommentedMap()
                dsa[problem_id] = entry
            if solved and not entry.get("first_solved"):
                entry["first_solved"] = at.replace()  # a copy each: one shared object becomes a YAML alias
            entry["last"] = "passed" if solved else "failing"
            entry["at"] = at.replace()
        solved_count = sum(1 for entry in dsa.values() if entry.get("first_solved"))
        doc.setdefault("deliverables", CommentedMap())["dsa_solved"] = solved_count
        return _write(path, doc)


def record_interview(session: InterviewSession, path: Path | None = None) -> Tracker:
    """Append one interview drill to the tracker's ``interviews:`` list."""
    path = path or tracker_path()
    with _locked(path):
        doc = _read_for_update(path)
        sessions = doc.get("interviews")
        if not isinstance(sessions, list):
            sessions = CommentedSeq()
            doc["interviews"] = sessions
        sessions.append(CommentedMap(session.model_dump(mode="json")))
        return _write(path, doc)


COUNTED = {"dsa_solved": "counted from your test runs now: `pytest weeks/16` records each problem whose "
                         "tests all pass, and `course status` shows the count"}


def set_deliverable(name: str, value: str, path: Path | None = None) -> Tracker:
    """Set one deliverable from text typed on the command line, keeping comments."""
    fields = Deliverables.model_fields
    if name in COUNTED:
        raise TrackerError(f"{name} is {COUNTED[name]}.")
    if name not in fields:
        raise TrackerError(f"No deliverable '{name}'. Choose one of: {', '.join(fields)}.")
    path = path or tracker_path()
    with _locked(path):
        doc = _read_for_update(path)
        current = doc.setdefault("deliverables", CommentedMap())
        candidate = Tracker.model_validate(dict(doc)).deliverables.model_dump() | {name: value}
        try:
            checked = Deliverables.model_validate(candidate)
        except ValidationError as exc:
            raise TrackerError(f"deliverables.{name}: {exc.errors()[0]['msg']}.") from exc
        current[name] = getattr(checked, name)
        return _write(path, doc)


# --------------------------------------------------------------------------- safe updates


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold the tracker's lock: one read-modify-write at a time, across processes.

    A learner may run `course watch 05` in one terminal and `pytest weeks/07` in another; without
    the lock, each reads the file, adds its records and writes — and the slower writer silently
    drops the faster one's. The lock lives in its own file beside the tracker because the
    tracker itself is replaced (not rewritten) by every atomic write.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read_for_update(path: Path) -> CommentedMap:
    """The tracker as a round-trip document, read under the lock (the course's template if absent)."""
    text = path.read_text() if path.exists() else TEMPLATE
    return _parse(path, text)[0]


def _start_clock(doc: CommentedMap, today: dt.date) -> bool:
    """Fill in an empty start date (and target); True if the document changed."""
    if doc.get("start") is not None:
        return False
    doc["start"] = today
    if doc.get("target") is None:
        doc["target"] = default_target(today)
    return True


def _write(path: Path, doc: CommentedMap) -> Tracker:
    """Write ``doc`` atomically — only after reading it back as a valid tracker."""
    buffer = io.StringIO()
    _yaml().dump(doc, buffer)
    text = buffer.getvalue()
    updated = _parse(path, text)[1]  # never write what we could not read back
    _atomic_write(path, text)
    return updated


def _atomic_write(path: Path, text: str) -> None:
    """Temp file, fsync, rename: a reader or a crash sees the old file or the new one, never half."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); the tracker keeps the mode it had (or 0644).
        os.chmod(tmp, stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise

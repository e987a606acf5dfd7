"""Prove a week's lab: the solution passes, the pristine starter fails, every named mistake fails.

Each check runs the week's *unchanged* test files in a pytest subprocess (the way a learner runs
them) against a different package under test, and reads the per-test outcomes from JUnit XML.

    python -m course.proof 05            # prove week 05
    python -m course.proof --freeze-starters 05   # record week 05's pristine starter checksums
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from course import curriculum
from course.curriculum import Mistake, Week
from course.plugin import RECORD_ENV
from course.target import LAB_PATH_ENV, REPO_ROOT, labs_dir, solutions_dir

MANIFESTS = REPO_ROOT / "tests" / "starters"


@dataclass(frozen=True)
class Run:
    """Outcome per test (``file.py::test_name[param]`` → passed/failed/skipped) plus the log."""

    outcomes: dict[str, str]
    output: str
    returncode: int

    def with_outcome(self, outcome: str) -> list[str]:
        return sorted(name for name, result in self.outcomes.items() if result == outcome)


def run_week(week: Week, package_root: Path, select: str | None = None,
             timeout: float = 600) -> Run:
    """Run week ``week``'s tests (or the one ``select``-ed) with ``labs`` → ``package_root``."""
    target = str(week.folder / select) if select else str(week.folder)
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "junit.xml"
        env = os.environ | {LAB_PATH_ENV: str(package_root), RECORD_ENV: "0"}
        env.pop("PYTEST_XDIST_WORKER", None)
        env.pop("PYTEST_CURRENT_TEST", None)
        completed = subprocess.run(
            [sys.executable, "-m", "pytest", target, "-q", "-p", "no:cacheprovider",
             f"--junitxml={junit}", "-o", "junit_family=xunit2"],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout,
        )
        outcomes = _read_junit(junit) if junit.exists() else {}
    return Run(outcomes, completed.stdout + completed.stderr, completed.returncode)


def _read_junit(path: Path) -> dict[str, str]:
    outcomes = {}
    for case in ET.parse(path).iter("testcase"):
        module = case.get("classname", "").rsplit(".", 1)[-1]
        name = f"{module}.py::{case.get('name')}"
        kinds = {child.tag for child in case}
        if kinds & {"failure", "error"}:
            outcomes[name] = "failed"
        elif "skipped" in kinds:
            outcomes[name] = "skipped"
        else:
            outcomes[name] = "passed"
    return outcomes


# --------------------------------------------------------------------------- pristine starters


def _lab_files(week: Week) -> list[Path]:
    root = labs_dir() / (week.package or "")
    return sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                  and p.suffix != ".pyc")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_path(week: Week) -> Path:
    return MANIFESTS / f"{week.package}.sha256"


def read_manifest(week: Week) -> dict[str, str]:
    path = manifest_path(week)
    if not path.exists():
        return {}
    pairs = (line.split(maxsplit=1) for line in path.read_text().splitlines() if line.strip())
    return {name.strip(): digest for digest, name in pairs}


def starter_changes(week: Week) -> list[str]:
    """Files of the week's starter that differ from the recorded pristine ones (empty = pristine)."""
    manifest = read_manifest(week)
    present = {str(p.relative_to(REPO_ROOT)): _digest(p) for p in _lab_files(week)}
    changed = [name for name, digest in present.items() if manifest.get(name) != digest]
    missing = [name for name in manifest if name not in present]
    return sorted(changed + missing)


def freeze_starters(week: Week) -> int:
    """Record the week's starter files as pristine: the proof suite tests them only while they match."""
    lines = [f"{_digest(p)}  {p.relative_to(REPO_ROOT)}" for p in _lab_files(week)]
    MANIFESTS.mkdir(parents=True, exist_ok=True)
    manifest_path(week).write_text("\n".join(lines) + "\n")
    return len(lines)


# --------------------------------------------------------------------------- the three proofs


def prove_solution(week: Week, run: Run | None = None) -> list[str]:
    """Problems with the reference solution (empty list = proven)."""
    run = run or run_week(week, solutions_dir())
    if not run.outcomes:
        return [f"week {week.code}: no tests ran against solutions/.\n{run.output[-3000:]}"]
    failed = run.with_outcome("failed")
    return [f"week {week.code}: fails on the solution: {name}" for name in failed] + (
        [run.output[-6000:]] if failed else [])


def prove_starter(week: Week, reference: Run | None = None) -> list[str]:
    """Every test must fail on the pristine starter (skips allowed only where the solution skips)."""
    starter = run_week(week, labs_dir())
    reference = reference or run_week(week, solutions_dir())
    problems = []
    for name, outcome in sorted(reference.outcomes.items()):
        got = starter.outcomes.get(name, "missing")
        if outcome == "skipped" or got == "failed":
            continue
        problems.append(f"week {week.code}: {name} {got} on the untouched starter — a test that "
                        "does not fail there proves nothing")
    return problems


def mistake_file(week: Week, mistake: Mistake) -> Path:
    """``mistakes/<name>`` with the replaced file's kind: ``.py``, ``.yaml``, or ``.Dockerfile``."""
    replaced = Path(mistake.replaces)
    suffix = replaced.suffix or f".{replaced.name}"
    return solutions_dir() / (week.package or "") / "mistakes" / f"{mistake.name}{suffix}"


def prove_mistake(week: Week, mistake: Mistake) -> list[str]:
    """The mistake, swapped into a copy of the solution, must fail the test it is named for."""
    source = mistake_file(week, mistake)
    if not source.exists():
        return [f"week {week.code}: mistake file {source.relative_to(REPO_ROOT)} is missing"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "solutions"
        shutil.copytree(solutions_dir() / (week.package or ""), root / (week.package or ""),
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(solutions_dir() / "__init__.py", root / "__init__.py")
        shutil.copy(source, root / (week.package or "") / mistake.replaces)
        run = run_week(week, root, select=mistake.fails)
    target = mistake.fails
    matching = {n: o for n, o in run.outcomes.items() if n == target or n.startswith(target + "[")}
    if not matching:
        return [f"week {week.code}: mistake {mistake.name}: test {target} did not run.\n"
                f"{run.output[-3000:]}"]
    if "failed" not in matching.values():
        return [f"week {week.code}: mistake {mistake.name} passes {target} — the test does not "
                "catch it"]
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.proof", description=__doc__)
    parser.add_argument("weeks", nargs="*", help="week numbers (default: every week with a lab)")
    parser.add_argument("--freeze-starters", action="store_true",
                        help="record the chosen weeks' starter checksums in tests/starters/")
    args = parser.parse_args(argv)
    chosen = [curriculum.week(n) for n in args.weeks] or [w for w in curriculum.weeks() if w.has_lab]
    if args.freeze_starters:
        for week in chosen:
            print(f"week {week.code}: recorded {freeze_starters(week)} starter files")
        return 0
    problems: list[str] = []
    for week in chosen:
        print(f"week {week.code}: solution …", flush=True)
        reference = run_week(week, solutions_dir())
        problems += prove_solution(week, reference)
        print(f"week {week.code}: starter …", flush=True)
        problems += prove_starter(week, reference)
        for mistake in week.mistakes:
            print(f"week {week.code}: mistake {mistake.name} …", flush=True)
            problems += prove_mistake(week, mistake)
        if changes := starter_changes(week):
            problems.append(f"week {week.code}: starters differ from {manifest_path(week).name}: "
                            f"{changes} — run `python -m course.proof --freeze-starters {week.code}`")
    print("\n".join(problems) if problems else "proven")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

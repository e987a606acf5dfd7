"""Prove a week's lab: the solution passes, the pristine starter fails, every named mistake is caught.

Each check runs the week's *unchanged* test files in a pytest subprocess (the way a learner runs
them) against a different package under test, and reads how every test ended from the
``course.probe`` plugin loaded into that run.

A named mistake is stored as a unified diff against the solution file it replaces
(``solutions/<package>/mistakes/<name>.diff``) and applied with ``git apply`` to a copy of the
solution at proof time: a fix to the solution reaches every mistake, and a diff that no longer
applies fails the proof by name. The mistake is proven only when the test it names fails *by its
own assertion*; a mistake that makes the test crash is reported as a defect of the course.

    python -m course.proof 05                      # prove week 05
    python -m course.proof 05 --jobs 2             # … two checks at a time
    python -m course.proof --freeze-starters 05    # record week 05's pristine starter checksums
    python -m course.proof --record-mistake 05 no_ttl /tmp/cache.py   # write mistakes/no_ttl.diff
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from course import curriculum, paths
from course.curriculum import Mistake, Week
from course.plugin import RECORD_ENV
from course.probe import REPORT_ENV
from course.target import LAB_PATH_ENV

# pytest plugins a week's tests only need when they name them: each costs start-up time in every
# one of the proof's subprocesses (hypothesis alone is ~0.7 s).
OPTIONAL_PLUGINS = {"hypothesispytest": "hypothesis", "locust": "locust", "benchmark": "benchmark",
                    "xdist": "xdist", "xdist.looponfail": "xdist"}


class ProofError(Exception):
    """A mistake that cannot be recorded or applied; the message names it and the file."""


# --------------------------------------------------------------------------- running a week


@dataclass(frozen=True)
class Run:
    """How each test (``file.py::test_name[param]``) ended against one package, plus the log.

    ``outcomes`` maps a test to passed/failed/skipped; ``crashes`` lists, per failed test, each
    exception its own check did not raise (``setup: TypeError: …``); ``caught`` holds the tests
    whose call failed by their own assertion; ``collect_errors`` maps a test file to its error.
    """

    outcomes: dict[str, str]
    output: str
    returncode: int
    crashes: dict[str, list[str]] = field(default_factory=dict)
    caught: frozenset[str] = frozenset()
    collect_errors: dict[str, str] = field(default_factory=dict)
    timed_out: bool = False

    def with_outcome(self, outcome: str) -> list[str]:
        return sorted(name for name, result in self.outcomes.items() if result == outcome)


def _plugin_options(week: Week) -> list[str]:
    """``-p no:X`` for every optional plugin the week's tests never mention."""
    source = "\n".join(p.read_text(errors="replace") for p in sorted(week.folder.glob("*.py")))
    return [arg for plugin, word in OPTIONAL_PLUGINS.items() if word not in source
            for arg in ("-p", f"no:{plugin}")]


def run_week(week: Week, package_root: Path, select: Iterable[str] = (),
             timeout_s: float = 600) -> Run:
    """Run week ``week``'s tests (or only the node ids ``select``-ed) with ``labs`` → ``package_root``."""
    targets = [str(week.folder / node) for node in select] or [str(week.folder)]
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "outcomes.jsonl"
        env = os.environ | {LAB_PATH_ENV: str(package_root), RECORD_ENV: "0", REPORT_ENV: str(report)}
        for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_TESTRUNUID", "PYTEST_CURRENT_TEST",
                     "PYTEST_ADDOPTS"):
            env.pop(name, None)
        command = [sys.executable, "-m", "pytest", *targets, "-q", "-p", "no:cacheprovider",
                   "-p", "course.probe", *_plugin_options(week)]
        timed_out = False
        with subprocess.Popen(command, cwd=paths.REPO_ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True) as process:
            try:
                output, _ = process.communicate(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                os.killpg(process.pid, signal.SIGKILL)  # the run and every server it started
                output, _ = process.communicate()
                output += f"\n[course.proof: stopped after {timeout_s:.0f} s]"
        records = [json.loads(line) for line in report.read_text().splitlines()] if report.exists() else []
    return _summarise(records, output, process.returncode, timed_out)


def _summarise(records: list[dict[str, object]], output: str, returncode: int,
               timed_out: bool) -> Run:
    outcomes: dict[str, str] = {}
    crashes: dict[str, list[str]] = {}
    caught: set[str] = set()
    collect_errors: dict[str, str] = {}
    for record in records:
        name, when, outcome = str(record["test"]), str(record["when"]), str(record["outcome"])
        if when == "collect":
            collect_errors[name] = str(record["raised"])
            continue
        if outcome == "failed":
            outcomes[name] = "failed"
            if record["caught"]:
                caught.add(name)
            else:
                crashes.setdefault(name, []).append(f"{when}: {record['raised']}")
        elif outcome == "skipped" and outcomes.get(name) != "failed":
            outcomes[name] = "skipped"
        else:
            outcomes.setdefault(name, "passed")
    return Run(outcomes, output, returncode, crashes, frozenset(caught), collect_errors, timed_out)


# --------------------------------------------------------------------------- pristine starters


def _lab_files(week: Week) -> list[Path]:
    root = paths.lab_package_dir(week.package or "")
    return sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                  and p.suffix != ".pyc")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_path(week: Week) -> Path:
    return paths.STARTER_MANIFESTS_DIR / f"{week.package}.sha256"


def read_manifest(week: Week) -> dict[str, str]:
    path = manifest_path(week)
    if not path.exists():
        return {}
    pairs = (line.split(maxsplit=1) for line in path.read_text().splitlines() if line.strip())
    return {name.strip(): digest for digest, name in pairs}


def starter_changes(week: Week) -> list[str]:
    """Files of the week's starter that differ from the recorded pristine ones (empty = pristine)."""
    manifest = read_manifest(week)
    present = {_repo_relative(p): _digest(p) for p in _lab_files(week)}
    changed = [name for name, digest in present.items() if manifest.get(name) != digest]
    missing = [name for name in manifest if name not in present]
    return sorted(changed + missing)


def freeze_starters(week: Week) -> int:
    """Record the week's starter files as pristine: the proof suite tests them only while they match."""
    lines = [f"{_digest(p)}  {_repo_relative(p)}" for p in _lab_files(week)]
    paths.STARTER_MANIFESTS_DIR.mkdir(parents=True, exist_ok=True)
    manifest_path(week).write_text("\n".join(lines) + "\n")
    return len(lines)


# --------------------------------------------------------------------------- the solution and the starter


def prove_solution(week: Week, run: Run | None = None) -> list[str]:
    """Problems with the reference solution (empty list = proven)."""
    run = run or run_week(week, paths.SOLUTIONS_DIR)
    if not run.outcomes:
        return [f"week {week.code}: no tests ran against solutions/.\n{run.output[-3000:]}"]
    failed = run.with_outcome("failed")
    problems = [f"week {week.code}: fails on the solution: {name}" for name in failed]
    problems += [f"week {week.code}: {name} does not collect on the solution: {error}"
                 for name, error in sorted(run.collect_errors.items())]
    return problems + ([run.output[-6000:]] if problems else [])


def shares_package(week: Week) -> bool:
    """Whether other weeks build the same package (the anchor: weeks 13–15)."""
    return sum(1 for other in curriculum.weeks() if other.package == week.package) > 1


def week_files(week: Week) -> list[str]:
    """The package files the week's labs ask the learner to write, in order, once each."""
    return list(dict.fromkeys(name for lab in week.labs for name in lab.files))


def run_starter(week: Week) -> Run:
    """Run the week against its starter.

    A package of its own is run as ``labs/`` holds it. A package several weeks build is run as
    *this week's* starter: the reference with only this week's files taken from ``labs/``, so
    week 14's tests fail for week 14's reasons, not because week 13's stubs are still there.
    """
    if not shares_package(week):
        return run_week(week, paths.LABS_DIR)
    package = week.package or ""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(paths.solution_package_dir(package), root / package,
                        ignore=shutil.ignore_patterns("__pycache__", paths.MISTAKES_FOLDER))
        shutil.copy(paths.SOLUTIONS_DIR / "__init__.py", root / "__init__.py")
        for name in week_files(week):
            target = root / package / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(paths.lab_package_dir(package) / name, target)
        return run_week(week, root)


def prove_starter(week: Week, reference: Run | None = None, starter: Run | None = None) -> list[str]:
    """Every test must fail on the pristine starter (skips allowed only where the solution skips)."""
    starter = starter or run_starter(week)
    reference = reference or run_week(week, paths.SOLUTIONS_DIR)
    problems = []
    for name, outcome in sorted(reference.outcomes.items()):
        got = starter.outcomes.get(name, "missing")
        if outcome == "skipped" or got == "failed":
            continue
        problems.append(f"week {week.code}: {name} {got} on the untouched starter — a test that "
                        "does not fail there proves nothing")
    return problems


# --------------------------------------------------------------------------- named mistakes


def mistake_diff(week: Week, mistake: Mistake) -> Path:
    """``solutions/<package>/mistakes/<name>.diff``: the mistake as a change to one solution file."""
    return paths.mistakes_dir(week.package or "") / f"{mistake.name}.diff"


def replaced_file(week: Week, mistake: Mistake) -> Path:
    """The solution file the mistake stands in for."""
    return paths.solution_package_dir(week.package or "") / mistake.replaces


def _repo_relative(path: Path) -> str:
    return paths.relative(path)


def diff_name(week: Week, mistake: Mistake) -> str:
    """The replaced file as a mistake's diff names it: ``solutions/<package>/<replaces>``."""
    return f"{paths.SOLUTIONS_DIR.name}/{week.package}/{mistake.replaces}"


def make_diff(original: str, edited: str, name: str) -> str:
    """A unified diff ``git apply`` accepts, from ``original`` to ``edited`` of file ``name``.

    ``name`` is repository-relative, so ``git apply`` of the diff in a checkout shows the mistake
    in place (``git apply -R`` takes it back). A last line without a newline gets git's marker.
    """
    lines = difflib.unified_diff(original.splitlines(keepends=True), edited.splitlines(keepends=True),
                                 f"a/{name}", f"b/{name}")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)


def files_changed(diff: str) -> list[str]:
    """The files a unified diff changes, as named on its ``+++ b/…`` lines."""
    return [line[len("+++ b/"):].split("\t")[0].rstrip("\n") for line in diff.splitlines()
            if line.startswith("+++ b/")]


def apply_diff(diff: Path, root: Path) -> None:
    """Apply ``diff`` to the tree at ``root`` (a copy laid out like the repository) with ``git apply``.

    ``GIT_CEILING_DIRECTORIES`` keeps git from finding a repository above ``root``, so the paths
    in the diff are read relative to ``root`` wherever the temporary folder lives.
    """
    env = os.environ | {"GIT_CEILING_DIRECTORIES": str(root.parent)}
    try:
        done = subprocess.run(["git", "apply", "--whitespace=nowarn", str(diff.resolve())], cwd=root,
                              env=env, capture_output=True, text=True, timeout=60)
    except FileNotFoundError as exc:
        raise ProofError("git is not installed: the proof applies mistakes with `git apply`") from exc
    if done.returncode != 0:
        raise ProofError(done.stderr.strip() or done.stdout.strip())


def _text(path: Path) -> str:
    """The file's text exactly, line endings included (``read_text`` would translate them)."""
    return path.read_bytes().decode()


def _check_targets(week: Week, mistake: Mistake, diff: Path) -> None:
    expected = diff_name(week, mistake)
    changed = files_changed(_text(diff))
    if changed != [expected]:
        raise ProofError(f"{_repo_relative(diff)} must change exactly {expected} (week.yaml's "
                         f"`replaces`); it changes {changed or 'nothing'}")


def prove_mistake(week: Week, mistake: Mistake, timeout_s: float = 300) -> list[str]:
    """The mistake, applied to a copy of the solution, must fail its test by the test's own check."""
    label = f"week {week.code}: mistake {mistake.name}"
    diff = mistake_diff(week, mistake)
    if not diff.is_file():
        return [f"{label}: {_repo_relative(diff)} is missing — make the mistake in a copy of "
                f"{_repo_relative(replaced_file(week, mistake))}, then: python -m course.proof "
                f"--record-mistake {week.code} {mistake.name} EDITED_FILE"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        package = week.package or ""
        copy = root / paths.SOLUTIONS_DIR.name  # laid out like the repository: the diff's paths fit
        shutil.copytree(paths.solution_package_dir(package), copy / package,
                        ignore=shutil.ignore_patterns("__pycache__", paths.MISTAKES_FOLDER))
        shutil.copy(paths.SOLUTIONS_DIR / "__init__.py", copy / "__init__.py")
        try:
            _check_targets(week, mistake, diff)
            apply_diff(diff, root)
        except ProofError as exc:
            return [f"{label}: {_repo_relative(diff)} no longer applies to "
                    f"{_repo_relative(replaced_file(week, mistake))}: {exc}\n  Re-create it from an "
                    f"edited copy: python -m course.proof --record-mistake {week.code} "
                    f"{mistake.name} EDITED_FILE"]
        run = run_week(week, copy, select=[mistake.fails], timeout_s=timeout_s)
    return judge_mistake(label, mistake.fails, run)


def judge_mistake(label: str, target: str, run: Run) -> list[str]:
    """Caught (empty list), or what went wrong: it passed, it crashed, it never ran."""
    if run.timed_out:
        return [f"{label}: {target} did not finish (a defect of the course: a mistake must fail "
                f"by an assertion, not hang).\n{run.output[-2000:]}"]
    test_file = target.split("::")[0]
    if test_file in run.collect_errors:
        return [f"{label}: {test_file} does not even collect — a defect of the course, not a caught "
                f"mistake: {run.collect_errors[test_file]}"]
    matching = {n: o for n, o in run.outcomes.items() if n == target or n.startswith(target + "[")}
    if not matching:
        return [f"{label}: test {target} did not run.\n{run.output[-3000:]}"]
    crashed = {name: run.crashes[name] for name in matching if name in run.crashes}
    if crashed:
        raised = "; ".join(f"{name}: {', '.join(what)}" for name, what in sorted(crashed.items()))
        return [f"{label} errors instead of failing an assertion of {target} — a defect of the "
                f"course (the test must catch it with `assert …, \"message\"` or pytest.fail, or the "
                f"mistake no longer fits the solution). Raised: {raised}"]
    if not any(name in run.caught for name in matching):
        return [f"{label} passes {target} — the test does not catch it"]
    return []


# --------------------------------------------------------------------------- authoring mistakes


def record_mistake(week: Week, name: str, edited: Path) -> Path:
    """Write ``mistakes/<name>.diff`` from an edited copy of the solution file week.yaml names."""
    mistake = next((m for m in week.mistakes if m.name == name), None)
    if mistake is None:
        known = ", ".join(m.name for m in week.mistakes) or "none"
        raise ProofError(f"week {week.code} has no mistake named {name!r} in week.yaml "
                         f"(add its name, replaces, fails and hint first); it has: {known}")
    source = edited
    original = replaced_file(week, mistake)
    diff_text = make_diff(_text(original), _text(source), diff_name(week, mistake))
    if not diff_text:
        raise ProofError(f"{source} is identical to {_repo_relative(original)}: no mistake in it")
    target = mistake_diff(week, mistake)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(diff_text.encode())
    with tempfile.TemporaryDirectory() as tmp:  # the diff must reproduce the edited file exactly
        twin = Path(tmp) / diff_name(week, mistake)
        twin.parent.mkdir(parents=True)
        shutil.copy(original, twin)
        apply_diff(target, Path(tmp))
        if twin.read_bytes() != source.read_bytes():
            target.unlink()
            raise ProofError(f"the diff of {source} does not reproduce it; nothing written")
    return target


def _record(args: list[str]) -> int:
    if len(args) != 3:
        print("usage: python -m course.proof --record-mistake NN NAME EDITED_FILE", file=sys.stderr)
        return 2
    try:
        print(f"wrote {_repo_relative(record_mistake(curriculum.week(args[0]), args[1], Path(args[2])))}")
    except (ProofError, OSError) as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return 1
    return 0


# --------------------------------------------------------------------------- the command


def prove_week(week: Week, jobs: int = 1, say: Callable[[str], None] = print) -> list[str]:
    """Every check of one week, ``jobs`` at a time; the problems found (empty = proven)."""
    with ThreadPoolExecutor(max_workers=max(jobs, 1)) as pool:
        say(f"week {week.code}: solution, starter, {len(week.mistakes)} mistakes …")
        reference = pool.submit(run_week, week, paths.SOLUTIONS_DIR)
        starter = pool.submit(run_starter, week)
        mistakes = [pool.submit(prove_mistake, week, mistake) for mistake in week.mistakes]
        problems = prove_solution(week, reference.result())
        problems += prove_starter(week, reference.result(), starter.result())
        for mistake, result in zip(week.mistakes, mistakes, strict=True):
            found = result.result()
            say(f"week {week.code}: mistake {mistake.name} {'✗' if found else '✓'}")
            problems += found
    if changes := starter_changes(week):
        problems.append(f"week {week.code}: starters differ from {manifest_path(week).name}: "
                        f"{changes} — run `python -m course.proof --freeze-starters {week.code}`")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.proof", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("weeks", nargs="*", help="week numbers (default: every week with a lab)")
    parser.add_argument("--freeze-starters", action="store_true",
                        help="record the chosen weeks' starter checksums in tests/starters/")
    parser.add_argument("--record-mistake", action="store_true",
                        help="NN NAME EDITED_FILE: write solutions/<package>/mistakes/NAME.diff "
                             "from EDITED_FILE, an edited copy of the solution file NAME replaces")
    parser.add_argument("-j", "--jobs", type=int, default=1,
                        help="checks run at a time (default 1; timing tests want a quiet machine)")
    args = parser.parse_args(argv)
    if args.record_mistake:
        return _record(args.weeks)
    chosen = [curriculum.week(n) for n in args.weeks] or [w for w in curriculum.weeks() if w.has_lab]
    if args.freeze_starters:
        for week in chosen:
            print(f"week {week.code}: recorded {freeze_starters(week)} starter files")
        return 0
    problems: list[str] = []
    for week in chosen:
        problems += prove_week(week, args.jobs, say=lambda line: print(line, flush=True))
    print("\n".join(problems) if problems else "proven")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The repository's shape: sixteen weeks, each lab wired to real files."""

from __future__ import annotations

import importlib

import pytest

from course import curriculum, paths, proof
from course.paths import REPO_ROOT

WEEKS = curriculum.weeks()
LAB_WEEKS = [w for w in WEEKS if w.has_lab]


def test_all_sixteen_weeks_are_present_in_order() -> None:
    assert [w.number for w in WEEKS] == list(range(1, 17))


def test_lab_ids_are_unique() -> None:
    ids = [lab.id for _, lab in curriculum.all_labs()]
    assert len(ids) == len(set(ids))


def test_anchor_milestones_are_known() -> None:
    for _, lab in curriculum.all_labs():
        assert set(lab.anchor) <= set(curriculum.ANCHOR_MILESTONES), lab.id


@pytest.mark.parametrize("week", WEEKS, ids=lambda w: w.code)
def test_every_week_has_a_lesson_with_a_title(week: curriculum.Week) -> None:
    first_line = (week.folder / "README.md").read_text().splitlines()[0]
    assert first_line.startswith(f"# Week {week.code}"), first_line


@pytest.mark.parametrize("week", LAB_WEEKS, ids=lambda w: w.code)
def test_lab_files_tests_hints_and_mistakes_exist(week: curriculum.Week) -> None:
    assert week.package, f"week {week.code} has labs but no package"
    for lab in week.labs:
        assert (week.folder / lab.tests).is_file(), lab.tests
        for name in lab.files:
            assert (paths.lab_package_dir(week.package) / name).exists(), name
            assert (paths.solution_package_dir(week.package) / name).exists(), name
    tests_named = [*week.hints, *(m.fails for m in week.mistakes)]
    for test_id in tests_named:
        test_file, _, test_name = test_id.partition("::")
        source = (week.folder / test_file).read_text()
        assert f"def {test_name.split('[')[0]}(" in source, f"{test_id} names no test"
    for mistake in week.mistakes:
        diff = proof.mistake_diff(week, mistake)
        assert diff.is_file(), f"mistake {mistake.name}: {paths.relative(diff)} is missing"
        assert proof.replaced_file(week, mistake).is_file(), mistake.replaces
        changed = proof.files_changed(diff.read_text())
        assert changed == [proof.diff_name(week, mistake)], f"{diff.name} changes {changed}"
    leftovers = sorted(p.name for p in paths.mistakes_dir(week.package).glob("*")
                       if p.suffix != ".diff" and p.name != "__pycache__")
    assert not leftovers, (f"mistakes are diffs; record {leftovers} with python -m course.proof "
                           f"--record-mistake {week.code} NAME EDITED_FILE")
    assert week.notebook.is_file(), f"week {week.code} has no notebook at {week.notebook}"


@pytest.mark.parametrize("week", LAB_WEEKS, ids=lambda w: w.code)
def test_starter_modules_import_cleanly(week: curriculum.Week, monkeypatch: pytest.MonkeyPatch) -> None:
    """A learner's first run must fail on NotImplementedError, not on an import error.

    Alembic environments (folders with a ``script.py.mako``) are loaded by Alembic, not imported.
    The anchor (one package for weeks 13–15) is imported top-level, as its roles run it, and its
    own tests are left to its own suite.
    """
    top_level = proof.shares_package(week)
    if top_level:
        monkeypatch.syspath_prepend(str(paths.LABS_DIR))
    for path in sorted(paths.lab_package_dir(week.package or "").rglob("*.py")):
        relative = path.relative_to(paths.LABS_DIR).with_suffix("")
        if relative.name == "__init__" or any((d / "script.py.mako").exists() for d in path.parents):
            continue
        if top_level and "tests" in relative.parts:
            continue
        name = ".".join(relative.parts)
        importlib.import_module(name if top_level else f"labs.{name}")


def test_an_unknown_week_names_the_valid_range() -> None:
    with pytest.raises(LookupError, match="weeks run from 01 to 16"):
        curriculum.week("17")
    with pytest.raises(LookupError):
        curriculum.week("five")


def test_the_readme_map_lists_every_week() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    missing = [w.folder.name for w in WEEKS if f"(weeks/{w.folder.name})" not in readme]
    assert not missing, f"README.md's map is missing {missing}"


def test_the_readme_opens_with_the_two_commands() -> None:
    block = (REPO_ROOT / "README.md").read_text().split("```bash\n", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in block.strip().splitlines()] == ["make start", "make test"]


@pytest.mark.parametrize("week", LAB_WEEKS, ids=lambda w: w.code)
def test_given_files_are_the_same_in_labs_and_solutions(week: curriculum.Week) -> None:
    """Files the learner does not edit are copies on purpose: the tests must see one program."""
    # A package several weeks build (the anchor): every one of those weeks' files is the learner's.
    edited = {name for other in WEEKS if other.package == week.package
              for name in proof.week_files(other)}
    labs_root = paths.lab_package_dir(week.package or "")
    solutions_root = paths.solution_package_dir(week.package or "")
    drifted = []
    for path in sorted(p for p in labs_root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        relative = path.relative_to(labs_root)
        if str(relative) in edited or relative.name == "__init__.py":
            continue
        twin = solutions_root / relative
        if not twin.exists() or twin.read_bytes() != path.read_bytes():
            drifted.append(str(relative))
    assert not drifted, f"given files differ between labs/ and solutions/ in week {week.code}: {drifted}"

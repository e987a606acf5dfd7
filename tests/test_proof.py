"""The proof itself: a named mistake counts only when its test's own assertion catches it.

Each test writes a one-file week into ``tmp_path`` (a solution, a test, a mistake as a diff) and
proves it the way ``python -m course.proof`` does — the week's test runs in a pytest subprocess
against a copy of the solution with the mistake applied.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from course import paths, proof
from course.curriculum import Mistake, Week

PACKAGE = "week99_demo"
SOLUTION = '''\
def greet(name: str) -> str:
    """Say hello."""
    return f"hello {name}"
'''
TEST = '''\
import importlib

import pytest

greet = importlib.import_module("labs.week99_demo.greet")


def test_greets_by_name():
    assert greet.greet("ada") == "hello ada", f"expected 'hello ada'; got {greet.greet('ada')!r}"


def test_greets_everyone():
    if greet.greet("bob") != "hello bob":
        pytest.fail("expected 'hello bob'")
'''


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Week:
    """A week 99 laid out like the repository, with the proof pointed at its solutions/."""
    solutions = tmp_path / "solutions"
    (solutions / PACKAGE / "mistakes").mkdir(parents=True)
    (solutions / "__init__.py").write_text("")
    (solutions / PACKAGE / "__init__.py").write_text("")
    (solutions / PACKAGE / "greet.py").write_text(SOLUTION)
    folder = tmp_path / "weeks" / "99-demo"
    folder.mkdir(parents=True)
    (folder / "test_greet.py").write_text(TEST)
    monkeypatch.setattr(paths, "SOLUTIONS_DIR", solutions)
    return Week(number=99, slug="demo", folder=folder, title="Demo", summary="A demo week.",
                package=PACKAGE, mistakes=[])


def add_mistake(week: Week, name: str, body: str, fails: str = "test_greet.py::test_greets_by_name"
                ) -> Mistake:
    """Record ``body`` (the whole wrong greet.py) as a diff, as a course writer would."""
    mistake = Mistake(name=name, replaces="greet.py", fails=fails, hint="Say hello.")
    week.mistakes.append(mistake)
    edited = week.folder.parent.parent / f"{name}.py"
    edited.write_text(textwrap.dedent(body))
    proof.record_mistake(week, name, edited)
    return mistake


def test_a_mistake_caught_by_the_tests_assertion_proves(demo: Week) -> None:
    caught = add_mistake(demo, "says_bye", 'def greet(name):\n    return f"bye {name}"\n')
    by_fail = add_mistake(demo, "says_bye_too", 'def greet(name):\n    return f"bye {name}"\n',
                          fails="test_greet.py::test_greets_everyone")
    assert proof.prove_mistake(demo, caught) == []
    assert proof.prove_mistake(demo, by_fail) == []


def test_a_mistake_that_errors_is_a_defect_naming_what_it_raised(demo: Week) -> None:
    renamed = add_mistake(demo, "renamed", 'def hello(name):\n    return f"hello {name}"\n')
    problems = proof.prove_mistake(demo, renamed)
    assert len(problems) == 1, problems
    assert "mistake renamed errors instead of failing an assertion" in problems[0], problems
    assert "AttributeError" in problems[0], problems
    assert "defect of the course" in problems[0], problems


def test_an_assertion_inside_the_code_under_test_is_not_the_tests_check(demo: Week) -> None:
    asserting = add_mistake(demo, "asserts", 'def greet(name):\n    assert name == "x"\n'
                                             '    return name\n')
    problems = proof.prove_mistake(demo, asserting)
    assert problems and "AssertionError" in problems[0] and "defect" in problems[0], problems


def test_a_mistake_that_breaks_collection_is_a_defect(demo: Week) -> None:
    (demo.folder / "test_greet.py").write_text(TEST.replace(
        'greet = importlib.import_module("labs.week99_demo.greet")',
        "from labs.week99_demo.greet import greet as _greet  # noqa: F401\n"
        'greet = importlib.import_module("labs.week99_demo.greet")'))
    renamed = add_mistake(demo, "renamed", 'def hello(name):\n    return f"hello {name}"\n')
    problems = proof.prove_mistake(demo, renamed)
    assert problems and "does not even collect" in problems[0] and "ImportError" in problems[0], problems


def test_a_mistake_the_test_misses_is_reported(demo: Week) -> None:
    harmless = add_mistake(demo, "harmless", 'def greet(name: str) -> str:\n    return "hello " + name\n')
    problems = proof.prove_mistake(demo, harmless)
    assert problems and "passes test_greet.py::test_greets_by_name" in problems[0], problems


def test_a_stale_diff_fails_with_the_mistakes_name_and_file(demo: Week) -> None:
    mistake = add_mistake(demo, "says_bye", 'def greet(name):\n    return f"bye {name}"\n')
    solution = paths.SOLUTIONS_DIR / PACKAGE / "greet.py"
    solution.write_text(SOLUTION.replace('return f"hello {name}"', 'return "hello " + name'))
    problems = proof.prove_mistake(demo, mistake)
    assert len(problems) == 1, problems
    assert "mistake says_bye" in problems[0], problems
    assert f"{PACKAGE}/mistakes/says_bye.diff no longer applies" in problems[0], problems
    assert f"solutions/{PACKAGE}/greet.py" in problems[0], problems


def test_a_diff_must_change_the_file_week_yaml_names(demo: Week) -> None:
    mistake = add_mistake(demo, "says_bye", 'def greet(name):\n    return f"bye {name}"\n')
    diff = proof.mistake_diff(demo, mistake)
    diff.write_text(diff.read_text().replace("greet.py", "other.py"))
    problems = proof.prove_mistake(demo, mistake)
    assert problems and f"must change exactly solutions/{PACKAGE}/greet.py" in problems[0], problems


def test_record_mistake_round_trips_an_edited_copy_exactly(demo: Week, tmp_path: Path) -> None:
    mistake = Mistake(name="no_newline", replaces="greet.py", fails="test_greet.py::test_greets_by_name",
                      hint="…")
    demo.mistakes.append(mistake)
    edited = tmp_path / "greet.py"
    edited.write_text('def greet(name):\n    return f"bye {name}"')  # no newline at the end
    written = proof.record_mistake(demo, "no_newline", edited)
    diff = written.read_text()
    assert diff.startswith(f"--- a/solutions/{PACKAGE}/greet.py\n+++ b/solutions/{PACKAGE}/greet.py\n")
    assert "\\ No newline at end of file" in diff
    assert proof.prove_mistake(demo, mistake) == []


def test_record_mistake_names_what_is_missing(demo: Week, tmp_path: Path) -> None:
    with pytest.raises(proof.ProofError, match="no mistake named 'nope'"):
        proof.record_mistake(demo, "nope", tmp_path / "x.py")
    demo.mistakes.append(Mistake(name="same", replaces="greet.py", fails="test_greet.py::t", hint="…"))
    same = tmp_path / "same.py"
    same.write_text(SOLUTION)
    with pytest.raises(proof.ProofError, match="identical"):
        proof.record_mistake(demo, "same", same)


def test_a_missing_diff_fails_with_the_command_that_records_it(demo: Week) -> None:
    mistake = Mistake(name="absent", replaces="greet.py", fails="test_greet.py::test_greets_by_name",
                      hint="…")
    demo.mistakes.append(mistake)
    problems = proof.prove_mistake(demo, mistake)
    assert problems and "--record-mistake 99 absent EDITED_FILE" in problems[0], problems


def test_course_hint_shows_a_mistakes_diff_under_its_hint() -> None:
    from typer.testing import CliRunner

    from course import curriculum
    from course.cli import app

    week = curriculum.week("05")
    mistake = next(m for m in week.mistakes if m.name == "no_ttl")
    result = CliRunner().invoke(app, ["hint", "05", mistake.fails.split("::")[1]])
    assert result.exit_code == 0, result.output
    assert "mistake no_ttl" in " ".join(result.output.split()), result.output
    assert " ".join(mistake.hint.split()[:6]) in " ".join(result.output.split()), result.output
    removed = [line for line in proof.mistake_diff(week, mistake).read_text().splitlines()
               if line.startswith("-") and not line.startswith("---")]
    shown = [line.strip() for line in result.output.splitlines()]
    assert removed and removed[-1].strip() in shown, f"expected {removed[-1]!r} in:\n{result.output}"

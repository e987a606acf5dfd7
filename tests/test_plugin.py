"""The pytest plugin: the weeks/NN shorthand, --solutions, fixtures, and what a run records."""

from __future__ import annotations

from pathlib import Path

import pytest

from course import curriculum
from course.plugin import expand_week_arg
from tests.conftest import run_pytest


@pytest.fixture
def weeks_dir(tmp_path: Path) -> Path:
    for name in ("01-python-perf", "05-redis", "12-cloud"):
        (tmp_path / "weeks" / name).mkdir(parents=True)
    return tmp_path / "weeks"


@pytest.mark.parametrize(("typed", "expanded"), [
    ("weeks/05", "weeks/05-redis"),
    ("weeks/5", "weeks/05-redis"),
    ("./weeks/05", "./weeks/05-redis"),
    ("weeks/05/test_cache.py", "weeks/05-redis/test_cache.py"),
    ("weeks/05/test_cache.py::test_hit", "weeks/05-redis/test_cache.py::test_hit"),
    ("weeks/12::x", "weeks/12-cloud::x"),
    ("tests/test_x.py", "tests/test_x.py"),
    ("-q", "-q"),
])
def test_week_shorthand_expands_to_the_folder(weeks_dir: Path, typed: str, expanded: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(weeks_dir.parent)
    assert expand_week_arg(typed, weeks_dir) == expanded


def test_an_unknown_week_is_a_usage_error_with_the_range(weeks_dir: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(weeks_dir.parent)
    with pytest.raises(pytest.UsageError, match="There is no week 17: weeks run from 01 to 12"):
        expand_week_arg("weeks/17", weeks_dir)


def test_wrong_week_from_the_command_line_is_one_clear_line() -> None:
    result = run_pytest("weeks/42")
    assert result.returncode != 0
    assert "There is no week 42: weeks run from 01 to 16" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr + result.stdout


def _probe(tmp_path: Path, body: str) -> Path:
    test = tmp_path / "test_probe.py"
    test.write_text(body)
    return test


def test_solutions_flag_points_labs_at_solutions_in_this_and_child_processes(tmp_path: Path) -> None:
    probe = _probe(tmp_path, """
import os, subprocess, sys
import labs

def test_where():
    child = subprocess.run([sys.executable, "-c", "import labs; print(labs.__path__[0])"],
                           capture_output=True, text=True).stdout.strip()
    print("HERE", labs.__path__[0], "CHILD", child)
""")
    result = run_pytest(str(probe), "-s", "--solutions", "--rootdir", str(tmp_path))
    assert result.returncode == 0, result.stdout
    here, child = _paths_printed(result.stdout)
    assert here.endswith("/solutions") and child == here, (here, child)

    result = run_pytest(str(probe), "-s", "--rootdir", str(tmp_path))
    here, child = _paths_printed(result.stdout)
    assert here.endswith("/labs") and child == here, (here, child)


def _paths_printed(stdout: str) -> tuple[str, str]:
    words = stdout.split("HERE", 1)[1].split()
    return words[0], words[2]


def test_service_fixtures_give_isolated_real_databases(tmp_path: Path) -> None:
    probe = _probe(tmp_path, """
import psycopg

def test_one(database_url, redis_client, make_database):
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TABLE t (x int)")
    other = make_database("other")
    with psycopg.connect(other) as conn:
        assert conn.execute("SELECT to_regclass('t')").fetchone() == (None,)
    assert redis_client.dbsize() == 0
    redis_client.set("k", "v")

def test_two(redis_client):
    assert redis_client.dbsize() == 0, "each test gets a flushed Redis database"
""")
    result = run_pytest(str(probe), "--rootdir", str(tmp_path), "-n", "2")
    assert result.returncode == 0, result.stdout[-3000:]


def test_an_unreachable_service_is_one_clear_message(tmp_path: Path) -> None:
    probe = _probe(tmp_path, "def test_db(database_url):\n    pass\n")
    result = run_pytest(str(probe), "--rootdir", str(tmp_path),
                        env={"DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none"})
    assert result.returncode == 1
    assert "does not answer" in result.stdout and "fix:" in result.stdout, result.stdout[-2000:]
    assert "Traceback" not in result.stdout


LAB_WEEK = next((w for w in curriculum.weeks() if w.has_lab), None)


@pytest.mark.skipif(LAB_WEEK is None, reason="no week has a lab yet")
def test_a_learner_run_is_recorded_and_says_what_is_next(tmp_path: Path) -> None:
    assert LAB_WEEK is not None
    lab = LAB_WEEK.labs[0]
    tracker_path = tmp_path / "tracker.yaml"
    env = {"COURSE_TRACKER": str(tracker_path), "COURSE_LAB_PATH": ""}
    result = run_pytest(f"weeks/{LAB_WEEK.code}/{lab.tests}", "-q", env=env)
    assert result.returncode == 1, "the starter must fail"
    summary = result.stdout.split(" course ")[-1]
    assert f"week {LAB_WEEK.code}" in summary and "Next:" in summary, summary
    text = tracker_path.read_text()
    assert lab.id in text and "outcome: failing" in text, text

    solved = run_pytest(f"weeks/{LAB_WEEK.code}/{lab.tests}", "-q", "--solutions", env=env)
    assert "nothing recorded" in solved.stdout
    assert tracker_path.read_text() == text, "--solutions runs never touch the tracker"
    run_pytest(f"weeks/{LAB_WEEK.code}/{lab.tests}", "-q", env=env | {"COURSE_RECORD": "0"})
    assert tracker_path.read_text() == text, "the proof's runs (COURSE_RECORD=0) never touch the tracker"

    for narrowing in (("-k", "zzz_no_such_test"), ("-x",)):
        partial = run_pytest(f"weeks/{LAB_WEEK.code}/{lab.tests}", "-q", *narrowing, env=env)
        assert tracker_path.read_text() == text, f"a partial run ({narrowing[0]}) is not recorded"
    assert "partial run" in partial.stdout, partial.stdout[-500:]


STARTER = '''
def unwritten():
    raise NotImplementedError("see weeks/05-redis/README.md, section 'Stampedes'")
'''

WRAPPED = '''
import concurrent.futures, subprocess, sys, threading
from starter import unwritten

def test_direct():
    unwritten()

def test_from_a_future():
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        pool.submit(unwritten).result()

def test_errors_collected_from_threads():
    errors = []
    def work():
        try:
            unwritten()
        except Exception as exc:
            errors.append(exc)
    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, f"every thread should finish; they raised {errors}"

def test_in_an_exception_group():
    errors = []
    for _ in range(3):
        try:
            unwritten()
        except NotImplementedError as exc:
            errors.append(exc)
    raise ExceptionGroup("workers failed", [ValueError("other"), ExceptionGroup("inner", errors)])

def test_as_a_cause():
    try:
        unwritten()
    except NotImplementedError as exc:
        raise RuntimeError("the worker died") from exc

def test_in_a_subprocess_traceback():
    child = subprocess.run([sys.executable, "-c", "from starter import unwritten; unwritten()"],
                           capture_output=True, text=True)
    assert child.returncode == 0, f"the worker process failed:\\n{child.stderr}"

def test_an_ordinary_failure():
    assert 1 + 1 == 3, "an ordinary failure keeps its report"
'''


def test_a_starter_failure_is_one_line_however_it_arrives(tmp_path: Path) -> None:
    (tmp_path / "starter.py").write_text(STARTER)
    probe = _probe(tmp_path, WRAPPED)
    result = run_pytest(str(probe), "--rootdir", str(tmp_path), env={"PYTHONPATH": str(tmp_path)})
    out = result.stdout
    assert result.returncode == 1 and "7 failed" in out, out[-3000:]
    line = f"not written yet: {tmp_path / 'starter.py'}:3 unwritten() — see weeks/05-redis/README.md"
    # Counted as whole report lines: the short summary repeats them, cut to the terminal's width.
    reported = [row for row in out.splitlines() if row.startswith(line)]
    assert len(reported) == 6, out[-6000:]
    failures = out.split("= FAILURES =", 1)[1].split("short test summary", 1)[0]
    assert "Traceback" not in failures and failures.count("NotImplementedError") == 0, failures
    assert "an ordinary failure keeps its report" in failures and "assert (1 + 1) == 3" in failures

"""The pytest plugin every lab runs under (installed through the ``pytest11`` entry point).

It gives the lab contract its shape:

* ``pytest weeks/05`` works as typed although the folder is ``weeks/05-redis``;
* ``--solutions`` runs the same tests against ``solutions/`` instead of ``labs/``;
* fixtures hand out real services: a fresh PostgreSQL database, a flushed Redis database,
  free loopback ports and real subprocesses that are always cleaned up;
* a learner's run is recorded in ``tracker.yaml`` and ends with one line: what passed, what next.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import re
from collections import defaultdict
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from course import services
from course.paths import REPO_ROOT, SOLUTIONS_DIR
from course.processes import RunningProcess, start_process
from course.target import LAB_PATH_ENV

if TYPE_CHECKING:
    from course.tracker import Tracker

RECORD_ENV = "COURSE_RECORD"
WEEK_ARG = re.compile(r"^(?P<prefix>(?:\./)?weeks/)(?P<number>\d{1,2})(?P<rest>(?:/|::).*)?$")


# --------------------------------------------------------------------------- options & shorthand


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("course", "Backend Semester")
    group.addoption("--solutions", action="store_true", default=False,
                    help="test the reference code in solutions/ instead of your code in labs/")


def expand_week_arg(arg: str, weeks_dir: Path) -> str:
    """``weeks/05`` → ``weeks/05-redis`` (also ``weeks/5``, ``weeks/05/test_cache.py::test_x``)."""
    match = WEEK_ARG.match(arg)
    if not match or not weeks_dir.is_dir() or Path(arg.split("::")[0]).exists():
        return arg
    number = int(match["number"])
    folders = sorted(p.name for p in weeks_dir.iterdir() if p.is_dir() and p.name[:2].isdigit())
    for name in folders:
        if int(name[:2]) == number:
            rest = match["rest"] or ""
            return f"{match['prefix']}{name}{rest}"
    span = f"{folders[0][:2]} to {folders[-1][:2]}" if folders else "none yet"
    raise pytest.UsageError(f"There is no week {match['number']}: weeks run from {span}. "
                            f"Try `course status` to see where you are.")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser,
                                  args: list[str]) -> None:
    weeks_dir = Path.cwd() / "weeks"
    args[:] = [expand_week_arg(arg, weeks_dir) for arg in args]
    if "--solutions" in args:
        # Set before anything imports `labs`, and inherited by every subprocess the tests start.
        os.environ[LAB_PATH_ENV] = str(SOLUTIONS_DIR)


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("solutions", default=False):
        os.environ[LAB_PATH_ENV] = str(SOLUTIONS_DIR)
    config.pluginmanager.register(ProgressRecorder(config), "course-progress")


def pytest_report_header(config: pytest.Config) -> str | None:
    target = os.environ.get(LAB_PATH_ENV)
    if not _in_course(config):
        return None
    return f"course: testing {target or 'labs/ (your code)'}"


def _in_course(config: pytest.Config) -> bool:
    return Path(config.rootpath) == REPO_ROOT


# --------------------------------------------------------------------------- starter failures


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A starter's ``NotImplementedError`` is one line: which function, and where the lesson is.

    Thirty identical tracebacks teach nothing; "not written yet: cache.py:41 get_or_load() —
    … see weeks/05-redis/README.md, section 'Stampedes'" says exactly where to start. The error
    is found however it reached the test: raised directly or re-raised from a future, inside an
    ``ExceptionGroup``, as the cause of another error, collected by the test from its threads
    (``assert not errors``), or printed in a subprocess's traceback.
    """
    report = yield
    if report.failed and call.excinfo is not None:
        unwritten = starter_failure(call.excinfo)
        if unwritten is not None:
            report.longrepr = unwritten
    return report


# A Python traceback printed by a subprocess: the frames, then the NotImplementedError line.
_TEXT_FRAME = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+), in (?P<name>\S+)', re.M)
_TEXT_ERROR = re.compile(r"^[ \t]*NotImplementedError: (?P<message>.*)$", re.M)


def starter_failure(excinfo: pytest.ExceptionInfo[BaseException]) -> str | None:
    """The one-line "not written yet" report if a starter's ``NotImplementedError`` failed the test."""
    found = next((unwritten for candidate in _raised_or_collected(excinfo)
                  if (unwritten := _find_unwritten(candidate, seen=set())) is not None), None)
    if found is not None:
        tb = found.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is None:
            return f"not written yet — {found}"
        code = tb.tb_frame.f_code
        return _one_line(code.co_filename, tb.tb_lineno, code.co_name, str(found))
    text = str(excinfo.value)
    error = _TEXT_ERROR.search(text)
    if error is None:
        return None
    frames = list(_TEXT_FRAME.finditer(text, 0, error.start()))
    if not frames:
        return f"not written yet — {error['message']}"
    last = frames[-1]
    return _one_line(last["path"], int(last["line"]), last["name"], error["message"])


def _one_line(filename: str, line: int, function: str, message: str) -> str:
    where = Path(filename)
    with contextlib.suppress(ValueError):
        where = where.relative_to(REPO_ROOT)
    return f"not written yet: {where}:{line} {function}() — {message}"


def _find_unwritten(exc: BaseException | None, seen: set[int]) -> NotImplementedError | None:
    """The first ``NotImplementedError`` in ``exc``, its group members, causes and contexts."""
    if exc is None or id(exc) in seen:
        return None
    seen.add(id(exc))
    if isinstance(exc, NotImplementedError):
        return exc
    inner: list[BaseException | None] = [exc.__cause__, exc.__context__]
    if isinstance(exc, BaseExceptionGroup):
        inner = [*exc.exceptions, *inner]
    for candidate in inner:
        found = _find_unwritten(candidate, seen)
        if found is not None:
            return found
    return None


def _raised_or_collected(excinfo: pytest.ExceptionInfo[BaseException]) -> Iterator[BaseException]:
    """The error that failed the test, then errors the test gathered from threads, futures, tasks."""
    yield excinfo.value
    for entry in excinfo.traceback:
        for value in entry.frame.f_locals.values():
            yield from _exceptions_in(value)


def _exceptions_in(value: object) -> list[BaseException]:
    """Exceptions held in a test's local variable: the value itself, or a collection's items."""
    if isinstance(value, BaseException):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return [item for item in value if isinstance(item, BaseException)]
    return []


# --------------------------------------------------------------------------- service fixtures


_service_error: dict[str, str] = {}


def _service(name: str, resolve: Callable[[], str]) -> str:
    """Resolve a service once per session; a failure becomes one clear message, not a traceback."""
    if name in _service_error:
        pytest.fail(_service_error[name], pytrace=False)
    try:
        return resolve()
    except services.ServiceUnavailable as exc:
        _service_error[name] = str(exc)
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """URL of the PostgreSQL server (its ``postgres`` database); prefer ``database_url``."""
    return _service("postgres", services.checked_postgres_url)


def _worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def make_database(pg_server_url: str) -> Iterator[Callable[..., str]]:
    """Factory: ``make_database(label, template=None)`` → URL of a new, empty database.

    Names carry the xdist worker and pid, so parallel workers and parallel weeks never collide;
    every database made is dropped at the end of the session.
    """
    made: list[str] = []
    counter = itertools.count()

    def make(label: str = "db", template: str | None = None) -> str:
        clean = re.sub(r"[^a-z0-9_]", "_", label.lower())
        name = f"t_{_worker_id()}_{os.getpid()}_{next(counter)}_{clean}"[:63]
        url = services.create_database(pg_server_url, name, template=template)
        made.append(name)
        return url

    yield make
    for name in made:
        services.drop_database(pg_server_url, name)


@pytest.fixture(scope="module")
def database_url(make_database: Callable[..., str], request: pytest.FixtureRequest) -> str:
    """A fresh PostgreSQL database for this test module."""
    return make_database(request.module.__name__.rsplit(".", 1)[-1])


@pytest.fixture(scope="session")
def redis_server_url() -> str:
    """URL of the Redis server; prefer ``redis_url`` (an isolated, flushed database)."""
    return _service("redis", services.checked_redis_url)


@pytest.fixture
def redis_url(redis_server_url: str) -> Iterator[str]:
    """A flushed Redis logical database no other running test is using."""
    url = services.allocate_redis_db(redis_server_url)
    yield url
    services.release_redis_db(url)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[object]:
    """A ``redis.Redis`` client (``decode_responses=True``) on a flushed database."""
    import redis

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def free_tcp_port() -> int:
    return services.free_port()


@pytest.fixture
def spawn() -> Iterator[Callable[..., RunningProcess]]:
    """Factory: ``spawn(command, port=…, ready_line=…, env=…)`` → a running process.

    The process inherits ``--solutions`` through the environment and is always stopped
    (SIGTERM, then SIGKILL) when the test ends.
    """
    started: list[RunningProcess] = []

    def spawn_process(command: list[str], **kwargs: object) -> RunningProcess:
        process = start_process(command, **kwargs)  # type: ignore[arg-type]
        started.append(process)
        return process

    yield spawn_process
    for process in started:
        process.stop()


# --------------------------------------------------------------------------- progress recording


class ProgressRecorder:
    """Collects per-lab outcomes and, for a learner's own full run, records them in the tracker."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.outcomes: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
        self.unwritten: set[tuple[str, str, str]] = set()  # failed as "not written yet": no hint yet
        self.message: list[str] = []

    def _lab_key(self, nodeid: str) -> tuple[str, str] | None:
        parts = nodeid.split("::", 1)[0].split("/")
        if len(parts) >= 3 and parts[0] == "weeks":
            return parts[1], parts[-1]
        return None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        key = self._lab_key(report.nodeid)
        if key is None:
            return
        tests = self.outcomes[key]
        name = report.nodeid.split("::", 1)[1] if "::" in report.nodeid else report.nodeid
        if report.failed:
            tests[name] = "failed"
            if isinstance(report.longrepr, str) and report.longrepr.startswith("not written yet"):
                self.unwritten.add((*key, name))
        elif report.when == "call" and tests.get(name) != "failed":
            tests[name] = "skipped" if report.skipped else "passed"
        elif report.skipped and name not in tests:
            tests[name] = "skipped"

    def _recording(self) -> bool:
        return self._learners_run() and not self._partial()

    def _learners_run(self) -> bool:
        """A learner's own run of their own code (not the proof's, not --solutions, not a worker)."""
        if hasattr(self.config, "workerinput") or not _in_course(self.config):
            return False
        return not (os.environ.get(LAB_PATH_ENV) or os.environ.get(RECORD_ENV) == "0")

    def _partial(self) -> bool:
        """A run that selected or stopped early says nothing about the whole lab."""
        return bool(self.config.getoption("keyword") or self.config.getoption("markexpr")
                    or self.config.getoption("maxfail") or any("::" in arg for arg in self.config.args))

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.outcomes or hasattr(self.config, "workerinput"):
            return
        from course import curriculum, tracker

        summaries, runs, hints = [], {}, []
        at = dt.datetime.now(dt.UTC).replace(microsecond=0)
        commit = tracker.current_commit() if self._recording() else ""
        for (folder, test_file), tests in sorted(self.outcomes.items()):
            try:
                week = curriculum.week(folder[:2])
            except (LookupError, curriculum.CurriculumError):
                continue
            lab = week.lab_for_test_file(test_file)
            failed = [name for name, outcome in tests.items() if outcome == "failed"]
            passed = sum(outcome == "passed" for outcome in tests.values())
            total = len(tests)
            label = lab.id.split("/")[-1] if lab else test_file
            summaries.append(f"{label} {'✓' if not failed and passed else f'{passed}/{total}'}")
            for name in [n for n in failed if (folder, test_file, n) not in self.unwritten][:2]:
                hint = week.hint_for(f"{test_file}::{name.split('[')[0]}")
                if hint and not os.environ.get(LAB_PATH_ENV):
                    hints.append(f"  hint · {name}: {hint.strip()}")
            if lab:
                runs[lab.id] = tracker.LabRun(outcome="failing" if failed or not passed else "passed",
                                              passed=passed, total=total, at=at, commit=commit)
        if not summaries:
            return
        weeks_seen = sorted({folder for folder, _ in self.outcomes})
        line = f"week {', '.join(w[:2] for w in weeks_seen)}: " + ", ".join(summaries)
        if self._recording() and runs:
            try:
                tracked = tracker.record_runs(runs)
                line += f" — recorded in {tracker.tracker_path().name}"
                line += f". Next: {_next_step(tracked)}"
            except tracker.TrackerError as exc:
                line += f"\n  not recorded: {exc}"
        elif os.environ.get(LAB_PATH_ENV):
            line += " (reference solutions: nothing recorded)"
        elif self._partial():
            line += " (a partial run: -k, -x or one test; run the whole week to record it)"
        if self._learners_run():  # week 16 counts each problem whose tests all ran, -k or not
            from course import dsa

            try:
                solved = dsa.record(self.outcomes, at)
                line += f"\n  {solved}" if solved else ""
            except tracker.TrackerError as exc:
                line += f"\n  problems not recorded: {exc}"
        self.message = [*hints[:4], line]

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.message:
            terminalreporter.write_sep("-", "course")
            for text in self.message:
                terminalreporter.write_line(text)


def _next_step(tracked: Tracker) -> str:
    from course import progress

    return progress.next_step(tracked).command_line


# --------------------------------------------------------------------------- no passwords in output


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Mask the embedded servers' passwords in what a test run prints.

    Fixture URLs already print masked (:class:`course.credentials.SecretUrl`), but a long
    traceback also shows a library's own arguments — psycopg's ``conninfo`` carries the password.
    """
    if not report.failed and not report.sections:
        return
    from course.credentials import redact

    if report.longrepr is not None:
        text = str(report.longrepr)
        masked = redact(text)
        if masked != text:
            report.longrepr = masked
    report.sections = [(title, redact(content)) for title, content in report.sections]

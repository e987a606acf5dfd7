"""``course`` — where you stand, what to do next, and the services your labs need.

Every command answers in a few lines. Wrong input (an unknown week, a broken tracker.yaml, a
service that will not start) gets one message saying what is wrong and how to fix it, and a
non-zero exit — never a traceback.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from functools import wraps
from typing import Annotated, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress_bar import ProgressBar
from rich.table import Table

from course import curriculum, progress, services, tracker
from course.errors import CourseError
from course.paths import REPO_ROOT, lab_package_dir

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)
services_app = typer.Typer(help="Real PostgreSQL and Redis for labs, notebooks and the anchor.",
                           no_args_is_help=True)
app.add_typer(services_app, name="services")
console = Console(highlight=False)
err = Console(stderr=True, highlight=False)

P = ParamSpec("P")
R = TypeVar("R")


class WrongArgument(CourseError):
    """A command was given something it cannot use (a week that does not exist, no week at all)."""


def _fail(exc: CourseError) -> NoReturn:
    err.print(f"[red]✗[/red] {exc}")
    raise typer.Exit(2) from None


def friendly(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a problem the learner can fix (a :class:`CourseError`) into one line and exit code 2.

    Only ``CourseError`` is caught: anything else is a bug in the harness and keeps its
    traceback, so it gets reported instead of hiding behind a kind-looking line.
    """

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except CourseError as exc:
            _fail(exc)

    return run


def _week_code(ctx: typer.Context, value: str | None) -> str | None:
    """Check a week argument while parsing, so every command rejects a wrong one the same way."""
    if value is None:
        return None
    try:
        return curriculum.week(value).code
    except LookupError:
        codes = [w.code for w in curriculum.weeks()]
        example = next((w.code for w in curriculum.weeks() if w.has_lab), codes[0])
        _fail(WrongArgument(f"There is no week '{value}': weeks run from {codes[0]} to {codes[-1]},"
                            f" e.g. `course {ctx.info_name} {example}`."))


WeekArg = Annotated[str, typer.Argument(help="week number, e.g. 05", show_default=False,
                                        callback=_week_code)]


def _pytest(*args: str) -> int:
    return subprocess.run([sys.executable, "-m", "pytest", *args], cwd=REPO_ROOT).returncode


# --------------------------------------------------------------------------- status & next


def _bar(done: int, total: int) -> ProgressBar:
    return ProgressBar(total=max(total, 1), completed=done, width=16)


@app.command()
@friendly
def status() -> None:
    """Progress per week, pace against your target date, and how much of the anchor is ready."""
    state = tracker.load()
    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    table.add_column("week")
    table.add_column("topic")
    table.add_column("labs", justify="right")
    table.add_column("")
    for week in curriculum.weeks():
        if not week.has_lab:
            table.add_row(week.code, week.title, "[dim]coming[/dim]", "")
            continue
        done = sum(state.passed(lab.id) for lab in week.labs)
        mark = " ✓" if done == len(week.labs) else ""
        table.add_row(week.code, week.title, f"{done}/{len(week.labs)}{mark}",
                      _bar(done, len(week.labs)))
    console.print(table)
    passed, total = progress.labs_passed(state)
    pace = progress.pace(state)
    console.print(f"\n[bold]labs[/bold] {passed}/{total} passed · [bold]pace[/bold] {pace.summary}")
    console.print(f"[bold]burn-up[/bold] {progress.pace_bar(progress.burn_up(state))}")
    ready = progress.anchor_readiness(state)
    pieces = "  ".join(f"{'✓' if ok else '·'} {title}" for _, title, ok in ready)
    console.print(f"[bold]anchor[/bold] {sum(ok for *_, ok in ready)}/{len(ready)} ready: {pieces}")
    console.print(f"[bold]next[/bold] {progress.next_step(state).command_line}")


@app.command(name="next")
@friendly
def next_() -> None:
    """The one thing to do next."""
    console.print(progress.next_step(tracker.load()).command_line)


@app.command()
@friendly
def start(serve: Annotated[bool, typer.Option(help="serve the course site on 127.0.0.1")] = True,
          port: Annotated[int, typer.Option(help="port for the site")] = 8000) -> None:
    """Start your clock (once), check the services, show where you stand, serve the site."""
    path = tracker.tracker_path()
    started = path.exists() and tracker.load(path).start is not None
    state = tracker.create(path)
    if not started:
        console.print(f"Your clock starts: start {state.start}, target {state.target} in {path.name} "
                      "(edit the dates there if you like).")
    with console.status("Starting PostgreSQL and Redis (first time: a few seconds) …"):
        try:
            for info in services.up():
                console.print(f"  {info.name:<8} {info.url}  [dim]({info.source})[/dim]")
        except services.ServiceUnavailable as exc:
            err.print(f"[yellow]![/yellow] {exc}\n  Labs that need it will say so; `course doctor` helps.")
    status()
    if serve:
        console.print(f"\nThe course site: http://127.0.0.1:{port}  (Ctrl+C stops it)")
        subprocess.run([sys.executable, "-m", "mkdocs", "serve", "--dev-addr", f"127.0.0.1:{port}",
                        "--quiet"], cwd=REPO_ROOT, env=os.environ | {"NO_MKDOCS_2_WARNING": "1"})


# --------------------------------------------------------------------------- labs


@app.command()
@friendly
def check(week: Annotated[str | None, typer.Argument(help="week number, e.g. 05",
                                                    callback=_week_code)] = None,
          all_weeks: Annotated[bool, typer.Option("--all", help="re-verify every week")] = False
          ) -> None:
    """Run a week's lab tests on your code and record the result (``--all``: every week)."""
    if week is None:
        if not all_weeks:
            raise WrongArgument("Say which week (`course check 05`) or `course check --all`.")
        chosen = [w for w in curriculum.weeks() if w.has_lab]
    elif all_weeks:
        raise WrongArgument(f"Say one week (`course check {week}`) or `course check --all`, not both.")
    else:
        chosen = [curriculum.week(week)]
    failing = [w.code for w in chosen if not w.has_lab or _pytest(f"weeks/{w.code}", "-q") != 0]
    if failing:
        raise typer.Exit(1)


@app.command()
@friendly
def hint(week: WeekArg,
         test: Annotated[str | None, typer.Argument(help="part of a test name")] = None) -> None:
    """Hints for a week's tests — the common mistakes and where to look.

    Under a named mistake's hint comes its diff: the few lines that turn the reference solution
    into that mistake, which is the mistake itself.
    """
    from rich.markup import escape

    from course import proof

    chosen = curriculum.week(week)
    hints: list[tuple[str, str, curriculum.Mistake | None]] = [
        (name, text, None) for name, text in chosen.hints.items()]
    hints += [(m.fails, m.hint, m) for m in chosen.mistakes]
    shown = [(name, text, mistake) for name, text, mistake in hints if not test or test in name]
    if not shown:
        what = f"matching '{test}'" if test else "yet"
        console.print(f"No hints for week {chosen.code} {what}. "
                      f"The lesson: weeks/{chosen.folder.name}/README.md")
        return
    for name, text, mistake in shown:
        console.print(f"[bold]{name}[/bold]" + (f"  [dim]mistake {mistake.name}[/dim]" if mistake else ""))
        console.print(f"  {escape(text.strip())}")
        diff = proof.mistake_diff(chosen, mistake) if mistake else None
        if diff is not None and diff.is_file():
            for line in diff.read_text().splitlines():
                style = {"+": "green", "-": "red", "@": "cyan"}.get(line[:1], "dim")
                style = "bold" if line.startswith(("+++", "---")) else style
                console.print(f"    [{style}]{escape(line)}[/{style}]", soft_wrap=True)  # as-is
        console.print()


@app.command()
@friendly
def watch(week: WeekArg) -> None:
    """Re-run a week's tests every time you save one of its lab files."""
    from watchfiles import watch as watch_files

    chosen = curriculum.week(week)
    if not chosen.package:
        raise WrongArgument(f"Week {chosen.code} has no lab yet; `course next` says what to do now.")
    folder = lab_package_dir(chosen.package)
    console.print(f"Watching {folder.relative_to(REPO_ROOT)} — save a file to re-run; Ctrl+C stops.")
    _pytest(f"weeks/{chosen.code}", "-q", "--tb=line")
    for _ in watch_files(folder, chosen.folder):
        console.rule(dt.datetime.now().strftime("%H:%M:%S"))
        _pytest(f"weeks/{chosen.code}", "-q", "--tb=line")


@app.command()
@friendly
def deliverable(name: Annotated[str, typer.Argument(help="public_url, resume, design_stories or dsa_solved")],
                value: Annotated[str, typer.Argument(help="the new value")]) -> None:
    """Mark a deliverable no test can check (your public URL, resume, design stories, DSA count)."""
    updated = tracker.set_deliverable(name, value)
    console.print(f"✓ {name} = {getattr(updated.deliverables, name)!r}")


# --------------------------------------------------------------------------- environment


@app.command()
def doctor() -> None:
    """Check Python, services, ports, disk and tracker.yaml — each problem with its fix."""
    problems = 0

    def report(ok: bool, what: str, fix: str = "") -> None:
        nonlocal problems
        problems += not ok
        console.print(f"{'[green]✓[/green]' if ok else '[red]✗[/red]'} {what}"
                      + (f"\n    fix: {fix}" if fix and not ok else ""))

    version = ".".join(map(str, sys.version_info[:3]))
    report(sys.version_info >= (3, 11), f"Python {version}", "install Python 3.11 or newer")
    report(sys.prefix != sys.base_prefix, f"virtual environment {sys.prefix}",
           "run `make start`, which creates .venv and installs the course")
    free_gb = shutil.disk_usage(services.state_dir()).free / 2**30
    report(free_gb > 2, f"{free_gb:.1f} GiB free for service data in {services.state_dir()}",
           "free some disk, or set COURSE_HOME to a folder on a bigger disk")
    for name, resolve in (("PostgreSQL", services.checked_postgres_url),
                          ("Redis", services.checked_redis_url)):
        try:
            report(True, f"{name} answers at {services.mask_url(resolve())}")
        except services.ServiceUnavailable as exc:
            report(False, f"{name}: {exc}")
    # After the services: starting an embedded server already makes its state private.
    exposed = services.exposures()
    report(not exposed, f"state directory {services.state_dir()} and its passwords private to you",
           "; ".join(fix for _, fix in exposed))
    for path, _ in exposed:
        console.print(f"    other users can read {path}")
    try:
        tracker.load()
        report(True, f"{tracker.tracker_path().name} is valid")
    except tracker.TrackerError as exc:
        report(False, str(exc), "fix the line named above; `git diff tracker.yaml` shows your edits")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    console.print(f"{'✓' if chromium else '·'} headless Chromium "
                  f"{'found' if chromium else 'not found (optional: only the site check uses it)'}")
    docker = bool(shutil.which("docker")) and subprocess.run(
        ["docker", "info"], capture_output=True).returncode == 0
    console.print(f"{'✓' if docker else '·'} Docker engine "
                  f"{'answers' if docker else 'not running (optional: week 06 skips the image build)'}")
    raise typer.Exit(1 if problems else 0)


@services_app.command("up")
@friendly
def services_up() -> None:
    """Start (or find) PostgreSQL and Redis and print their URLs."""
    for info in services.up():
        console.print(f"{info.name:<8} {info.url}  [dim]({info.source})[/dim]")


@services_app.command("down")
@friendly
def services_down(wipe: Annotated[bool, typer.Option(help="also delete their data")] = False) -> None:
    """Stop the embedded servers (services from DATABASE_URL/REDIS_URL are not touched)."""
    stopped = services.down(wipe=wipe)
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@services_app.command("status")
@friendly
def services_status(show_secrets: Annotated[bool, typer.Option(
        "--show-secrets", help="print the URLs with their passwords (to paste into a .env)")] = False
                    ) -> None:
    """Where each service comes from and its URL, password masked (starts nothing)."""
    for info in services.status():
        url = info.url_with_password if show_secrets else info.url
        console.print(f"{info.name:<8} {url or '-':<44} {info.source} {info.detail}", soft_wrap=True)
    console.print("[dim]notebooks and the anchor read these from DATABASE_URL / REDIS_URL "
                  "or course.services[/dim]")


if __name__ == "__main__":  # pragma: no cover
    app()

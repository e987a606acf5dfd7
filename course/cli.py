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
from pathlib import Path
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
    from course import dsa

    by_pattern = "  ".join(f"{title} {done}/{total}" for title, done, total in dsa.solved_by_pattern(state))
    console.print(f"[bold]dsa[/bold] {dsa.summary(state)}\n  [dim]{by_pattern}[/dim]")
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

    from course import dsa, proof

    chosen = curriculum.week(week)
    if chosen.folder.name == dsa.WEEK_FOLDER and test in {p.id for p in dsa.problems()}:
        step, steps, text = dsa.next_hint(test)
        console.print(f"[bold]{test}[/bold] hint {step} of {steps}: {escape(text)}")
        after = "run the command again for the next step" if step < steps else \
            "that was the last step; the next run starts over"
        console.print(f"[dim]{after} · the lesson: weeks/{chosen.folder.name}/README.md[/dim]")
        return
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
def deliverable(name: Annotated[str, typer.Argument(help="public_url, resume or design_stories")],
                value: Annotated[str, typer.Argument(help="the new value")]) -> None:
    """Mark a deliverable no test can check (your public URL, resume, design stories)."""
    updated = tracker.set_deliverable(name, value)
    console.print(f"✓ {name} = {getattr(updated.deliverables, name)!r}")


@app.command()
@friendly
def resume(source: Annotated[Path | None, typer.Option(
               "--file", help="the YAML to render (default labs/week16_interviews/resume.yaml)")] = None,
           out_dir: Annotated[Path | None, typer.Option("--out", help="where to write resume.html and "
                                                        "resume.pdf (default build/resume)")] = None,
           lint_only: Annotated[bool, typer.Option("--lint", help="only lint the bullets")] = False) -> None:
    """Lint every resume bullet (action, number, outcome), then render one page of HTML and PDF."""
    from rich.markup import escape

    from course import resume as resumes

    if lint_only:
        findings = resumes.lint(resumes.filled(resumes.load(source), resumes.anchor_values()))
    else:
        built = resumes.build(source, out_dir)
        findings = built.findings
        pages = "one page" if built.pages == 1 else f"[yellow]{built.pages} pages — cut to one[/yellow]"
        console.print(f"✓ {built.html}\n✓ {built.pdf} ({pages})")
    for finding in findings:
        console.print(f"[red]✗[/red] {escape(str(finding))}", soft_wrap=True)
    console.print(f"{len(findings)} bullet(s) to fix" if findings else "every bullet has an action, a number "
                  "and an outcome")
    if findings:
        raise typer.Exit(1)


@app.command()
@friendly
def interview(seed: Annotated[int | None, typer.Option(help="draw the same set again")] = None) -> None:
    """A timed drill: a design, two explain-it prompts from weeks you passed, one unsolved problem."""
    import random

    from course import interview as drill

    questions = drill.draw(tracker.load(), random.Random(seed))
    total = sum(q.minutes for q in questions)
    ends = (dt.datetime.now() + dt.timedelta(minutes=total)).strftime("%H:%M")
    console.print(f"[bold]Interview drill[/bold] — {total} minutes, stop at {ends}. Answer out loud.")
    for number, question in enumerate(questions, 1):
        console.print(f"{number}. [{question.minutes} min] [bold]{question.kind}[/bold] {question.text}"
                      f"  [dim]{question.source}[/dim]", soft_wrap=True)
    state = drill.record(questions)
    console.print(f"[dim]recorded in {tracker.tracker_path().name} "
                  f"({len(state.interviews)} drills so far)[/dim]")


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


# --------------------------------------------------------------------------- the anchor service

anchor_app = typer.Typer(help="The anchor service: run it, load it, break it, report it, export it.",
                         no_args_is_help=True)
app.add_typer(anchor_app, name="anchor")
SolutionsOption = Annotated[bool, typer.Option("--solutions", help="run the reference (solutions/anchor)")]


def _use_solutions(solutions: bool) -> None:
    """``--solutions``: the reference package, for this process and every role it starts."""
    if solutions:
        from course.paths import SOLUTIONS_DIR
        from course.target import LAB_PATH_ENV

        os.environ[LAB_PATH_ENV] = str(SOLUTIONS_DIR)


@anchor_app.command("up")
@friendly
def anchor_up(solutions: SolutionsOption = False,
              instances: Annotated[int, typer.Option(help="API instances (more than 1: behind nginx)")] = 1,
              workers: Annotated[int, typer.Option(help="delivery worker processes")] = 1,
              port: Annotated[int | None, typer.Option(help="the API's port (default: a free one)")] = None
              ) -> None:
    """Run the whole service here — API, relay, workers, scheduler, a demo receiver — until Ctrl+C."""
    from course import anchor_stack

    _use_solutions(solutions)
    anchor_stack.stop_on_terminate()
    stack = anchor_stack.start_stack(instances=instances, workers=workers, port=port,
                                     progress=lambda text: console.print(f"[dim]… {text}[/dim]"))
    try:
        demo = anchor_stack.create_demo(stack.api_url, stack.receiver_url, stack.endpoint_secret)
        for name, process in stack.processes.items():
            where = f"  {process.url}" if process.port else ""
            console.print(f"  {name:<10} pid {process.pid}{where}  [dim]log {process.log_path}[/dim]")
        console.print(f"\n[bold]API[/bold]       {stack.api_url}\n"
                      f"[bold]docs[/bold]      {stack.api_url}/docs\n"
                      f"[bold]receiver[/bold]  {stack.receiver.url}/received  "
                      "[dim](what arrived, signatures checked)[/dim]\n")
        console.print(f"A demo tenant, its API key, application '{demo.app_id}' and an endpoint at the "
                      f"receiver are ready. Send a message:\n\n{demo.curl()}\n\nor with the svix SDK:\n\n"
                      f"{demo.svix()}\n", soft_wrap=True, markup=False)
        console.print("Ctrl+C stops everything.")
        died = anchor_stack.watch(stack)
        err.print(f"[red]✗[/red] {died} exited; its last lines:\n{stack.processes[died].output(20)}",
                  markup=False)
        raise typer.Exit(1)
    except KeyboardInterrupt:
        console.print("\nstopping …")
    finally:
        stack.stop()
    console.print("stopped: every role has exited")


@anchor_app.command("load")
@friendly
def anchor_load(solutions: SolutionsOption = False,
                seconds: Annotated[float, typer.Option(help="length of each load phase")] = 60.0,
                connections: Annotated[int, typer.Option(help="concurrent clients (locust users)")] = 50,
                instances: Annotated[int, typer.Option(help="API instances (more than 1: behind nginx)")] = 1,
                workers: Annotated[int, typer.Option(help="delivery worker processes")] = 2,
                scale_to: Annotated[int, typer.Option(
                    help="API instances to compare with, behind nginx (0: no comparison)")] = 2) -> None:
    """Measure ingest and delivery on this machine, with a bare FastAPI yardstick → reports/load.json."""
    from course import anchor_load as load
    from course.anchor_stack import stop_on_terminate

    _use_solutions(solutions)
    stop_on_terminate()
    report = load.run(seconds=seconds, connections=connections, instances=instances, workers=workers,
                      scale_to=scale_to, say=lambda text: console.print(f"[dim]… {text}[/dim]"))
    path = load.write_report(report)
    console.print(f"{load.summary(report)}\n✓ {path}", soft_wrap=True, markup=False)


@anchor_app.command("drill")
@friendly
def anchor_drill(solutions: SolutionsOption = False,
                 only: Annotated[str | None, typer.Option(help="some drills: worker-kill,…")] = None,
                 fault_s: Annotated[float, typer.Option("--fault-s", help="how long each fault lasts")] = 3.0,
                 rate: Annotated[float, typer.Option(help="messages per second during a drill")] = 100.0
                 ) -> None:
    """Kill, restart and slow the anchor's parts under load; lost, duplicates, p99, recovery →
    reports/drills.json."""
    from course import anchor_drill as drills
    from course.anchor_load import write_report
    from course.anchor_stack import stop_on_terminate
    from course.paths import REPORTS_DIR

    _use_solutions(solutions)
    stop_on_terminate()
    report = drills.run(only=only.split(",") if only else None, fault_s=fault_s, rate_per_s=rate,
                        say=lambda text: console.print(f"[dim]… {text}[/dim]"))
    path = write_report(report, REPORTS_DIR / "drills.json")
    table = Table("drill", "lost", "duplicates", "p99 (ms)", "recover (s)", box=None, header_style="bold")
    for row in report["drills"]:
        table.add_row(row["name"], str(row["lost"]), str(row["duplicates"]), str(row["p99_ms"]),
                      str(row["recover_s"]))
    console.print(table)
    console.print(f"✓ {path}")
    if report["lost"]:
        err.print(f"[red]✗[/red] {report['lost']} acknowledged message(s) lost")
        raise typer.Exit(1)


@anchor_app.command("report")
@friendly
def anchor_report(solutions: SolutionsOption = False) -> None:
    """Put reports/load.json and drills.json into the anchor's README and the site's anchor page."""
    from course import anchor_report as reports

    _use_solutions(solutions)
    for page in reports.report():
        console.print(f"✓ {page.relative_to(REPO_ROOT) if page.is_relative_to(REPO_ROOT) else page}")


@anchor_app.command("export")
@friendly
def anchor_export(directory: Annotated[Path, typer.Argument(help="a new (or empty) folder")],
                  solutions: SolutionsOption = False) -> None:
    """Write your service as a repository of its own: pyproject, tests, deploy/, CI, README."""
    from course import anchor_export as exporter

    _use_solutions(solutions)
    done = exporter.export(directory)
    console.print(f"✓ {done.path}: anchor/, pyproject.toml ({len(done.dependencies)} dependencies, "
                  f"{len(done.dev_dependencies)} for development), README.md, .github/workflows")
    for name in done.missing:
        console.print(f"[yellow]·[/yellow] not in your service yet: {name}")
    console.print(f"next: cd {done.path} && git init && python -m pip install -e '.[dev]' && "
                  "DATABASE_URL=… REDIS_URL=… python -m pytest anchor/tests", soft_wrap=True)


if __name__ == "__main__":  # pragma: no cover
    app()

"""MkDocs hooks: the site is generated from the repository, never copied into it.

* one page per week from ``weeks/NN-topic/README.md`` + its lab files + the rendered notebook;
* a progress page from ``tracker.yaml`` (the learner's fork turns the site into a portfolio);
* the navigation, grouped by semester, built from the same curriculum ``course status`` reads;
* markers in hand-written pages (``<!-- course:weeks-table -->``) filled from that curriculum.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from course import curriculum, dsa, interview, progress, resume, tracker
from course.curriculum import Week

SEMESTERS = {1: "Backend foundations", 2: "Production backend", 3: "System design and scale",
             4: "Anchor project and interviews"}


def week_page_uri(week: Week) -> str:
    return f"weeks/{week.folder.name}.md"


def _semester(week: Week) -> int:
    return (week.number - 1) // 4 + 1


# --------------------------------------------------------------------------- hooks


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """Navigation: fixed pages plus every week, grouped by semester."""
    weeks_nav: list[dict[str, Any]] = []
    for number, name in SEMESTERS.items():
        pages = [{f"{w.code} · {w.title}": week_page_uri(w)}
                 for w in curriculum.weeks() if _semester(w) == number]
        weeks_nav.append({f"Semester {number} — {name}": pages})
    config["nav"] = [
        {"Home": "index.md"},
        {"Set up": "setup.md"},
        {"Your progress": "progress.md"},
        {"Weeks": weeks_nav},
        {"Anchor service": "anchor.md"},
        {"Interviews": "interviews.md"},
    ]
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for week in curriculum.weeks():
        files.append(File.generated(config, week_page_uri(week), content=render_week(week)))
    files.append(File.generated(config, "progress.md", content=render_progress(_tracker_or_none())))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    state = _tracker_or_none()
    replacements = {
        "<!-- course:weeks-table -->": render_weeks_table,
        "<!-- course:anchor-readiness -->": lambda: render_anchor_readiness(state),
        "<!-- course:dsa-problems -->": lambda: dsa.render_problem_table(state),
        "<!-- course:design-answers -->": interview.render_design_answers,
        "<!-- course:resume -->": resume.render_site_fragment,
    }
    for marker, render in replacements.items():
        if marker in markdown:
            markdown = markdown.replace(marker, render())
    return markdown


# --------------------------------------------------------------------------- week pages


def render_week(week: Week) -> str:
    lesson = (week.folder / "README.md").read_text()
    parts = [lesson.rstrip(), ""]
    if week.has_lab:
        parts += ["## Lab files", "",
                  f"Your code goes in `labs/{week.package}/`; the tests are in `weeks/{week.folder.name}/`.",
                  f"Run them with `pytest weeks/{week.code}`; "
                  f"`course hint {week.code}` helps when stuck.", "",
                  "| lab | you edit | tests |", "|---|---|---|"]
        for lab in week.labs:
            edits = ", ".join(f"`labs/{week.package}/{name}`" for name in lab.files) or "—"
            parts.append(f"| {lab.title} | {edits} | `weeks/{week.folder.name}/{lab.tests}` |")
        parts.append("")
    if week.notebook.exists():
        parts += ["## Concept notebook", "",
                  f"Run it yourself: `jupyter lab notebooks/{week.notebook.name}` — the numbers below are "
                  "from one run on a 2-core machine; yours will differ, the ratios should not by much.", "",
                  _demote_headings(render_notebook(week.notebook))]
    return "\n".join(parts) + "\n"


def _demote_headings(markdown: str) -> str:
    """Notebook headings sit under the page's own '## Concept notebook'."""
    lines = []
    fenced = False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        lines.append("##" + line if not fenced and line.startswith("#") else line)
    return "\n".join(lines)


def render_notebook(path: Path) -> str:
    """The notebook as Markdown, images embedded, so the page needs no extra files."""
    import nbformat
    from nbconvert import MarkdownExporter

    notebook = nbformat.read(path, as_version=4)
    body, resources = MarkdownExporter().from_notebook_node(notebook)
    for name, data in resources.get("outputs", {}).items():
        suffix = Path(name).suffix.lstrip(".") or "png"
        mime = "svg+xml" if suffix == "svg" else suffix
        uri = f"data:image/{mime};base64,{base64.b64encode(data).decode()}"
        body = body.replace(f"({name})", f"({uri})")
    return body


# --------------------------------------------------------------------------- generated sections


def _tracker_or_none() -> tracker.Tracker | None:
    try:
        return tracker.load()
    except tracker.TrackerError:
        return None


def render_weeks_table() -> str:
    rows = ["| week | topic | what it proves | lab |", "|---|---|---|---|"]
    for week in curriculum.weeks():
        lab = f"{len(week.labs)} labs" if week.has_lab else "coming"
        link = f"[{week.title}]({week_page_uri(week)})"
        rows.append(f"| {week.code} | {link} | {html.escape(week.summary)} | {lab} |")
    return "\n".join(rows)


def render_anchor_readiness(state: tracker.Tracker | None) -> str:
    rows = ["| requirement | built by | ready |", "|---|---|---|"]
    builders: dict[str, list[str]] = {key: [] for key in curriculum.ANCHOR_MILESTONES}
    for week, lab in curriculum.all_labs():
        for milestone in lab.anchor:
            builders.setdefault(milestone, []).append(f"week {week.code} · {lab.title}")
    ready = dict((key, ok) for key, _, ok in progress.anchor_readiness(state)) if state else {}
    for key, title in curriculum.ANCHOR_MILESTONES.items():
        built_by = "<br>".join(builders[key]) or "weeks 13–15"
        rows.append(f"| {title} | {built_by} | {'✓' if ready.get(key) else '·'} |")
    return "\n".join(rows)


def render_progress(state: tracker.Tracker | None) -> str:
    lines = ["# Your progress", ""]
    if state is None:
        lines += ["No `tracker.yaml` (or it does not parse): `course doctor` names the problem;",
                  "`pytest weeks/NN` and `course check` fill it in as your labs pass.", ""]
    else:
        passed, total = progress.labs_passed(state)
        pace = progress.pace(state)
        dates = f"started {state.start} · target {state.target}" if state.start else "not started yet"
        lines += [f"**{passed} of {total} labs passed** · {dates}",
                  "", f"Pace: {pace.summary}.", "", f"Next: {progress.next_step(state).command_line}", ""]
    lines += ["## Labs", "", "| week | lab | status | first passed | commit |", "|---|---|---|---|---|"]
    for week, lab in curriculum.all_labs():
        entry = state.labs.get(lab.id) if state else None
        first = entry.first_passed.date().isoformat() if entry and entry.first_passed else ""
        mark = "✓ passed" if first else (f"{entry.last.passed}/{entry.last.total}" if entry and entry.last
                                         else "not started")
        commit = f"`{entry.commit}`" if entry and entry.commit else ""
        lines.append(f"| {week.code} | {lab.title} | {mark} | {first} | {commit} |")
    lines += ["", "## Anchor service", "", render_anchor_readiness(state), ""]
    if state:
        d = state.deliverables
        url = f"<{d.public_url}>" if d.public_url else "not yet"
        lines += ["## Deliverables", "",
                  f"- Public URL: {url}",
                  f"- Resume rewritten around impact: {'yes' if d.resume else 'not yet'}",
                  f"- System-design stories ready: {d.design_stories} of 3",
                  f"- DSA problems solved: {dsa.summary(state)} — [by pattern](interviews.md)", ""]
    return "\n".join(lines)

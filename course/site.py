"""MkDocs hooks: the site is generated from the repository, never copied into it.

* one page per week from ``weeks/NN-topic/README.md`` + its lab files + the rendered notebook;
* a progress page from ``tracker.yaml`` (the learner's fork turns the site into a portfolio);
* the navigation, grouped by semester, built from the same curriculum ``course status`` reads;
* markers in hand-written pages (``<!-- course:weeks-table -->``) filled from that curriculum.
"""

from __future__ import annotations

import base64
import datetime as dt
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
        {"System designs": _design_pages(Path(config["docs_dir"]))},
        {"Anchor service": "anchor.md"},
        {"Interviews": "interviews.md"},
    ]
    return config


def _design_pages(docs_dir: Path) -> list[str]:
    """The written designs (week 11's, the interview answers): the template first, then by name."""
    pages = sorted(path.relative_to(docs_dir).as_posix() for path in (docs_dir / "designs").glob("*.md"))
    return sorted(pages, key=lambda page: page != "designs/index.md")


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


BURN_UP_SIZE = (640, 280)  # px; the chart scales down with the page (viewBox)
_PAD_LEFT, _PAD_RIGHT, _PAD_TOP, _PAD_BOTTOM = 52, 24, 36, 48


def render_burn_up_svg(chart: progress.BurnUp) -> str:
    """The burn-up chart as inline SVG: labs passed (steps) against the pace line (dashed).

    Drawn by hand at build time from ``tracker.yaml`` — a few dozen elements, no JavaScript and no
    image file, so the progress page stays one offline document. Text and axes use
    ``currentColor`` so the chart follows the theme's light and dark palettes. One line per
    element and no blank lines: Markdown passes the whole ``<figure>`` through as raw HTML.
    """
    width, height = BURN_UP_SIZE
    plot_w, plot_h = width - _PAD_LEFT - _PAD_RIGHT, height - _PAD_TOP - _PAD_BOTTOM
    first, last = chart.start, max(chart.target, chart.today)
    span = max((last - first).days, 1)
    total = max(chart.total, 1)

    def x(day: dt.date) -> float:
        return round(_PAD_LEFT + plot_w * (day - first).days / span, 1)

    def y(labs: float) -> float:
        return round(_PAD_TOP + plot_h * (1 - labs / total), 1)

    def text(px: float, py: float, words: str, anchor: str = "middle", extra: str = "",
             size: int = 11) -> str:
        return (f'<text x="{px}" y="{py}" text-anchor="{anchor}" font-size="{size}" '
                f'fill="currentColor"{extra}>{html.escape(words)}</text>')

    title = "Labs passed over time against the pace line"
    parts = [f'<svg id="burn-up" class="burn-up" xmlns="http://www.w3.org/2000/svg" role="img" '
             f'viewBox="0 0 {width} {height}" width="100%" style="max-width:{width}px" '
             f'aria-labelledby="burn-up-title">',
             f'<title id="burn-up-title">{title}: {chart.done} of {chart.total} passed, the pace line says '
             f'{chart.expected:.0f} by {chart.today.isoformat()}</title>',
             text(width / 2, 18, f"Burn-up: {title.lower()}", extra=' font-weight="bold"'),
             f'<g stroke="currentColor" stroke-opacity="0.35" fill="none">'
             f'<path d="M{_PAD_LEFT},{_PAD_TOP} V{_PAD_TOP + plot_h} H{_PAD_LEFT + plot_w}"/></g>']
    step = max(1, -(-chart.total // 4))
    for labs in sorted({*range(0, chart.total + 1, step), chart.total}):
        parts.append(f'<line x1="{_PAD_LEFT - 4}" x2="{_PAD_LEFT + plot_w}" y1="{y(labs)}" y2="{y(labs)}" '
                     f'stroke="currentColor" stroke-opacity="0.12"/>')
        parts.append(text(_PAD_LEFT - 7, y(labs) + 4, str(labs), anchor="end"))
    month = dt.date(first.year, first.month, 1)
    while month <= last:
        if month >= first:
            parts.append(f'<line x1="{x(month)}" x2="{x(month)}" y1="{_PAD_TOP + plot_h}" '
                         f'y2="{_PAD_TOP + plot_h + 4}" stroke="currentColor" stroke-opacity="0.5"/>')
            parts.append(text(x(month), _PAD_TOP + plot_h + 16, month.strftime("%b")))
        month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    parts.append(text(_PAD_LEFT + plot_w / 2, height - 8, f"date ({first.isoformat()} → {last.isoformat()})"))
    parts.append(text(14, _PAD_TOP + plot_h / 2, f"labs passed (of {chart.total})",
                      extra=f' transform="rotate(-90 14 {_PAD_TOP + plot_h / 2})"'))
    parts.append(f'<line class="pace" x1="{x(chart.start)}" y1="{y(0)}" x2="{x(chart.target)}" '
                 f'y2="{y(chart.total)}" stroke="#3f51b5" stroke-width="2" stroke-dasharray="6 4"/>')
    parts.append(f'<line class="today" x1="{x(chart.today)}" x2="{x(chart.today)}" y1="{_PAD_TOP}" '
                 f'y2="{_PAD_TOP + plot_h}" stroke="currentColor" stroke-opacity="0.5" '
                 'stroke-dasharray="2 3"/>')
    near_left = x(chart.today) - _PAD_LEFT < 30
    parts.append(text(x(chart.today) + (4 if near_left else 0), _PAD_TOP - 4, "today",
                      anchor="start" if near_left else "middle"))
    if chart.started:
        path = [f"M{x(chart.start)},{y(0)}"]
        for count, day in enumerate(chart.passes, start=1):
            path.append(f"H{x(day)} V{y(count)}")
        path.append(f"H{x(chart.today)}")
        parts.append(f'<path class="done" d="{" ".join(path)}" fill="none" stroke="#2e7d32" '
                     'stroke-width="2.5"/>')
        legend = [("#2e7d32", "", f"labs passed ({chart.done})"),
                  ("#3f51b5", ' stroke-dasharray="6 4"', f"pace line ({chart.expected:.0f} by today)")]
    else:
        parts.append(text(_PAD_LEFT + plot_w * 0.35, _PAD_TOP + plot_h * 0.4,
                          "not started — run course start to start your clock", size=13))
        legend = [("#3f51b5", ' stroke-dasharray="6 4"', "pace line if you start today")]
    for row, (colour, dash, label) in enumerate(legend):
        ly = _PAD_TOP + 10 + 16 * row
        parts.append(f'<line x1="{_PAD_LEFT + 10}" x2="{_PAD_LEFT + 34}" y1="{ly}" y2="{ly}" '
                     f'stroke="{colour}" stroke-width="2"{dash}/>')
        parts.append(text(_PAD_LEFT + 40, ly + 4, label, anchor="start"))
    parts.append("</svg>")
    return "\n".join(parts)


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
    # Without a usable tracker the chart is the not-started one: the page never loses its chart.
    lines += ['<figure class="burn-up-chart" markdown="0">',
              render_burn_up_svg(progress.burn_up(state or tracker.Tracker())),
              "<figcaption>Each step up is a lab's first pass; while the green line stays on or above "
              "the dashed pace line you will finish by the target date.</figcaption>", "</figure>", ""]
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

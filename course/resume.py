"""The learner's resume: a YAML file rendered to one page of HTML and PDF, every bullet linted.

A bullet earns its line when it says what you did (an action verb), how much (a number) and what
changed because of it (an outcome) — "accomplished X, as measured by Y, by doing Z". The lint says
which bullet misses which part and how to fix it. Bullets of the anchor project may name measured
values — ``{webhooks_per_s}``, ``{p99_ms}``, ``{cores}``, ``{drills}``, ``{lost}`` — filled from the
anchor's own reports when they exist:

* ``reports/load.json``: ``{"webhooks_per_s": 850.0, "p99_ms": 42.0, "cores": 2}`` — the load test;
* ``reports/drills.json``: ``{"drills": [{"name": "postgres-down", "lost": 0}, …]}`` — the fault drills.

Until they do, the value shows as a marked placeholder (``[[p99_ms: run the anchor's load test]]``)
and the lint says so: a resume never shows a number nobody measured.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from course.errors import CourseError
from course.paths import REPO_ROOT, REPORTS_DIR, lab_package_dir

PACKAGE = "week16_interviews"
PLACEHOLDER = re.compile(r"\[\[(?P<what>[^\]]+)\]\]")
FIELD = re.compile(r"\{(?P<name>[a-z][a-z0-9_]*)\}")

# The verbs that open a strong bullet (past tense: it happened). Not exhaustive: a verb ending in
# "-ed" passes too; "Responsible for", "Worked on", "Helped" and nouns do not.
ACTION_VERBS = frozenset(re.findall(r"[a-z]+", """
achieved added automated built cut debugged decreased defined delivered deployed designed
diagnosed doubled drove eliminated enabled engineered established fixed grew halved implemented
improved increased introduced kept launched led lowered mentored merged migrated modelled optimised
optimized owned partitioned prevented profiled rebuilt reduced refactored removed replaced
rewrote ran saved scaled secured shipped shortened simplified sped split standardised
standardized tripled tuned wrote
"""))
WEAK_OPENERS = frozenset({"responsible", "worked", "helped", "assisted", "participated", "involved",
                          "tasked", "duties", "various"})
OUTCOME = re.compile(
    r"\b(from\b.+\bto\b|cut|cutting|reduc|lower|rais|increas|decreas|improv|sav|faster|fewer|"
    r"zero|without|so that|enabling|allowing|prevent|eliminat|halv|doubl|tripl|lost|kept|"
    r"under|within|down to|up to|p\d\d)", re.IGNORECASE)


class ResumeError(CourseError):
    """resume.yaml cannot be read or rendered; the message names the file and the field."""


class Entry(BaseModel):
    """A job or a project: a heading line and its bullets."""

    model_config = ConfigDict(extra="forbid")

    title: str
    where: str = ""
    dates: str = ""
    link: str = ""
    anchor: bool = False  # the anchor service: its bullets may name measured values
    bullets: list[str] = Field(min_length=1)


class Resume(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    headline: str
    contact: list[str] = []
    summary: str = ""
    experience: list[Entry] = []
    projects: list[Entry] = []
    skills: dict[str, list[str]] = {}
    education: list[str] = []


@dataclass(frozen=True)
class Finding:
    """One bullet that fails the lint: where it is, what it says, and why it fails."""

    where: str
    bullet: str
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.where}: {self.bullet!r}\n    " + "\n    ".join(self.reasons)


def default_path() -> Path:
    """The learner's resume: ``labs/week16_interviews/resume.yaml``."""
    return lab_package_dir(PACKAGE) / "resume.yaml"


def load(path: Path | None = None) -> Resume:
    path = path or default_path()
    try:
        data = YAML(typ="safe").load(path.read_text())
        return Resume.model_validate(data)
    except FileNotFoundError as exc:
        raise ResumeError(f"{path}: not found — `git checkout {path.name}` restores the template") from exc
    except YAMLError as exc:
        raise ResumeError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise ResumeError(f"{path}: {field}: {first['msg']}") from exc


# --------------------------------------------------------------------------- the anchor's numbers


def anchor_values(reports: Path = REPORTS_DIR) -> dict[str, str]:
    """Values the anchor's reports measured, formatted for a bullet; absent reports give none."""
    values: dict[str, str] = {}
    load_report = _read_json(reports / "load.json")
    if load_report:
        values["webhooks_per_s"] = f"{float(load_report['webhooks_per_s']):,.0f}"
        values["p99_ms"] = f"{float(load_report['p99_ms']):.0f}"
        values["cores"] = str(int(load_report.get("cores", 2)))
    drills_report = _read_json(reports / "drills.json")
    if drills_report:
        drills = drills_report.get("drills", [])
        values["drills"] = str(len(drills))
        values["lost"] = str(sum(int(d.get("lost", 0)) for d in drills))
    return values


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ResumeError(f"{path}: not valid JSON ({exc}); re-run the anchor's report") from exc
    return data if isinstance(data, dict) else None


SOURCES = {"webhooks_per_s": "load", "p99_ms": "load", "cores": "load", "drills": "drills", "lost": "drills"}


def fill(bullet: str, values: dict[str, str]) -> str:
    """Put measured values into ``{name}`` fields; a value not measured yet becomes a placeholder."""
    def value(match: re.Match[str]) -> str:
        name = match["name"]
        if name in values:
            return values[name]
        source = SOURCES.get(name)
        where = f"run the anchor's {source} report (reports/{source}.json)" if source else "unknown field"
        return f"[[{name}: {where}]]"
    return FIELD.sub(value, bullet)


def filled(resume: Resume, values: dict[str, str]) -> Resume:
    """The resume with every anchor bullet's fields filled."""
    projects = [entry.model_copy(update={"bullets": [fill(b, values) for b in entry.bullets]})
                if entry.anchor else entry for entry in resume.projects]
    return resume.model_copy(update={"projects": projects})


# --------------------------------------------------------------------------- the lint


def lint_bullet(bullet: str) -> list[str]:
    """Why a bullet fails (empty: it passes)."""
    reasons = []
    words = re.findall(r"[A-Za-z']+", bullet)
    first = words[0].lower() if words else ""
    if first in WEAK_OPENERS or not (first in ACTION_VERBS or (first.endswith("ed") and len(first) > 4)):
        reasons.append(f"no action: it opens with {words[0] if words else 'nothing'!r} — start with what "
                       "you did, in the past tense (Cut, Built, Led, Delivered …)")
    if (placeholder := PLACEHOLDER.search(bullet) or FIELD.search(bullet)) is not None:
        what = placeholder.groupdict().get("what") or f"{{{placeholder['name']}}}"
        reasons.append(f"a placeholder is not filled: {what}")
    elif not re.search(r"\d", bullet):
        reasons.append("no number: how much, how many, how fast? (requests/s, p99 ms, % saved, "
                       "people, weeks) — a number you measured and can reproduce")
    if not OUTCOME.search(bullet):
        reasons.append("no outcome: say what changed because of it — '…, cutting p99 from 480 ms to "
                       "35 ms', '… with 0 requests lost'")
    length = len(PLACEHOLDER.sub("000", bullet))  # as it will read once the value is measured
    if length > 220:
        reasons.append(f"too long ({length} characters): one line and a half at most")
    return reasons


def lint(resume: Resume) -> list[Finding]:
    """Every bullet that fails, with where it is and why."""
    findings = []
    for section, entries in (("experience", resume.experience), ("projects", resume.projects)):
        for entry in entries:
            for number, bullet in enumerate(entry.bullets, 1):
                reasons = lint_bullet(bullet)
                if reasons:
                    findings.append(Finding(f"{section} · {entry.title} · bullet {number}", bullet,
                                            tuple(reasons)))
    return findings


# --------------------------------------------------------------------------- rendering

CSS = """
body { font: 10.5pt/1.35 system-ui, sans-serif; max-width: 46em; margin: 2em auto; color: #111; }
h1 { font-size: 20pt; margin: 0; } h2 { font-size: 11pt; text-transform: uppercase;
letter-spacing: .08em; border-bottom: 1px solid #999; margin: 1.1em 0 .4em; }
.headline { margin: .1em 0; color: #333; } .contact { color: #555; font-size: 9.5pt; }
.entry { display: flex; justify-content: space-between; font-weight: 600; margin-top: .5em; }
ul { margin: .2em 0 .2em 1.2em; padding: 0; } li { margin: .1em 0; }
.placeholder { background: #fde68a; }
"""


def _html_text(text: str) -> str:
    escaped = html.escape(text)
    return PLACEHOLDER.sub(lambda m: f'<span class="placeholder">[[{m["what"]}]]</span>', escaped)


def render_html(resume: Resume, *, standalone: bool = True) -> str:
    """The resume as HTML: a whole page, or (``standalone=False``) a fragment for the site."""
    parts = [f"<h1>{html.escape(resume.name)}</h1>",
             f'<p class="headline">{html.escape(resume.headline)}</p>']
    if resume.contact:
        parts.append(f'<p class="contact">{" · ".join(html.escape(c) for c in resume.contact)}</p>')
    if resume.summary:
        parts.append(f"<p>{_html_text(resume.summary)}</p>")
    for heading, entries in (("Experience", resume.experience), ("Projects", resume.projects)):
        if not entries:
            continue
        parts.append(f"<h2>{heading}</h2>")
        for entry in entries:
            where = f" — {html.escape(entry.where)}" if entry.where else ""
            parts.append(f'<div class="entry"><span>{html.escape(entry.title)}{where}</span>'
                         f"<span>{html.escape(entry.dates)}</span></div>")
            parts.append("<ul>" + "".join(f"<li>{_html_text(b)}</li>" for b in entry.bullets) + "</ul>")
    if resume.skills:
        parts.append("<h2>Skills</h2><ul>" + "".join(
            f"<li><b>{html.escape(group)}:</b> {html.escape(', '.join(items))}</li>"
            for group, items in resume.skills.items()) + "</ul>")
    if resume.education:
        parts.append("<h2>Education</h2><ul>" + "".join(f"<li>{html.escape(e)}</li>"
                                                        for e in resume.education) + "</ul>")
    body = "\n".join(parts)
    if not standalone:
        return f'<div class="resume">\n{body}\n</div>'
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>'
            f"{html.escape(resume.name)} — resume</title><style>{CSS}</style></head>\n"
            f"<body>\n{body}\n</body></html>\n")


def render_pdf(resume: Resume, target: Path) -> int:
    """Write the resume as a PDF; returns its page count (the goal is one)."""
    from pypdf import PdfReader
    from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet  # type: ignore[import-untyped]
    from reportlab.lib.units import mm  # type: ignore[import-untyped]
    from reportlab.platypus import ListFlowable, ListItem, Paragraph, SimpleDocTemplate, Spacer  # type: ignore[import-untyped]

    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["BodyText"], fontSize=9.5, leading=12)
    small = ParagraphStyle("small", parent=body, fontSize=8.5, textColor="#555555")
    heading = ParagraphStyle("heading", parent=styles["Heading2"], fontSize=11, spaceBefore=6, spaceAfter=2)
    entry_style = ParagraphStyle("entry", parent=body, fontName="Helvetica-Bold", spaceBefore=3)

    def text(value: str) -> str:  # reportlab paragraphs are a small XML dialect
        return html.escape(value, quote=False)

    story: list[Any] = [Paragraph(text(resume.name), styles["Title"]), Paragraph(text(resume.headline), body)]
    if resume.contact:
        story.append(Paragraph(text(" · ".join(resume.contact)), small))
    if resume.summary:
        story += [Spacer(1, 4), Paragraph(text(resume.summary), body)]
    for title, entries in (("Experience", resume.experience), ("Projects", resume.projects)):
        if entries:
            story.append(Paragraph(title, heading))
        for entry in entries:
            where = f" — {entry.where}" if entry.where else ""
            dates = f" ({entry.dates})" if entry.dates else ""
            story.append(Paragraph(text(f"{entry.title}{where}{dates}"), entry_style))
            story.append(ListFlowable([ListItem(Paragraph(text(b), body), leftIndent=10)
                                       for b in entry.bullets], bulletType="bullet", leftIndent=10))
    if resume.skills:
        story.append(Paragraph("Skills", heading))
        story += [Paragraph(f"<b>{text(group)}:</b> {text(', '.join(items))}", body)
                  for group, items in resume.skills.items()]
    if resume.education:
        story.append(Paragraph("Education", heading))
        story += [Paragraph(text(e), body) for e in resume.education]
    target.parent.mkdir(parents=True, exist_ok=True)
    SimpleDocTemplate(str(target), pagesize=A4, leftMargin=16 * mm, rightMargin=16 * mm,
                      topMargin=14 * mm, bottomMargin=14 * mm, title=f"{resume.name} — resume",
                      author=resume.name).build(story)
    return len(PdfReader(str(target)).pages)


@dataclass(frozen=True)
class Rendered:
    html: Path
    pdf: Path
    pages: int
    findings: list[Finding]


def build(source: Path | None = None, out_dir: Path | None = None,
          reports: Path = REPORTS_DIR) -> Rendered:
    """Lint and render: ``resume.html`` and ``resume.pdf`` in ``out_dir`` (default ``build/resume``)."""
    resume = filled(load(source), anchor_values(reports))
    out_dir = out_dir or REPO_ROOT / "build" / "resume"
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, pdf_path = out_dir / "resume.html", out_dir / "resume.pdf"
    html_path.write_text(render_html(resume))
    pages = render_pdf(resume, pdf_path)
    return Rendered(html_path, pdf_path, pages, lint(resume))


def pdf_text(path: Path) -> str:
    """The text of a PDF, read back (what an applicant-tracking system will see)."""
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)


def render_site_fragment(source: Path | None = None) -> str:
    """The learner's resume for the site's Interviews page, or a note saying how to fix the file."""
    try:
        resume = filled(load(source), anchor_values())
    except ResumeError as exc:
        return f"!!! warning \"The resume does not render\"\n    {exc}"
    findings = lint(resume)
    note = (f"{len(findings)} bullet(s) still fail the lint — `course resume --lint` says which and why."
            if findings else "Every bullet has an action, a number and an outcome.")
    return f"{note}\n\n{render_html(resume, standalone=False)}\n"

"""Your resume and your stories: every bullet linted, one page of PDF, STAR with a reflection.

The anchor's reports are stood in by sample numbers here, so the test checks your bullets' shape
whether or not the anchor has run yet; `course resume` uses the real ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import labs.week16_interviews as package
from course import interview, resume

FOLDER = Path(package.__path__[0])
SAMPLE_LOAD = {"webhooks_per_s": 1234.0, "p99_ms": 87.0, "cores": 2}
SAMPLE_DRILLS = {"drills": [{"name": f"drill-{i}", "lost": 0} for i in range(7)]}


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "load.json").write_text(json.dumps(SAMPLE_LOAD))
    (folder / "drills.json").write_text(json.dumps(SAMPLE_DRILLS))
    return folder


def test_resume_bullets_have_an_action_a_number_and_an_outcome(reports: Path) -> None:
    filled = resume.filled(resume.load(FOLDER / "resume.yaml"), resume.anchor_values(reports))
    findings = resume.lint(filled)
    assert not findings, f"{len(findings)} bullet(s) of resume.yaml fail the lint:\n" + "\n".join(
        str(f) for f in findings
    )


def test_resume_renders_one_page_that_reads_back(reports: Path, tmp_path: Path) -> None:
    data = resume.load(FOLDER / "resume.yaml")
    assert data.name != "Your Name", "resume.yaml still has the template's name: fill in yours"
    built = resume.build(FOLDER / "resume.yaml", tmp_path / "out", reports)
    assert built.pages == 1, (
        f"the PDF has {built.pages} pages; a resume is one page — cut the weakest bullets"
    )
    text = " ".join(resume.pdf_text(built.pdf).split())
    assert data.name in text, f"the PDF's text does not contain your name {data.name!r}: {text[:200]!r}"
    assert "1,234" in text, (
        "the anchor's bullets should name {webhooks_per_s} (here the sample 1,234): "
        f"it is not in the PDF's text: {text[:400]!r}"
    )
    assert "[[" not in text, "a placeholder reached the PDF: every {field} must be one resume.py knows"


def test_stories_are_star_with_a_reflection() -> None:
    problems = interview.story_problems(interview.load_stories(FOLDER / "stories.yaml"))
    assert not problems, "stories.yaml is not ready:\n" + "\n".join(problems)

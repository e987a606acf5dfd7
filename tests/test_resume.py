"""course.resume: the sample resume renders to one page that reads back; the lint names bad bullets."""

from __future__ import annotations

import json
from pathlib import Path

from course import resume
from course.paths import solution_package_dir

SAMPLE = solution_package_dir("week16_interviews") / "resume.yaml"


def _reports(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "load.json").write_text(json.dumps({"webhooks_per_s": 850.4, "p99_ms": 42.2, "cores": 2}))
    (folder / "drills.json").write_text(json.dumps({"drills": [{"name": "pg-down", "lost": 0}] * 7}))
    return folder


def test_the_sample_resume_renders_one_page_of_html_and_pdf(tmp_path: Path) -> None:
    built = resume.build(SAMPLE, tmp_path / "out", _reports(tmp_path))
    assert built.pages == 1
    assert built.findings == [], [str(f) for f in built.findings]
    text = " ".join(resume.pdf_text(built.pdf).split())
    assert "Ada Example" in text
    assert "Delivered 850 webhooks/s on 2 cores with p99 42 ms" in text
    assert "Kept webhook loss at 0 across 7 fault drills" in text
    page = built.html.read_text()
    assert "<h1>Ada Example</h1>" in page and "850 webhooks/s" in page


def test_without_reports_the_anchor_bullets_show_marked_placeholders(tmp_path: Path) -> None:
    filled = resume.filled(resume.load(SAMPLE), resume.anchor_values(tmp_path / "no-reports"))
    bullet = filled.projects[0].bullets[0]
    assert "[[webhooks_per_s: run the anchor's load report (reports/load.json)]]" in bullet
    assert "[[p99_ms:" in bullet
    findings = resume.lint(filled)
    assert any("a placeholder is not filled: webhooks_per_s" in r for f in findings for r in f.reasons)


def test_the_lint_says_which_bullet_fails_and_why() -> None:
    assert resume.lint_bullet("Cut p99 of the listing endpoint from 480 ms to 35 ms with one index") == []
    no_number = resume.lint_bullet("Cut the latency of the listing endpoint by adding an index")
    assert any(reason.startswith("no number") for reason in no_number), no_number
    assert any(
        r.startswith("no action") for r in resume.lint_bullet("Responsible for 3 services, cutting costs")
    )
    assert any(r.startswith("no outcome") for r in resume.lint_bullet("Wrote 12 endpoints"))
    sample = resume.load(SAMPLE)
    broken = sample.model_copy(
        update={
            "experience": [sample.experience[0].model_copy(update={"bullets": ["Built the billing service"]})]
        }
    )
    findings = resume.lint(broken)
    assert findings[0].where == "experience · Python developer · bullet 1"
    assert "no number" in str(findings[0])
    assert "a placeholder is not filled: {lost}" in str(findings[-1]), "an unfilled field is named"

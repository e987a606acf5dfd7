"""The site: builds strictly, works offline, and renders in a real headless browser."""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from course import curriculum
from course.paths import REPO_ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
EXTERNAL_ASSET = re.compile(r"""<(?:script|link|img)[^>]+(?:src|href)=["'](?:https?:)?//""", re.IGNORECASE)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(out)],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
                            env=os.environ | {"NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    return out


def test_every_week_has_a_page(site: Path) -> None:
    for week in curriculum.weeks():
        page = site / "weeks" / week.folder.name / "index.html"
        assert page.is_file(), page
        assert week.title.split(",")[0] in page.read_text()
        if not week.has_lab:
            assert "Lab coming" in page.read_text()


def test_home_progress_anchor_and_interviews_pages(site: Path) -> None:
    home = (site / "index.html").read_text()
    text = re.sub(r"<[^>]+>", "", home)
    assert "make start" in text and "make test" in text, "the two commands open the home page"
    assert all(f"weeks/{w.folder.name}/" in home for w in curriculum.weeks()), "home lists every week"
    assert "Your progress" in (site / "progress" / "index.html").read_text()
    assert 'class="mermaid"' in (site / "anchor" / "index.html").read_text()
    assert (site / "interviews" / "index.html").is_file()


def test_the_built_site_loads_nothing_from_the_internet(site: Path) -> None:
    offenders = [str(page.relative_to(site)) for page in site.rglob("*.html")
                 if EXTERNAL_ASSET.search(page.read_text())]
    assert not offenders, f"pages load external assets (they must work offline): {offenders[:5]}"
    assert (site / "assets" / "javascripts" / "mermaid.min.js").is_file()
    css = "\n".join(p.read_text() for p in site.rglob("*.css"))
    assert "fonts.googleapis" not in css and "fonts.gstatic" not in css


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium); "
                                               "the browser check is skipped")
def test_pages_render_in_headless_chromium_with_diagrams_figures_and_charts(served: str) -> None:
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page()
            page.on("request", lambda r: outside.append(r.url)
                    if not r.url.startswith(("http://127.0.0.1", "data:")) else None)
            page.goto(served + "/")
            assert page.get_by_role("heading", name="Backend Semester").is_visible()
            page.goto(f"{served}/weeks/{curriculum.week(1).folder.name}/")
            assert page.get_by_role("heading", level=1).first.inner_text().startswith("Week 01")
            figure = page.locator("article img[src^='data:image/png']").first
            figure.scroll_into_view_if_needed()
            drawn = figure.evaluate("img => img.complete && img.naturalWidth > 100")
            assert drawn, "the week page shows no drawn notebook figure (a PNG in the notebook's output)"
            page.goto(served + "/progress/")
            chart = page.locator("svg#burn-up")
            box = chart.bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 100, \
                f"the progress page's burn-up chart is not drawn: {box}"
            assert chart.locator("line.pace").count() == 1, "the burn-up chart has no pace line"
            page.goto(served + "/anchor/")
            diagram = page.locator("div.mermaid").first
            page.wait_for_function(
                "() => { const d = document.querySelector('div.mermaid');"
                " return d && d.getBoundingClientRect().height > 100; }", timeout=20_000)
            box = diagram.bounding_box()
            assert box is not None and box["height"] > 100, "the Mermaid diagram was not drawn"
        finally:
            browser.close()
    assert not outside, f"the site asked the internet for: {outside[:5]}"


def test_the_burn_up_chart_draws_an_empty_or_a_started_tracker() -> None:
    import datetime as dt
    import xml.etree.ElementTree as ET

    from course import progress, site, tracker

    svg_ns = "{http://www.w3.org/2000/svg}"
    empty = progress.burn_up(tracker.Tracker(), today=dt.date(2026, 12, 2))
    fresh = ET.fromstring(site.render_burn_up_svg(empty))
    lines = {el.get("class"): el for el in fresh.iter(f"{svg_ns}line")}
    assert "pace" in lines, "an empty tracker still shows the pace line"
    assert not [el for el in fresh.iter(f"{svg_ns}path") if el.get("class") == "done"]
    assert any("not started" in (el.text or "") for el in fresh.iter(f"{svg_ns}text"))

    first_lab = curriculum.all_labs()[0][1].id
    passed = tracker.LabProgress(first_passed=dt.datetime(2026, 12, 5, tzinfo=dt.UTC))
    state = tracker.Tracker(start=dt.date(2026, 12, 1), target=dt.date(2027, 5, 31), labs={first_lab: passed})
    chart = ET.fromstring(site.render_burn_up_svg(progress.burn_up(state, today=dt.date(2027, 1, 10))))
    done = [el for el in chart.iter(f"{svg_ns}path") if el.get("class") == "done"]
    assert len(done) == 1 and done[0].get("d", "").count("V") == 1, "one step per lab passed"
    texts = " ".join(el.text or "" for el in chart.iter(f"{svg_ns}text"))
    assert "labs passed (of" in texts and "date (2026-12-01" in texts, "axes are labelled"
    assert "1 of" in (chart.find(f"{svg_ns}title").text or "")


def test_the_progress_page_before_and_after_the_clock_starts() -> None:
    from course import site, tracker

    fresh = site.render_progress(tracker.Tracker())
    assert "not started yet" in fresh and "course start" in fresh, fresh[:400]
    started = site.render_progress(tracker.Tracker(start="2026-12-01", target="2027-05-31"))
    assert "started 2026-12-01 · target 2027-05-31" in started, started[:400]
    missing = site.render_progress(None)
    assert "No `tracker.yaml`" in missing
    for page in (fresh, started, missing):
        assert '<svg id="burn-up"' in page and "\n\n" not in page.split("<figure")[1].split("</figure>")[0], \
            "the burn-up chart is one raw-HTML block (a blank line inside would end it)"

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
def test_pages_render_in_headless_chromium_with_diagrams(served: str) -> None:
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


def test_the_progress_page_before_and_after_the_clock_starts() -> None:
    from course import site, tracker

    fresh = site.render_progress(tracker.Tracker())
    assert "not started yet" in fresh and "course start" in fresh, fresh[:400]
    started = site.render_progress(tracker.Tracker(start="2026-12-01", target="2027-05-31"))
    assert "started 2026-12-01 · target 2027-05-31" in started, started[:400]
    assert "No `tracker.yaml`" in site.render_progress(None)

"""``course anchor report``: the measured numbers, where people read them.

Renders ``reports/load.json`` and ``reports/drills.json`` into two places, between markers so the
rest of each file stays the author's: the anchor's own README (``<package root>/anchor/README.md``
— the learner's portfolio page) and the site's anchor page (``docs/anchor.md``). Every number
goes out with the machine and the command that produced it; a number without them is a claim.
Each shape is a figure (the latency distribution, the drills' recovery), drawn with
:mod:`course.figures` into PNGs beside the page; the tables keep the exact values.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from course import figures
from course.anchor import AnchorError, package_root
from course.paths import REPO_ROOT, REPORTS_DIR

BEGIN, END = "<!-- anchor:report -->", "<!-- /anchor:report -->"
SITE_PAGE = REPO_ROOT / "docs" / "anchor.md"
NOT_YET = ("No measurements yet: run `course anchor load` and `course anchor drill`, then "
           "`course anchor report`.")


def read(name: str, reports: Path = REPORTS_DIR) -> dict[str, Any] | None:
    """A report, or None when it has not been measured yet."""
    path = reports / f"{name}.json"
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise AnchorError(f"{path} is not valid JSON ({exc}); run `course anchor {name}` again") from exc
    if not isinstance(document, dict):
        raise AnchorError(f"{path} is not a report; run `course anchor {name}` again")
    return document


def _machine(box: dict[str, Any]) -> str:
    return (f"{box['cores']} cores ({box.get('cpu', '?')}), {box.get('memory_gb', '?')} GiB, "
            f"{box.get('os', '')}, Python {box.get('python', '?')}, PostgreSQL {box.get('postgres', '?')}, "
            f"Redis {box.get('redis', '?')}")


def _instances(count: int) -> str:
    return "1 API instance" if count == 1 else f"{count} API instances behind nginx"


def load_section(load: dict[str, Any], figure: str | None) -> str:
    ingest, delivery, bare = load["ingest"], load["delivery"], load["yardstick"]
    half = load["half_rate"]
    lateness = half["delivery"]["ingest_to_first_attempt_ms"]
    rows = [
        ("ingest, flat out", f"{ingest['rate_per_s']:,.0f} messages/s at {ingest['connections']} "
                             f"connections; p50 {ingest['p50_ms']:g} ms, p99 {ingest['p99_ms']:g} ms; "
                             f"{ingest['errors']} errors"),
        ("bare FastAPI endpoint, same run", f"{bare['rate_per_s']:,.0f} requests/s "
                                            f"(anchor = {load['ingest_vs_bare']}×)"),
        ("delivery to a loopback receiver", f"{delivery['rate_per_s']:,.0f} webhooks/s; "
                                            f"{delivery['duplicates']} duplicates; "
                                            f"{delivery['invalid_signatures']} bad signatures"),
        (f"ingest → first attempt at {half['target_rate_per_s']:,.0f} msg/s (half rate)",
         f"p50 {lateness['p50']} ms, p95 {lateness['p95']} ms, p99 {lateness['p99']} ms"),
        ("lost (accepted, never delivered)", str(load["lost"])),
    ]
    scaling = load.get("scaling", {})
    rows += [(f"ingest, {_instances(point['instances'])}",
              f"{point['rate_per_s']:,.0f} messages/s, p99 {point['p99_ms']:g} ms"
              + (f"; cores {point['cpu_busy_pct']:g}% busy" if point["cpu_busy_pct"] is not None else ""))
             for point in scaling.get("points", [])]
    table = "| measure | value |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)
    parts = [f"### Load\n\nMeasured {load['measured_at']} on {_machine(load['machine'])}, with "
             f"`{load['command']}` ({load['load_generator']}).\n", table]
    if scaling.get("verdict"):
        parts.append(f"\n**Scaling.** {scaling['verdict']}")
    if figure:
        parts.append(f"\n![Ingest to first attempt, half rate]({figure})\n\n**Figure.** How long after a "
                     "client sent a message its first delivery attempt reached the receiver, at half the "
                     f"maximum ingest rate: most arrive near the median ({lateness['p50']} ms); the dashed "
                     f"line is the p99 ({lateness['p99']} ms), the tail a customer notices.")
    return "\n".join(parts)


def drills_section(drills: dict[str, Any], figure: str | None) -> str:
    header = ("| drill | lost | duplicates | p99 during (ms) | recovered (s) | what happened |\n"
              "|---|---|---|---|---|---|")
    rows = [f"| {d['name']} | {d['lost']} | {d['duplicates']} | {d['p99_ms']} | {d['recover_s']} | "
            f"{d.get('detail', '')} |" for d in drills["drills"]]
    parts = [f"### Drills\n\nMeasured {drills['measured_at']} on {_machine(drills['machine'])}, with "
             f"`{drills['command']}`: each fault under {drills['rate_per_s']:g} messages/s, for "
             f"{drills['fault_s']:g} s, nothing restarted by hand. *lost* counts messages the API "
             "acknowledged that were neither delivered nor recorded as failed.\n", header, *rows]
    if figure:
        slowest = max(drills["drills"], key=lambda d: d["recover_s"])
        parts.append(f"\n![Recovery per drill]({figure})\n\n**Figure.** Left, the p99 of ingest → first "
                     "attempt while each fault was on; right, how long after it ended the backlog it "
                     f"caused took to clear — longest for *{slowest['name']}* ({slowest['recover_s']} s).")
    return "\n".join(parts)


def latency_figure(load: dict[str, Any], path: Path) -> None:
    hist = load["half_rate"]["delivery"]["ingest_to_first_attempt_histogram"]
    fig, ax = figures.axes("Ingest → first attempt, at half the maximum rate", "latency (ms)", "messages")
    edges, counts = hist["edges_ms"], hist["counts"]
    ax.stairs(counts, edges, fill=True, alpha=0.6)
    p99 = load["half_rate"]["delivery"]["ingest_to_first_attempt_ms"]["p99"]
    if p99:
        ax.axvline(p99, color="black", linestyle="--", label=f"p99 {p99} ms")
        ax.legend()
    ax.set_xscale("log")
    path.write_bytes(figures.png(fig))


def drills_figure(drills: dict[str, Any], path: Path) -> None:
    rows = drills["drills"]
    fig, _ = figures.axes("Each drill: latency during the fault, time to recover", "", "drill",
                          ncols=2, sharey=True)
    left, right = figures.panels(fig)
    names = [d["name"] for d in rows]
    left.barh(names, [d["p99_ms"] or 0 for d in rows])
    left.set_xlabel("p99 ingest → first attempt during the fault (ms)")
    right.barh(names, [d["recover_s"] for d in rows], color="tab:orange")
    right.set_xlabel("time to recover (s)")
    left.invert_yaxis()
    path.write_bytes(figures.png(fig))


def replace_between_markers(text: str, section: str) -> str:
    """``text`` with the block between the markers replaced (appended when there is none)."""
    block = f"{BEGIN}\n{section.strip()}\n{END}"
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    if pattern.search(text):
        return pattern.sub(lambda _m: block, text)
    return text.rstrip() + "\n\n## Measured numbers\n\n" + block + "\n"


def render(page: Path, assets: Path, prefix: str, reports: Path = REPORTS_DIR) -> str:
    """The numbers section for ``page``, its figures written into ``assets`` (linked as ``prefix``)."""
    load, drills = read("load", reports), read("drills", reports)
    if load is None and drills is None:
        return NOT_YET
    assets.mkdir(parents=True, exist_ok=True)
    parts = []
    if load is not None:
        latency_figure(load, assets / "anchor-latency.png")
        parts.append(load_section(load, f"{prefix}anchor-latency.png"))
    if drills is not None:
        drills_figure(drills, assets / "anchor-drills.png")
        parts.append(drills_section(drills, f"{prefix}anchor-drills.png"))
    return "\n\n".join(parts)


def report(reports: Path = REPORTS_DIR, site_page: Path = SITE_PAGE) -> list[Path]:
    """Write the section into the anchor's README and the site page; return what was written."""
    readme = package_root() / "anchor" / "README.md"
    if not readme.parent.is_dir():
        raise AnchorError(f"there is no anchor package in {readme.parent.parent}; "
                          "fix: `course anchor report --solutions` for the reference")
    written = []
    for page, assets, prefix in ((readme, readme.parent / "docs", "docs/"),
                                 (site_page, site_page.parent / "assets" / "anchor", "assets/anchor/")):
        text = page.read_text() if page.is_file() else "# anchor\n"
        page.write_text(replace_between_markers(text, render(page, assets, prefix, reports)))
        written.append(page)
    return written

"""Lab anchor-jobs/metrics: what an operator scrapes to know deliveries keep up.

The worker and the scheduler serve Prometheus text on ``metrics_port``. The tests scrape them as
Prometheus would and read the series by name, so any way of defining them passes.
"""

from __future__ import annotations

import httpx
import pytest
from anchor_jobs_rig import Rig, wait_until
from prometheus_client.parser import text_string_to_metric_families

LESSON = "weeks/14-anchor-jobs/README.md"


@pytest.fixture
def rig(standard_rig: Rig) -> Rig:
    return standard_rig


def _scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample as ``{(name, labels): value}``; empty when nothing answers."""
    try:
        text = httpx.get(url, timeout=5).text
    except httpx.HTTPError:
        return {}
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_the_worker_exposes_attempts_and_ingest_latency(rig: Rig) -> None:
    tenant = rig.tenant()
    fine = rig.endpoint(tenant, "metrics-ok")
    broken = rig.endpoint(tenant, "metrics-500")
    rig.receiver.behave(broken.name, status=500)
    before = _scrape(rig.metrics_urls["worker"])
    rig.send(tenant)
    wait_until(lambda: len(rig.attempts(fine)) + len(rig.attempts(broken)) == 2, 15)

    def grew(name: str, **labels: str) -> float:
        return _value(_scrape(rig.metrics_urls["worker"]), name, **labels) - _value(before, name, **labels)

    wait_until(lambda: grew("anchor_ingest_to_attempt_seconds_count") >= 2, 5)
    success = grew("anchor_attempts_total", outcome="success")
    http = grew("anchor_attempts_total", outcome="http")
    assert success >= 1 and http >= 1, (
        f"expected anchor_attempts_total{{outcome=\"success\"}} and {{outcome=\"http\"}} each up by one on "
        f"{rig.metrics_urls['worker']}; they grew by {success:g} and {http:g}. Look at {LESSON}, "
        "section 'Metrics'.")
    observed = grew("anchor_ingest_to_attempt_seconds_count")
    waited = grew("anchor_ingest_to_attempt_seconds_sum")
    assert observed >= 2 and waited > 0, (
        f"expected two first attempts observed in the anchor_ingest_to_attempt_seconds histogram (count up "
        f"by 2, sum > 0); count grew by {observed:g}, sum by {waited:g}. Look at {LESSON}, "
        "section 'Metrics'.")


def test_the_scheduler_exposes_stream_lag_and_dead_letters(rig: Rig) -> None:
    names: set[str] = set()

    def scraped() -> bool:
        names.update(name for name, _ in _scrape(rig.metrics_urls["scheduler"]))
        return {"anchor_stream_lag", "anchor_dead_letters"} <= names

    wait_until(scraped, 5)
    assert {"anchor_stream_lag", "anchor_dead_letters"} <= names, (
        f"expected the scheduler to serve the gauges anchor_stream_lag and anchor_dead_letters on "
        f"{rig.metrics_urls['scheduler']}; got {sorted(n for n in names if n.startswith('anchor'))}. Look at "
        f"{LESSON}, section 'Metrics'.")

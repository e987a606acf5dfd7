"""``course anchor load``: how fast the anchor ingests and delivers on this machine, and how late.

One run, four phases, one machine — so the numbers can be compared with each other:

1. **flat out**: ``connections`` locust users post messages back to back for ``seconds``; the
   receiver counts what arrives. Ingest rate and latency, delivery rate, errors.
2. **half rate**: the same users paced at half the ingest rate phase 1 reached; ingest → first
   attempt latency is read here, where the pipeline keeps up (flat out, a queue grows and the
   latency only measures its length).
3. **scaling**: phase 1 again with a second API instance behind nginx (``scale_to``), and how busy
   the machine's cores were in each: whether another process buys throughput or only competes
   for the same cores with the workers, PostgreSQL and the load generator.
4. **yardstick**: the same load against a bare FastAPI endpoint (:mod:`course.anchor_bare`), so
   the anchor's ingest rate is also a ratio that means something on any machine.

The load generator is locust, headless (``FastHttpUser``, keep-alive connections, in its own
process so its gevent patches nothing here): it expresses "N tenants posting JSON with a bearer
key, flat out or paced" directly, and reports the percentiles we need. ``course.load``'s threads
open a connection per request on purpose (for drills) and would measure the TCP handshake.

Ingest → first attempt is the receiver's arrival time minus the ``sentAt`` the client put in the
payload just before sending — one clock, no sampling, every message. ``lost`` counts messages the
API accepted (202) that never arrived at the receiver once the pipeline drained.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from course import anchor, anchor_stack, services
from course.load import percentile
from course.paths import REPO_ROOT, REPORTS_DIR
from course.processes import python_command, start_process

LOCUSTFILE = Path(__file__).with_name("anchor_locustfile.py")
# Quotas out of the way: the load measures the pipeline, not the limiter (week 13 tests that). A
# claim timeout of 20 s (the shortest a 10 s HTTP timeout allows) bounds how long a delivery whose
# stream entry was lost waits for the scheduler to announce it again.
LOAD_SETTINGS = {"ingest_rate_per_s": "1000000", "ingest_burst": "10000000", "http_timeout_s": "10",
                 "claim_timeout_s": "20"}
# Give up waiting for deliveries this long past the claim timeout without a new arrival, so a
# delivery the scheduler re-announces still counts as delivered, not lost.
DRAIN_SLACK_S = 10.0
Say = Callable[[str], None]


@dataclass(frozen=True)
class Ingest:
    """What the load generator saw in one phase."""

    connections: int
    seconds: float
    requests: int
    errors: int
    rate_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def accepted(self) -> int:
        return self.requests - self.errors


def bucket_percentile(histogram: dict[str, int], q: float) -> float:
    """Nearest-rank ``q`` quantile of locust's ``response_times`` (rounded ms → count)."""
    total = sum(histogram.values())
    if not total:
        return math.nan
    rank = max(1, math.ceil(q * total))
    seen = 0
    for value, count in sorted(((float(k), v) for k, v in histogram.items())):
        seen += count
        if seen >= rank:
            return value
    return max(float(k) for k in histogram)


def run_locust(url: str, path: str, *, seconds: float, connections: int, key: str = "",
               rate_per_user: float = 0.0) -> Ingest:
    """Post messages to ``url + path`` from ``connections`` locust users for ``seconds``."""
    env = os.environ | {"ANCHOR_LOAD_PATH": path, "ANCHOR_LOAD_KEY": key,
                        "ANCHOR_LOAD_RATE_PER_USER": str(rate_per_user) if rate_per_user else ""}
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "-u", str(connections),
               "-r", str(connections), "-t", f"{max(1, round(seconds))}s", "--host", url, "--json",
               "--only-summary", "--skip-log", "--stop-timeout", "10"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 120,
                          cwd=REPO_ROOT)
    try:
        stats = next(s for s in json.loads(done.stdout) if s["name"] == "ingest")
    except (ValueError, StopIteration) as exc:
        raise anchor.AnchorError(f"locust did not report (exit {done.returncode}): "
                                 f"{done.stderr.strip()[-600:]}") from exc
    elapsed = max(stats["last_request_timestamp"] - stats["start_time"], 1e-9)
    histogram = stats["response_times"]
    return Ingest(connections, round(elapsed, 2), stats["num_requests"], stats["num_failures"],
                  round(stats["num_requests"] / elapsed, 1),
                  *(bucket_percentile(histogram, q) for q in (0.5, 0.95, 0.99)))


def cpu_times() -> tuple[float, float]:
    """The machine's (busy, total) CPU time so far, from ``/proc/stat`` (``(0, 0)`` elsewhere)."""
    stat = Path("/proc/stat")
    if not stat.exists():
        return 0.0, 0.0
    fields = [float(v) for v in stat.read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def busy_pct(before: tuple[float, float], after: tuple[float, float]) -> float | None:
    """Share of all cores' time spent busy between two :func:`cpu_times` readings."""
    total = after[1] - before[1]
    return round(100 * (after[0] - before[0]) / total, 1) if total > 0 else None


def machine() -> dict[str, Any]:
    """The machine the numbers came from: without it a rate means nothing."""
    import psycopg
    import redis

    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    with psycopg.connect(services.postgres_url(), connect_timeout=10) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        postgres = str(row[0]) if row else "?"
    with redis.Redis.from_url(services.redis_url(), socket_timeout=10) as client:
        redis_version = str(client.info("server")["redis_version"])
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() \
        else platform.processor()
    return {"cores": os.cpu_count() or 1, "cpu": cpu, "memory_gb": round(memory_gb, 1),
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
            "postgres": postgres, "redis": redis_version}


def arrivals_summary(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Delivery numbers from the receiver's items: rate, duplicates, ingest → first attempt."""
    first = [item for item in items if item["copy"] == 1]
    lateness_ms = [1000 * (item["at"] - item["sentAt"]) for item in first if item.get("sentAt")]
    return {
        "delivered": len(first),
        "duplicates": len(items) - len(first),
        "invalid_signatures": sum(item["valid"] is False for item in items),
        "rate_per_s": delivery_rate([item["at"] for item in first]),
        "ingest_to_first_attempt_ms": {name: round(percentile(lateness_ms, q), 1) if lateness_ms else None
                                       for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))},
        "ingest_to_first_attempt_histogram": histogram(lateness_ms),
    }


def delivery_rate(arrivals: list[float], share: float = 0.99) -> float:
    """Deliveries per second while the first ``share`` of them arrived.

    The last few stragglers (a retry, an entry the scheduler announced again) belong to the
    latency tail, which is reported as such; stretching the rate's time span to them would
    report a pipeline that ran at full speed for 30 s and idled for 20 as a slow one.
    """
    if len(arrivals) < 2:
        return 0.0
    ordered = sorted(arrivals)
    count = max(2, math.ceil(share * len(ordered)))
    span = ordered[count - 1] - ordered[0]
    return round(count / span, 1) if span > 0 else 0.0


def histogram(values_ms: list[float], bins: int = 30) -> dict[str, list[float]]:
    """Counts in log-spaced bins (latencies span decades), for the report's figure."""
    import numpy as np

    positive = [v for v in values_ms if v > 0]
    if not positive:
        return {"edges_ms": [], "counts": []}
    edges = np.geomspace(min(positive), max(positive) * 1.0001, bins + 1)
    counts, _ = np.histogram(positive, bins=edges)
    return {"edges_ms": [round(float(e), 2) for e in edges], "counts": [int(c) for c in counts]}


def drain(stack: anchor_stack.Stack, since: int, expected: int, say: Say) -> list[dict[str, Any]]:
    """Wait until ``expected`` distinct messages arrived after item ``since`` (or arrivals stop)."""
    patience_s = float(stack.env.get("ANCHOR_CLAIM_TIMEOUT_S", "60")) + DRAIN_SLACK_S
    last_count, last_change = -1, time.monotonic()
    while True:
        seen = stack.receiver.received(since)
        unique = len({item["id"] for item in seen["items"]})
        if unique >= expected:
            return list(seen["items"])
        if unique != last_count:
            last_count, last_change = unique, time.monotonic()
            say(f"draining: {unique:,} of {expected:,} delivered")
        elif time.monotonic() - last_change > patience_s:
            return list(seen["items"])
        time.sleep(0.5)


def _phase(stack: anchor_stack.Stack, demo: anchor_stack.Demo, say: Say, *, seconds: float,
           connections: int, rate_per_user: float = 0.0) -> tuple[Ingest, dict[str, Any]]:
    """One load phase against the anchor, with a progress line every couple of seconds.

    The delivery summary also says how busy the cores were while the load ran (``cpu_busy_pct``).
    """
    since = stack.receiver.received(10**12)["count"]
    stop = threading.Event()

    def report_progress() -> None:
        started = time.monotonic()
        while not stop.wait(2.0):
            count = stack.receiver.received(10**12)["count"] - since
            say(f"{time.monotonic() - started:4.0f}s  delivered {count:,}")

    reporter = threading.Thread(target=report_progress, daemon=True, name="load-progress")
    reporter.start()
    before = cpu_times()
    try:
        ingest = run_locust(demo.api_url, f"/api/v1/app/{demo.app_id}/msg", seconds=seconds,
                            connections=connections, key=demo.api_key, rate_per_user=rate_per_user)
    finally:
        stop.set()
        reporter.join()
    cpu_busy = busy_pct(before, cpu_times())
    items = drain(stack, since, ingest.accepted, say)
    summary = arrivals_summary(items)
    summary["lost"] = max(0, ingest.accepted - summary["delivered"])
    summary["cpu_busy_pct"] = cpu_busy
    return ingest, summary


def _start(instances: int, workers: int, settings: dict[str, str] | None, say: Say) -> anchor_stack.Stack:
    return anchor_stack.start_stack(instances=instances, workers=workers,
                                    settings=LOAD_SETTINGS | (settings or {}),
                                    database=f"{anchor.DATABASE}_load", fresh_database=True, progress=say)


def scaling_point(instances: int, ingest: Ingest, delivery: dict[str, Any]) -> dict[str, Any]:
    return {"instances": instances, "rate_per_s": ingest.rate_per_s, "p99_ms": ingest.p99_ms,
            "errors": ingest.errors, "lost": delivery["lost"], "cpu_busy_pct": delivery["cpu_busy_pct"]}


def scaling_verdict(points: list[dict[str, Any]], cores: int) -> str:
    """What the scaling phase shows, in one honest sentence computed from it."""
    if len(points) < 2 or not points[0]["rate_per_s"]:
        return "one configuration measured: run with --scale-to 2 to compare"
    one, more = points[0], points[-1]
    ratio = more["rate_per_s"] / one["rate_per_s"]
    said = (f"{more['instances']} API instances ingest {ratio:.2f}× what {one['instances']} did "
            f"({more['rate_per_s']:,.0f} vs {one['rate_per_s']:,.0f} messages/s)")
    busy = one["cpu_busy_pct"]
    if busy is not None and busy >= 85:
        return (f"{said}. With one instance the {cores} cores were already {busy:g}% busy — the API, "
                "relay, workers, receiver, PostgreSQL and the load generator share them — so another "
                "API process only competes for the same cores: the limit is the machine, not the API's "
                "process count. More instances pay off where each gets cores of its own.")
    return (f"{said}; the cores were {busy if busy is not None else '?'}% busy with one instance, so "
            "a second process had spare CPU to use.")


def yardstick(seconds: float, connections: int) -> Ingest:
    """The same load against a bare FastAPI endpoint in its own process."""
    bare = start_process(python_command("-m", "uvicorn", "course.anchor_bare:app", "--host", "127.0.0.1",
                                        "--port", "{port}", "--log-level", "warning"), timeout=60)
    try:
        return run_locust(bare.url, "/msg", seconds=seconds, connections=connections)
    finally:
        bare.stop()


def run(*, seconds: float = 60.0, connections: int = 50, instances: int = 1, workers: int = 2,
        scale_to: int = 2, settings: dict[str, str] | None = None,
        say: Say = lambda _text: None) -> dict[str, Any]:
    """Start the anchor, run the phases, stop it; return the report (see the module doc).

    ``scale_to`` API instances (behind nginx) are compared with ``instances`` when it is larger
    (0 skips the comparison); ``settings`` override :data:`LOAD_SETTINGS` (a short test
    compresses the timeouts).
    """
    if seconds <= 0 or connections < 1:
        raise anchor.AnchorError("--seconds must be positive and --connections at least 1")
    if scale_to and scale_to <= instances:
        raise anchor.AnchorError(f"--scale-to ({scale_to}) must exceed --instances ({instances}), or be 0")
    stack = _start(instances, workers, settings, say)
    try:
        demo = anchor_stack.create_demo(stack.api_url, stack.receiver_url, stack.endpoint_secret)
        say(f"phase 1: {connections} connections flat out for {seconds:g}s")
        flat, flat_delivery = _phase(stack, demo, say, seconds=seconds, connections=connections)
        half_rate = flat.rate_per_s / 2
        say(f"phase 2: paced at half that rate, {half_rate:,.0f} messages/s")
        paced, paced_delivery = _phase(stack, demo, say, seconds=seconds, connections=connections,
                                       rate_per_user=half_rate / connections)
    finally:
        stack.stop()
    scaling = [scaling_point(instances, flat, flat_delivery)]
    if scale_to:
        say(f"phase 3: {scale_to} API instances behind nginx, flat out for {seconds:g}s")
        stack = _start(scale_to, workers, settings, say)
        try:
            demo = anchor_stack.create_demo(stack.api_url, stack.receiver_url, stack.endpoint_secret)
            scaled, scaled_delivery = _phase(stack, demo, say, seconds=seconds, connections=connections)
        finally:
            stack.stop()
        scaling.append(scaling_point(scale_to, scaled, scaled_delivery))
    bare_s = min(seconds, 10.0)
    say(f"phase 4: the bare FastAPI yardstick for {bare_s:g}s")
    bare = yardstick(bare_s, connections)
    lateness = paced_delivery["ingest_to_first_attempt_ms"]
    cores = os.cpu_count() or 1
    return {
        "webhooks_per_s": flat_delivery["rate_per_s"],
        "p99_ms": lateness["p99"],
        "cores": cores,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": f"course anchor load --seconds {seconds:g} --connections {connections} "
                   f"--instances {instances} --workers {workers} --scale-to {scale_to}",
        "load_generator": "locust (headless, FastHttpUser, keep-alive)",
        "machine": machine(),
        "stack": {"instances": instances, "workers": workers},
        "ingest": asdict(flat) | {"accepted": flat.accepted},
        "delivery": flat_delivery,
        "half_rate": {"target_rate_per_s": round(half_rate, 1), "ingest": asdict(paced) | {
            "accepted": paced.accepted}, "delivery": paced_delivery},
        "yardstick": asdict(bare),
        "ingest_vs_bare": round(flat.rate_per_s / bare.rate_per_s, 3) if bare.rate_per_s else None,
        "scaling": {"points": scaling, "verdict": scaling_verdict(scaling, cores)},
        "lost": sum(point["lost"] for point in scaling) + paced_delivery["lost"],
        "errors": sum(point["errors"] for point in scaling) + paced.errors,
    }


def write_report(report: dict[str, Any], path: Path | None = None) -> Path:
    """Write the report as JSON (atomically: a reader never sees half of it)."""
    path = path or REPORTS_DIR / "load.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
        json.dump(report, handle, indent=2)
        handle.write("\n")
    Path(handle.name).replace(path)
    return path


def summary(report: dict[str, Any]) -> str:
    """The report in four lines, for the terminal."""
    ingest, delivery = report["ingest"], report["delivery"]
    lateness, box = report["half_rate"]["delivery"]["ingest_to_first_attempt_ms"], report["machine"]
    return "\n".join([
        f"ingest    {ingest['rate_per_s']:,.0f} msg/s, p99 {ingest['p99_ms']:.0f} ms, "
        f"{report['errors']} errors ({report['ingest_vs_bare']}x the bare FastAPI endpoint's "
        f"{report['yardstick']['rate_per_s']:,.0f}/s)",
        f"delivery  {delivery['rate_per_s']:,.0f} webhooks/s, {delivery['duplicates']} duplicates, "
        f"{report['lost']} lost",
        f"latency   ingest -> first attempt at half rate: p50 {lateness['p50']} ms, p99 {lateness['p99']} ms",
        f"scaling   {report['scaling']['verdict']}",
        f"machine   {box['cores']} cores ({box['cpu']}), {box['memory_gb']} GiB, Python {box['python']}, "
        f"PostgreSQL {box['postgres']}, Redis {box['redis']}",
    ])

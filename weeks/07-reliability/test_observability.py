"""Lab: JSON logs with a request id carried through async code, and RED metrics on ``/metrics``.

One real uvicorn process serves ``labs.week07_reliability.app:app`` for the whole module; the
tests talk to it over loopback and read its stdout.
See weeks/07-reliability/README.md, section 'Structured logs with context' and
section 'RED metrics and histograms'.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from course.processes import ProcessFailed, RunningProcess, start_process

LOGS = "weeks/07-reliability/README.md, section 'Structured logs with context'"
METRICS = "weeks/07-reliability/README.md, section 'RED metrics and histograms'"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def server() -> Iterator[RunningProcess]:
    # --lifespan on: a failing start-up (configure_logging) stops the server with its traceback.
    command = [sys.executable, "-m", "uvicorn", "labs.week07_reliability.app:app",
               "--host", "127.0.0.1", "--port", "{port}", "--lifespan", "on"]
    try:
        process = start_process(command)
    except ProcessFailed as exc:
        failure = str(exc)
    else:
        failure = ""
    if failure:  # outside the except block, so the report is this message alone
        pytest.fail(f"the service did not start (app.py's lifespan calls configure_logging() from "
                    f"logs.py; look at {LOGS}):\n{failure}", pytrace=False)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def http(server: RunningProcess) -> Iterator[httpx.Client]:
    """One client for the module (building one costs more than a loopback request).

    A 5xx fails the test with the server's own output, where the traceback says what broke.
    """

    def no_server_errors(response: httpx.Response) -> None:
        if response.status_code >= 500:
            raise AssertionError(f"GET {response.url.path} → {response.status_code}. The server's last "
                                 f"output:\n{server.output(25)}")

    hooks = {"response": [no_server_errors]}
    with httpx.Client(base_url=server.url, timeout=10, event_hooks=hooks) as client:
        yield client


def log_lines(process: RunningProcess) -> list[dict[str, object]]:
    """Every JSON object the server printed (uvicorn's own start-up banner may be plain text)."""
    lines = []
    for text in process.output(last_lines=100_000).splitlines():
        if text.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                lines.append(json.loads(text))
    return lines


def wait_for(condition: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def scrape(http: httpx.Client) -> Samples:
    response = http.get("/metrics")
    assert response.status_code == 200, (f"expected GET /metrics → 200; got {response.status_code}: "
                                         f"{response.text[:300]}; look at {METRICS}")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def series(samples: Samples, name: str) -> list[dict[str, str]]:
    return [dict(labels) for sample_name, labels in samples if sample_name == name]


# --------------------------------------------------------------------------- logs


def test_request_id_follows_each_request_through_async_code(server: RunningProcess) -> None:
    token = f"{time.monotonic_ns():x}"
    ids = {f"job{i:02d}-{token}": f"req-{i:02d}-{token}" for i in range(20)}

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            return await asyncio.gather(*(client.get(f"/work/{job}", headers={"X-Request-ID": rid})
                                          for job, rid in ids.items()))

    responses = asyncio.run(fire())
    for (job, rid), response in zip(ids.items(), responses, strict=True):
        assert response.status_code == 200, (f"GET /work/{job} → {response.status_code}. The server's last "
                                             f"output:\n{server.output(25)}")
        assert response.headers.get("x-request-id") == rid, (
            f"expected the response to echo X-Request-ID: {rid}; got {response.headers.get('x-request-id')!r}"
            f"; look at {LOGS}")

    def all_access_lines_written() -> bool:
        seen = {line.get("request_id") for line in log_lines(server) if line.get("event") == "request"}
        return set(ids.values()) <= seen

    assert wait_for(all_access_lines_written), (
        f"expected one JSON access line (event='request') per request, carrying its request_id; "
        f"the last output was:\n{server.output(15)}\nlook at {LOGS}")
    lines = log_lines(server)
    for job, rid in ids.items():
        work = [line for line in lines if line.get("job") == job]
        assert len(work) == 5, f"expected 5 log lines from /work/{job} (started, 3 steps, done); got {work}"
        wrong = [line for line in work if line.get("request_id") != rid]
        assert not wrong, (
            f"20 requests ran concurrently; every line logged while serving /work/{job} must carry "
            f"request_id={rid!r}, including lines from the tasks it gathers. Got: {wrong[:2]}. A global "
            f"variable is shared by every request; a contextvars.ContextVar is not; look at {LOGS}")
        assert all("level" in line and "timestamp" in line for line in work), (
            f"expected each JSON line to have 'level' and 'timestamp'; got {work[0]}; look at {LOGS}")
        access = [line for line in lines if line.get("event") == "request" and line.get("request_id") == rid]
        assert len(access) == 1, f"expected exactly one access line for {rid}; got {access}"


def test_a_request_id_is_generated_when_none_is_sent(server: RunningProcess, http: httpx.Client) -> None:
    response = http.get("/items/5")
    rid = response.headers.get("x-request-id", "")
    assert response.status_code == 200 and len(rid) >= 8, (
        f"expected a generated X-Request-ID (e.g. a uuid4 hex) on a request that sent none; got "
        f"{rid!r}; look at {LOGS}")

    def access_line() -> dict[str, object] | None:
        return next((line for line in log_lines(server)
                     if line.get("event") == "request" and line.get("request_id") == rid), None)

    assert wait_for(lambda: access_line() is not None), (
        f"expected a JSON access line with request_id={rid!r}; last output:\n{server.output(10)}")
    line = access_line() or {}
    expected = {"method": "GET", "path": "/items/5", "status": 200}
    got = {key: line.get(key) for key in expected}
    assert got == expected and isinstance(line.get("duration_ms"), int | float), (
        f"expected the access line to carry {expected} and a numeric duration_ms; got {line}; look at {LOGS}")


# --------------------------------------------------------------------------- metrics


def test_requests_are_counted_by_route_and_status(server: RunningProcess, http: httpx.Client) -> None:
    before = scrape(http)
    for item in (1, 2, 3, 4, 5, 0, 0):
        http.get(f"/items/{item}")
    # A deliberate 500 — on its own connection: uvicorn closes it after an unhandled error.
    httpx.get(f"{server.url}/boom", timeout=10)
    after = scrape(http)
    expected = {("/items/{item_id}", "200"): 5, ("/items/{item_id}", "404"): 2, ("/boom", "500"): 1}
    got = {key: value(after, "http_requests_total", method="GET", route=key[0], status=key[1])
           - value(before, "http_requests_total", method="GET", route=key[0], status=key[1])
           for key in expected}
    assert got == expected, (
        f"expected http_requests_total{{method, route, status}} to grow by {expected} (route = the "
        f"route template, status = the code sent, 500 for an unhandled error); got {got}. Series "
        f"present: {series(after, 'http_requests_total')[:8]}; look at {METRICS}")


def test_route_label_is_the_template_not_the_raw_path(http: httpx.Client) -> None:
    for n in range(100, 130):
        http.get(f"/items/{n}")
    for n in range(10):
        http.get(f"/no/such/page/{n}")
    samples = scrape(http)
    routes = {labels.get("route", "") for labels in series(samples, "http_requests_total")}
    raw = sorted(route for route in routes if any(ch.isdigit() for ch in route))
    assert not raw and len(routes) <= 7, (
        f"expected one route label per route template (at most 7 for this app, 404s without a "
        f"route sharing one value); got {len(routes)} distinct values, e.g. {raw[:5]}. Every label "
        f"value is a separate time series kept forever: raw paths make memory grow with traffic — "
        f"unbounded cardinality; look at {METRICS}")


def test_latency_histogram_buckets_the_durations(http: httpx.Client) -> None:
    name = "http_request_duration_seconds"
    before = scrape(http)

    async def fire() -> None:
        async with httpx.AsyncClient(base_url=str(http.base_url), timeout=10) as client:
            await asyncio.gather(*(client.get("/slow", params={"seconds": 0.3}) for _ in range(3)))

    asyncio.run(fire())
    after = scrape(http)
    labels = {"method": "GET", "route": "/slow"}
    count = value(after, f"{name}_count", **labels) - value(before, f"{name}_count", **labels)
    total = value(after, f"{name}_sum", **labels) - value(before, f"{name}_sum", **labels)
    assert count == 3 and total >= 0.9, (
        f"expected {name}{{method='GET', route='/slow'}} to count 3 more observations summing to "
        f">= 0.9 s (3 x 0.3 s, in seconds); got count +{count}, sum +{total:.3f}; look at {METRICS}")
    buckets = {float(dict(labels_)["le"]): after[(f"{name}_bucket", labels_)]
               - before.get((f"{name}_bucket", labels_), 0.0)
               for (sample, labels_) in after
               if sample == f"{name}_bucket" and dict(labels_).get("route") == "/slow"}
    below = [le for le, n in buckets.items() if le < 0.3 and n == 0]
    finite = [le for le, n in buckets.items() if le <= 10 and n == 3]
    assert below and finite, (
        f"expected buckets that separate the 0.3 s requests: one below 0.3 s holding 0 of them and a "
        f"finite one (<= 10 s) holding all 3; got {sorted(buckets.items())}; look at {METRICS}")


def test_in_flight_gauge_tracks_concurrent_requests(http: httpx.Client) -> None:
    gauge = "http_requests_in_flight"
    assert wait_for(lambda: value(scrape(http), gauge) == 0), (
        f"expected {gauge} = 0 while idle (the /metrics scrape itself is not counted); got "
        f"{value(scrape(http), gauge)}; look at {METRICS}")
    threads = [threading.Thread(target=http.get, args=("/slow?seconds=1.0",)) for _ in range(4)]
    for thread in threads:
        thread.start()
    seen: list[float] = []
    reached = wait_for(lambda: seen.append(value(scrape(http), gauge)) or seen[-1] == 4)
    for thread in threads:
        thread.join(10)
    assert reached, (f"expected {gauge} to reach 4 during 4 concurrent slow requests; saw {sorted(set(seen))}"
                     f"; look at {METRICS}")
    assert wait_for(lambda: value(scrape(http), gauge) == 0), (
        f"expected {gauge} back to 0 after the requests finished (decrement in a finally); look at {METRICS}")

"""Lab fastapi/middleware — a request id, a timing header and one access-log line per request.

The middleware sees every request, even ones no route matches, so the tests use a 404 and a
401 as well as a 200. They add a probe route of their own to check that log records written
*inside* the request carry its id.
"""

from __future__ import annotations

import logging
import re
import time
import warnings

import pytest
from fastapi import BackgroundTasks

LESSON = "weeks/02-fastapi/README.md, section 'Middleware'"
ACCESS_LOGGER = "week02.access"
SLOW_ENDPOINT_S = 0.05


@pytest.fixture
def probe_app(app):
    """The service's app plus ``GET /_probe``, a sync route that logs one line (threadpool), and
    ``GET /_slow``, which takes at least ``SLOW_ENDPOINT_S``, and ``GET /_background``, which
    schedules a BackgroundTasks function that logs one line."""

    def probe() -> dict[str, str]:
        logging.getLogger("week02.probe").info("inside the probe endpoint")
        return {"ok": "yes"}

    def slow() -> dict[str, str]:
        time.sleep(SLOW_ENDPOINT_S)  # at least this long, however idle or busy the machine
        return {"ok": "slowly"}

    def with_background(background: BackgroundTasks) -> dict[str, str]:
        background.add_task(logging.getLogger("week02.probe").info, "background task runs")
        return {"ok": "queued"}

    app.add_api_route("/_probe", probe, methods=["GET"])
    app.add_api_route("/_slow", slow, methods=["GET"])
    app.add_api_route("/_background", with_background, methods=["GET"])
    return app


def test_incoming_request_id_is_echoed(client) -> None:
    response = client.get("/nowhere", headers={"X-Request-ID": "req-7f3a.42"})
    assert response.headers.get("x-request-id") == "req-7f3a.42", (
        f"expected the client's X-Request-ID to come back unchanged (so a trace spans services); "
        f"got {response.headers.get('x-request-id')!r}; look at {LESSON}")


def test_request_id_is_generated_when_absent(client) -> None:
    first = client.get("/nowhere").headers.get("x-request-id")
    second = client.get("/nowhere").headers.get("x-request-id")
    assert first and second, f"expected an X-Request-ID on every response; got {first!r}, {second!r}"
    assert first != second, f"expected a fresh id per request; both were {first!r}"


@pytest.mark.parametrize("hostile", ["x" * 400, "abc def", 'id"; DROP TABLE users;--'])
def test_unsafe_request_ids_are_replaced(client, hostile: str) -> None:
    got = client.get("/nowhere", headers={"X-Request-ID": hostile}).headers.get("x-request-id")
    assert got and got != hostile, (
        f"a client sent X-Request-ID {hostile[:40]!r} and it was accepted as is ({got!r}); an id "
        f"from outside lands in your logs — accept only short [A-Za-z0-9._:-] ids, else generate "
        f"one; look at {LESSON}")


def server_time_ms(response) -> float:
    """The server's own account of the request, in milliseconds."""
    server_timing = response.headers.get("server-timing", "")
    match = re.search(r"dur=([0-9.]+)", server_timing)
    if match is None and "x-process-time" in response.headers:
        return float(response.headers["x-process-time"]) * 1000  # the header is in seconds
    assert match, (f"expected `Server-Timing: app;dur=<ms>` (or X-Process-Time) on every response; "
                   f"got headers {dict(response.headers)}; look at {LESSON}")
    return float(match.group(1))


def test_timing_header_reports_the_server_time(probe_app, client) -> None:
    """A 404 carries the header too; a route that sleeps 50 ms must be reported as >= 50 ms."""
    floor_ms = SLOW_ENDPOINT_S * 1000
    for path, at_least_ms in (("/nowhere", 0.0), ("/_slow", floor_ms)):
        started = time.perf_counter()
        response = client.get(path)
        wall_ms = (time.perf_counter() - started) * 1000
        value_ms = server_time_ms(response)
        assert at_least_ms <= value_ms <= wall_ms + 1, (
            f"GET {path}: the server says it took {value_ms:.3f} ms; expected between "
            f"{at_least_ms:.0f} ms (the endpoint alone sleeps that long) and the whole round trip, "
            f"{wall_ms:.1f} ms. Server-Timing's dur is in milliseconds: measure with "
            "time.perf_counter() from when the request enters the middleware until the response "
            f"headers leave, times 1000; look at {LESSON}")


def test_one_access_log_line_per_request(client, caplog) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    sent = [("GET", "/nowhere", 404, "acc-1"), ("GET", "/me", 401, "acc-2"),
            ("POST", "/token", 422, "acc-3")]
    for method, path, _, request_id in sent:
        client.request(method, path, headers={"X-Request-ID": request_id})
    records = [r for r in caplog.records if r.name == ACCESS_LOGGER]
    assert len(records) == len(sent), (
        f"expected exactly one record on logger {ACCESS_LOGGER!r} per request ({len(sent)}); got "
        f"{len(records)}: {[r.getMessage() for r in records]}; look at {LESSON}")
    for record, (method, path, status, request_id) in zip(records, sent, strict=True):
        fields = {key: getattr(record, key, None) for key in
                  ("method", "path", "status", "request_id", "duration_ms")}
        expected = {"method": method, "path": path, "status": status, "request_id": request_id}
        assert {k: fields[k] for k in expected} == expected, (
            f"expected the access record to carry (as `extra=` attributes) {expected}; got {fields}")
        assert isinstance(fields["duration_ms"], int | float), (
            f"expected a numeric duration_ms on the access record; got {fields['duration_ms']!r}")


def test_access_log_duration_is_in_milliseconds(probe_app, client, caplog) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    client.get("/_slow")
    durations = [getattr(r, "duration_ms", None) for r in caplog.records if r.name == ACCESS_LOGGER]
    floor_ms = SLOW_ENDPOINT_S * 1000
    assert len(durations) == 1 and isinstance(durations[0], int | float) \
        and floor_ms <= durations[0] < 60_000, (
        f"expected one access record whose duration_ms is the request's time in milliseconds "
        f"(the endpoint sleeps {floor_ms:.0f} ms); got {durations}. (time.perf_counter() - started) "
        f"is seconds: multiply by 1000. Look at {LESSON}")


def test_a_request_that_crashes_is_logged_as_500(app, caplog) -> None:
    def boom() -> None:
        raise RuntimeError("the endpoint crashed")

    app.add_api_route("/_boom", boom, methods=["GET"])
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

        response = TestClient(app, raise_server_exceptions=False).get("/_boom")
    assert response.status_code == 500, (
        f"expected the crashing route to give 500; got {response.status_code}. Log, then re-raise: "
        f"the server turns the exception into the 500; look at {LESSON}")
    records = [r for r in caplog.records if r.name == ACCESS_LOGGER]
    statuses = [getattr(r, "status", None) for r in records]
    assert statuses == [500], (
        f"expected exactly one access record with status 500 for a request whose endpoint raised; "
        f"got statuses {statuses}. A request that never sent a response start still happened — and it "
        f"is the one you will be asked about. Log in a `finally:` when nothing was logged yet; {LESSON}")


def test_log_records_inside_a_request_carry_its_id(probe_app, client, caplog) -> None:
    caplog.set_level(logging.INFO)
    response = client.get("/_probe", headers={"X-Request-ID": "probe-123"})
    assert response.status_code == 200, f"the probe route failed: {response.status_code} {response.text}"
    inside = [r for r in caplog.records if r.name == "week02.probe"]
    assert inside, "the probe endpoint's log record was not captured"
    got = getattr(inside[0], "request_id", None)
    assert got == "probe-123", (
        f"a log record written inside the request has request_id={got!r}; expected 'probe-123'. "
        f"Set the request-id context variable in the middleware for the whole request; {LESSON}")


def test_access_log_is_written_before_background_tasks_run(probe_app, client, caplog) -> None:
    """Starlette runs BackgroundTasks after the response, but still inside the middleware's call."""
    caplog.set_level(logging.INFO)
    response = client.get("/_background", headers={"X-Request-ID": "bg-1"})
    assert response.status_code == 200, f"the probe route failed: {response.status_code} {response.text}"
    order = [("access log" if r.name == ACCESS_LOGGER else "background task")
             for r in caplog.records if r.name in {ACCESS_LOGGER, "week02.probe"}]
    assert order == ["access log", "background task"], (
        f"expected the access record to be written when the response's last body chunk is sent, "
        f"before the background task runs; got the order {order}. Logged when `await self.app(...)` "
        "returns, the record waits for every background task and counts it as request latency — "
        f"log from your wrapped send() on the final http.response.body message; {LESSON}")

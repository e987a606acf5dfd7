"""``course anchor …``: the harness pieces on their own, then the service run the way a learner runs it.

The pieces (environment, JWT secret, database, import check, the loopback receiver) are tested
against real PostgreSQL, Redis and processes; the end-to-end tests start the reference service.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook

from course import anchor, anchor_stack, services
from course.anchor_receiver import ReceiverClient, start_receiver
from course.paths import REPO_ROOT
from course.processes import stop_all
from course.statedir import free_port

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
# The tests that run the whole service share one xdist worker: side by side they would only
# measure each other on a 2-core machine.
WHOLE_SERVICE = pytest.mark.xdist_group("anchor-service")


def test_package_root_follows_course_lab_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("COURSE_LAB_PATH", raising=False)
    assert anchor.package_root().name == "labs"
    monkeypatch.setenv("COURSE_LAB_PATH", str(tmp_path))
    assert anchor.package_root() == tmp_path


def test_anchor_env_names_every_setting_anchor_star(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COURSE_LAB_PATH", str(tmp_path))
    env = anchor.anchor_env(database_url="postgresql://db", redis_url="redis://r/1", jwt_secret="s" * 40,
                            retry_time_scale="0.001")
    assert env["PYTHONPATH"].split(":")[0] == str(tmp_path)
    assert env["ANCHOR_DATABASE_URL"] == "postgresql://db"
    assert env["ANCHOR_RETRY_TIME_SCALE"] == "0.001"
    assert "127.0.0.0/8" in env["ANCHOR_SSRF_ALLOW_CIDRS"], "loopback receivers must pass the SSRF guard"


def test_jwt_secret_is_made_once_and_private(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COURSE_HOME", str(tmp_path))
    first = anchor.jwt_secret()
    assert len(first) >= 32
    assert anchor.jwt_secret() == first, "a second run must reuse the secret, or every token dies"
    mode = stat.S_IMODE((tmp_path / anchor.JWT_SECRET_FILE).stat().st_mode)
    assert mode == 0o600, f"the JWT secret must be readable by its owner only; mode {mode:o}"


def test_ensure_database_creates_once_then_reuses() -> None:
    server = services.checked_postgres_url()
    name = f"anchor_test_{uuid.uuid4().hex[:8]}"
    try:
        url = anchor.ensure_database(server, name)
        assert url.endswith(f"/{name}")
        assert anchor.ensure_database(server, name) == url
    finally:
        services.drop_database(server, name)


def test_a_port_in_use_is_one_clear_message_before_anything_starts() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(anchor.AnchorError, match=f"port {port} on 127.0.0.1 is taken.*--port"):
            anchor_stack.start_stack(port=port)


def test_a_stub_that_fails_at_import_is_one_clear_message(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    package = tmp_path / "anchor"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "main.py").write_text("raise NotImplementedError('write the app factory')\n")
    monkeypatch.setenv("COURSE_LAB_PATH", str(tmp_path))
    with pytest.raises(anchor.AnchorError, match="does not import: NotImplementedError: write the app"):
        anchor.check_importable(anchor.anchor_env(database_url="", redis_url="", jwt_secret=""))
    monkeypatch.setenv("COURSE_LAB_PATH", str(tmp_path / "nowhere"))
    with pytest.raises(anchor.AnchorError, match="--solutions"):
        anchor.check_importable({})


def test_receiver_counts_arrivals_and_checks_signatures() -> None:
    receiver = start_receiver(SECRET)
    try:
        client = ReceiverClient(receiver.url)
        body = json.dumps({"sentAt": time.time(), "n": 1})
        now = time.time()
        signature = Webhook(SECRET).sign("msg_1", dt.datetime.fromtimestamp(now, dt.UTC), body)
        headers = {"webhook-id": "msg_1", "webhook-timestamp": str(int(now)),
                   "webhook-signature": signature, "content-type": "application/json"}
        assert httpx.post(f"{receiver.url}/hook", content=body, headers=headers).status_code == 200
        assert httpx.post(f"{receiver.url}/hook", content=body, headers=headers).status_code == 200
        forged = headers | {"webhook-signature": "v1,AAAA"}
        assert httpx.post(f"{receiver.url}/hook", content=body, headers=forged).status_code == 200
        seen = client.received()
        assert (seen["count"], seen["unique"], seen["invalid"]) == (3, 1, 1), seen
        assert [item["valid"] for item in seen["items"]] == [True, True, False]
        assert seen["items"][1]["copy"] == 2, "the second copy of one id must be counted as a copy"
        assert len(client.received(since=2)["items"]) == 1
        client.control(status=503)
        assert httpx.post(f"{receiver.url}/hook", content=body, headers=headers).status_code == 503
        client.control(hang_s=5)
        with pytest.raises(httpx.TimeoutException):
            httpx.post(f"{receiver.url}/hook", content=body, headers=headers, timeout=0.3)
        client.control()
        assert httpx.post(f"{receiver.url}/hook", content=body, headers=headers).status_code == 200
    finally:
        receiver.stop()


def test_nginx_balances_instances_and_steps_past_a_dead_one(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    monkeypatch.setenv("COURSE_HOME", str(tmp_path))
    backends = [start_receiver(None), start_receiver(None)]
    balancer = None
    try:
        balancer = anchor_stack.start_nginx(free_port(), [b.port for b in backends if b.port])
        with httpx.Client(base_url=balancer.url) as http:
            for n in range(6):
                assert http.post("/hook", json={"n": n}).status_code == 200
            counts = [ReceiverClient(b.url).received()["count"] for b in backends]
            assert min(counts) >= 1, f"nginx must spread requests over both instances; got {counts}"
            backends[0].kill()
            statuses = [http.post("/hook", json={"n": n}).status_code for n in range(6)]
        assert statuses == [200] * 6, f"a dead instance must be stepped past, not answered 502: {statuses}"
    finally:
        stop_all([*backends, *([balancer] if balancer else [])])


SAMPLE_LOAD = {
    "webhooks_per_s": 1234.5, "p99_ms": 87.0, "cores": 2, "measured_at": "2026-12-02T17:00:00+00:00",
    "command": "course anchor load --seconds 30", "load_generator": "locust",
    "machine": {"cores": 2, "cpu": "Test CPU", "memory_gb": 8.0, "os": "Linux", "python": "3.11.9",
                "postgres": "17.2", "redis": "7.4.1"},
    "ingest": {"connections": 50, "rate_per_s": 1500.0, "p50_ms": 20.0, "p99_ms": 45.0, "errors": 0},
    "yardstick": {"rate_per_s": 4000.0}, "ingest_vs_bare": 0.375,
    "delivery": {"rate_per_s": 1234.5, "duplicates": 0, "invalid_signatures": 0},
    "half_rate": {"target_rate_per_s": 750.0, "delivery": {
        "ingest_to_first_attempt_ms": {"p50": 30.0, "p95": 60.0, "p99": 87.0},
        "ingest_to_first_attempt_histogram": {"edges_ms": [10.0, 50.0, 100.0], "counts": [90, 10]}}},
    "scaling": {"points": [
        {"instances": 1, "rate_per_s": 1500.0, "p99_ms": 45.0, "errors": 0, "lost": 0, "cpu_busy_pct": 97.0},
        {"instances": 2, "rate_per_s": 1510.0, "p99_ms": 44.0, "errors": 0, "lost": 0, "cpu_busy_pct": 99.0}],
        "verdict": "2 API instances ingest 1.01× what 1 did"},
    "lost": 0,
}
SAMPLE_DRILLS = {
    "measured_at": "2026-12-02T17:10:00+00:00", "command": "course anchor drill", "rate_per_s": 100,
    "fault_s": 3, "machine": SAMPLE_LOAD["machine"],
    "drills": [{"name": "worker kill -9 mid-delivery", "lost": 0, "duplicates": 3, "p99_ms": 7100.0,
                "recover_s": 7.2, "detail": "worker 1 killed"}],
}


def test_report_puts_the_numbers_between_markers_with_their_machine(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    from course import anchor_report

    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "load.json").write_text(json.dumps(SAMPLE_LOAD))
    (reports / "drills.json").write_text(json.dumps(SAMPLE_DRILLS))
    (tmp_path / "lab" / "anchor").mkdir(parents=True)
    readme = tmp_path / "lab" / "anchor" / "README.md"
    readme.write_text("# My anchor\n\nIntro.\n")
    site = tmp_path / "docs" / "anchor.md"
    site.parent.mkdir()
    site.write_text(f"# Anchor\n\n{anchor_report.BEGIN}\nold\n{anchor_report.END}\n\n## After\n")
    monkeypatch.setenv("COURSE_LAB_PATH", str(tmp_path / "lab"))
    anchor_report.report(reports, site)
    anchor_report.report(reports, site)  # twice: the section is replaced, never repeated
    page = site.read_text()
    assert page.count(anchor_report.BEGIN) == 1 and "old" not in page and page.endswith("## After\n")
    for text in (page, readme.read_text()):
        assert "1,500 messages/s" in text and "p99 87.0 ms" in text, "the numbers must be on the page"
        assert "2 cores (Test CPU)" in text and "PostgreSQL 17.2" in text, "with the machine they came from"
        assert "| worker kill -9 mid-delivery | 0 | 3 |" in text
        assert "2 API instances behind nginx | 1,510 messages/s" in text and "1.01×" in text, \
            "the scaling comparison and its verdict belong with the numbers"
        assert "**Figure.**" in text
    assert readme.read_text().startswith("# My anchor\n\nIntro.\n"), "the author's text stays"
    assert (tmp_path / "lab" / "anchor" / "docs" / "anchor-drills.png").stat().st_size > 1000
    assert (site.parent / "assets" / "anchor" / "anchor-latency.png").is_file()


# --------------------------------------------------------------------------- end to end, the reference


def _read_until(process: subprocess.Popen[str], marker: str, timeout_s: float) -> str:
    """What ``process`` printed up to the line containing ``marker`` (fails after ``timeout_s``)."""
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    os.set_blocking(process.stdout.fileno(), False)
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line:
            seen.append(line)
            if marker in line:
                return "".join(seen)
        elif process.poll() is not None:
            break
        else:
            time.sleep(0.05)
    pytest.fail(f"`course anchor up` did not print {marker!r} in {timeout_s:.0f}s; it printed:\n"
                + "".join(seen) + (process.stdout.read() or ""))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@WHOLE_SERVICE
def test_up_delivers_a_message_to_the_receiver_and_ctrl_c_stops_everything() -> None:
    env = {k: v for k, v in os.environ.items() if k != "COURSE_LAB_PATH"} | {"NO_COLOR": "1",
                                                                             "COLUMNS": "200"}
    process = subprocess.Popen([sys.executable, "-m", "course.cli", "anchor", "up", "--solutions"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                               cwd=REPO_ROOT)
    try:
        printed = _read_until(process, "Ctrl+C stops everything", 120)
        pids = [int(pid) for pid in re.findall(r" pid (\d+)", printed)]
        assert len(pids) == 5, f"api, relay, worker, scheduler and receiver must be listed; got:\n{printed}"
        api = re.search(r"^API\s+(\S+)", printed, re.MULTILINE)
        receiver = re.search(r"^receiver\s+(\S+)", printed, re.MULTILINE)
        key = re.search(r"Bearer (ak_\S+?)'", printed)
        app_id = re.search(r"/api/v1/app/(\S+)/msg", printed)
        assert api and receiver and key and app_id, f"URLs and a ready curl snippet expected:\n{printed}"
        assert httpx.get(f"{api[1]}/docs").status_code == 200, "the docs URL printed must answer"
        sent = httpx.post(f"{api[1]}/api/v1/app/{app_id[1]}/msg",
                          headers={"Authorization": f"Bearer {key[1]}"},
                          json={"eventType": "demo.hello", "payload": {"hello": "world"}})
        assert sent.status_code == 202, sent.text
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not httpx.get(receiver[1]).json()["count"]:
            time.sleep(0.2)
        arrived = httpx.get(receiver[1]).json()
        assert arrived["count"] >= 1, "the message was accepted but never reached the demo receiver"
        assert arrived["items"][0]["id"] == sent.json()["id"] and arrived["items"][0]["valid"], arrived
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, f"Ctrl+C is the normal way to stop; exit {process.returncode}:\n{out}"
    assert "stopped" in out
    assert not [pid for pid in pids if _alive(pid)], "every role must have exited after Ctrl+C"


@WHOLE_SERVICE
def test_export_is_a_repository_whose_own_tests_pass(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import tomllib

    from packaging.requirements import Requirement

    from course import anchor_export

    monkeypatch.setenv("COURSE_LAB_PATH", str(REPO_ROOT / "solutions"))
    done = anchor_export.export(tmp_path / "anchor-service")
    root = done.path
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    for spec in [*project["dependencies"], *project["optional-dependencies"]["dev"]]:
        requirement = Requirement(spec)
        installed = importlib.metadata.version(requirement.name)
        assert requirement.specifier.contains(installed, prereleases=True), \
            f"the export requires {spec}, but the version the service was tested with is {installed}"
    names = {Requirement(spec).name.lower() for spec in project["dependencies"]}
    assert {"fastapi", "sqlalchemy", "psycopg", "redis", "alembic"} <= names, \
        f"the service's own imports must become its dependencies; got {sorted(names)}"
    assert (root / "anchor" / "migrations").is_dir() and (root / "README.md").is_file()
    assert not list(root.rglob("__pycache__")), "an export carries sources, not caches"
    with pytest.raises(anchor.AnchorError, match="not empty"):
        anchor_export.export(root)
    server = services.checked_postgres_url()
    name = f"anchor_export_{uuid.uuid4().hex[:8]}"
    redis_url = services.allocate_redis_db(services.checked_redis_url())
    env = {k: v for k, v in os.environ.items() if k not in {"COURSE_LAB_PATH", "PYTHONPATH"}}
    try:
        env |= {"DATABASE_URL": services.create_database(server, name), "REDIS_URL": redis_url,
                "PYTHONPATH": str(root)}
        run = subprocess.run([sys.executable, "-m", "pytest", "anchor/tests", "-q", "-p", "no:cacheprovider"],
                             cwd=root, env=env, capture_output=True, text=True, timeout=300)
    finally:
        services.drop_database(server, name)
        services.release_redis_db(redis_url)
    assert run.returncode == 0, \
        f"the exported service's tests fail in {root}:\n{run.stdout[-3000:]}{run.stderr}"


@WHOLE_SERVICE
def test_load_short_form_reports_what_week_16_reads_and_loses_nothing(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    from course import anchor_load

    monkeypatch.setenv("COURSE_LAB_PATH", str(REPO_ROOT / "solutions"))
    heard: list[str] = []
    report = anchor_load.run(seconds=2, connections=4, workers=1, say=heard.append,
                             settings={"http_timeout_s": "2", "claim_timeout_s": "7"})
    path = anchor_load.write_report(report, tmp_path / "load.json")
    written = json.loads(path.read_text())
    for field in ("webhooks_per_s", "p99_ms", "cores"):
        assert isinstance(written[field], int | float), f"week 16's resume reads {field}; got {written}"
    assert written["ingest"]["accepted"] > 0 and written["yardstick"]["rate_per_s"] > 0, written
    assert written["lost"] == 0, f"accepted messages never reached the receiver: {written['delivery']}"
    assert written["delivery"]["invalid_signatures"] == 0, "every delivery must verify with its secret"
    assert written["machine"]["postgres"] and written["machine"]["redis"], "numbers need their machine"
    assert any("delivered" in line for line in heard), "a long run must show progress while it runs"
    points = written["scaling"]["points"]
    assert [p["instances"] for p in points] == [1, 2] and all(p["rate_per_s"] > 0 for p in points), \
        f"expected one instance compared with two behind nginx; got {points}"
    assert all(0 < p["cpu_busy_pct"] <= 100 for p in points), points


@WHOLE_SERVICE
def test_drill_short_form_kills_a_worker_and_loses_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only drills that leave the shared servers alone: the suite's other tests use them meanwhile."""
    from course import anchor_drill

    monkeypatch.setenv("COURSE_LAB_PATH", str(REPO_ROOT / "solutions"))
    report = anchor_drill.run(only=["worker-kill", "redis-latency"], fault_s=1, rate_per_s=40)
    names = [d["name"] for d in report["drills"]]
    assert len(names) == 2, report
    for drill in report["drills"]:
        assert {"name", "lost", "duplicates", "p99_ms", "recover_s"} <= drill.keys(), drill
        assert drill["acknowledged"] > 0, f"no message was acknowledged during '{drill['name']}'"
        assert drill["lost"] == 0, f"'{drill['name']}' lost acknowledged messages: {drill}"
        assert drill["duplicates"] <= drill["acknowledged"], f"duplicates must stay bounded: {drill}"


def test_load_numbers_come_from_what_was_measured() -> None:
    from course import anchor_load

    assert anchor_load.bucket_percentile({"1": 98, "5": 1, "200": 1}, 0.99) == 5.0
    assert anchor_load.bucket_percentile({"1": 98, "5": 1, "200": 1}, 1.0) == 200.0
    steady = [n / 100 for n in range(1000)]  # 100 deliveries a second for ten seconds …
    assert anchor_load.delivery_rate([*steady, 30.0]) == pytest.approx(100, rel=0.02), \
        "… and one straggler 20 s later is latency, not a slower pipeline"
    busy = anchor_load.scaling_verdict([
        {"instances": 1, "rate_per_s": 400.0, "cpu_busy_pct": 98.0},
        {"instances": 2, "rate_per_s": 420.0, "cpu_busy_pct": 99.0}], cores=2)
    assert "1.05×" in busy and "98% busy" in busy and "the limit is the machine" in busy, busy
    idle = anchor_load.scaling_verdict([
        {"instances": 1, "rate_per_s": 400.0, "cpu_busy_pct": 50.0},
        {"instances": 2, "rate_per_s": 760.0, "cpu_busy_pct": 95.0}], cores=8)
    assert "1.90×" in idle and "spare CPU" in idle, idle
    summary = anchor_load.arrivals_summary([
        {"id": "a", "at": 10.0, "sentAt": 9.9, "valid": True, "copy": 1},
        {"id": "a", "at": 11.0, "sentAt": 9.9, "valid": True, "copy": 2},
        {"id": "b", "at": 10.5, "sentAt": 10.3, "valid": False, "copy": 1}])
    assert (summary["delivered"], summary["duplicates"], summary["invalid_signatures"]) == (2, 1, 1)
    assert summary["ingest_to_first_attempt_ms"]["p99"] == pytest.approx(200.0)

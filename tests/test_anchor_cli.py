"""``course anchor …``: the harness pieces on their own, then the service run the way a learner runs it.

The pieces (environment, JWT secret, database, import check, the loopback receiver) are tested
against real PostgreSQL, Redis and processes; the end-to-end tests start the reference service.
"""

from __future__ import annotations

import datetime as dt
import json
import stat
import time
import uuid
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook

from course import anchor, anchor_stack, services
from course.anchor_receiver import ReceiverClient, start_receiver
from course.processes import stop_all
from course.statedir import free_port

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


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
        assert "**Figure.**" in text
    assert readme.read_text().startswith("# My anchor\n\nIntro.\n"), "the author's text stays"
    assert (tmp_path / "lab" / "anchor" / "docs" / "anchor-drills.png").stat().st_size > 1000
    assert (site.parent / "assets" / "anchor" / "anchor-latency.png").is_file()

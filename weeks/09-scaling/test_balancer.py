"""Lab scaling/load-balancer — round robin, least connections, health checks, safe retries.

The pool is tested on its own first (no I/O); then the balancer runs as a real process in front
of three real upstream instances (``upstream.py``, one request at a time each), and the tests
kill instances with SIGKILL under load.
"""

from __future__ import annotations

import itertools
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from course.load import Load
from course.processes import ProcessFailed, RunningProcess, start_process
from labs.week09_scaling.balancer import NoHealthyBackend, Pool

LESSON = "weeks/09-scaling/README.md"
URLS = ["http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"]
HEALTH_INTERVAL_S = 0.25
HEALTH_TIMEOUT_S = 0.25
# Ejection or re-admission must come within one interval plus one check's timeout; the slack is
# for a busy 2-core machine. Without working health checks it never comes at all.
DETECT_WITHIN_S = HEALTH_INTERVAL_S + HEALTH_TIMEOUT_S + 2.0


# --------------------------------------------------------------------------- the pool, no I/O


def test_round_robin_takes_turns() -> None:
    pool = Pool(URLS, strategy="round_robin")
    picks = [pool.pick().url for _ in range(9)]
    assert Counter(picks) == Counter({url: 3 for url in URLS}) and all(
        a != b for a, b in itertools.pairwise(picks)), (
        f"expected 9 picks to visit each of 3 backends 3 times, never the same twice in a row; got "
        f"{picks}. See {LESSON}, section 'Round robin and least connections'.")


def test_the_pool_skips_ejected_and_excluded_backends() -> None:
    pool = Pool(URLS, strategy="round_robin")
    pool.mark(URLS[1], healthy=False)
    picks = {pool.pick().url for _ in range(6)}
    assert picks == {URLS[0], URLS[2]}, f"expected an ejected backend never to be picked; got {picks}"
    assert pool.pick(exclude={URLS[0]}).url == URLS[2], (
        "expected pick(exclude=…) to skip the excluded backend")
    pool.mark(URLS[0], healthy=False)
    pool.mark(URLS[2], healthy=False)
    with pytest.raises(NoHealthyBackend):
        pool.pick()
    pool.mark(URLS[1], healthy=True)
    assert pool.pick().url == URLS[1], "expected a re-admitted backend to be picked again"


def test_least_connections_picks_the_least_busy() -> None:
    pool = Pool(URLS, strategy="least_connections")
    a, b, c = pool.backends
    a.in_flight, b.in_flight, c.in_flight = 2, 0, 1
    assert pool.pick() is b, f"expected the backend with 0 requests in flight; got {pool.pick().url}"
    b.in_flight = 3
    assert pool.pick() is c, "expected the backend with the fewest in flight (c, 1)"
    c.healthy = False
    assert pool.pick() is a, "expected the least busy *healthy* backend (a, 2)"


# --------------------------------------------------------------------------- real processes


class Upstreams:
    """Three upstream instances on fixed ports: a killed one can be started again on its port."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.processes: dict[str, RunningProcess] = {}
        self.ports: dict[str, int] = {}

    def start(self, name: str) -> None:
        command = [sys.executable, "-m", "uvicorn", "labs.week09_scaling.upstream:app", "--host", "127.0.0.1",
                   "--port", "{port}", "--log-level", "warning", "--no-access-log"]
        self.processes[name] = start_process(command, port=self.ports.get(name), timeout=60,
                                             env={"INSTANCE": name, "UPSTREAM_LOG": str(self.log)})
        self.ports[name] = self.processes[name].port or 0

    def kill(self, name: str) -> None:
        self.processes[name].signal(signal.SIGKILL)
        self.processes[name].wait(timeout=10)

    def ensure_running(self) -> None:
        dead = [name for name, p in self.processes.items() if p.popen.poll() is not None]
        starting = [threading.Thread(target=self.start, args=(name,)) for name in dead]
        for thread in starting:
            thread.start()
        for thread in starting:
            thread.join()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def executions(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture(scope="module")
def upstreams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstreams]:
    cluster = Upstreams(tmp_path_factory.mktemp("upstreams") / "executions.log")
    threads = [threading.Thread(target=cluster.start, args=(name,)) for name in "abc"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        yield cluster
    finally:
        for process in cluster.processes.values():
            process.stop()


Balancer = Callable[..., RunningProcess]


@pytest.fixture
def balancer(upstreams: Upstreams, spawn: Callable[..., RunningProcess]) -> Balancer:
    """``balancer(strategy)`` → your balancer as a process in front of instances a, b and c."""
    upstreams.ensure_running()

    def start(strategy: str = "round_robin") -> RunningProcess:
        command = [sys.executable, "-m", "labs.week09_scaling.balancer", "--port", "{port}",
                   "--strategy", strategy, "--health-interval-s", str(HEALTH_INTERVAL_S),
                   "--health-timeout-s", str(HEALTH_TIMEOUT_S),
                   *(upstreams.url(name) for name in "abc")]
        try:
            return spawn(command, timeout=60)
        except ProcessFailed as exc:
            failure = str(exc)
        last = "\n".join(failure.splitlines()[-5:])
        pytest.fail(f"your balancer did not start; its last words:\n{last}\nsee {LESSON}, section "
                    "'A load balancer in 150 lines'", pytrace=False)

    return start


def get(process: RunningProcess, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(process.url + path, timeout=20, **kwargs)


def backends(process: RunningProcess) -> dict[str, dict[str, Any]]:
    return {b["url"]: b for b in get(process, "/_lb/backends").json()}


def wait_until(condition: Callable[[], bool], timeout_s: float) -> float | None:
    """Seconds until ``condition()`` held, or ``None`` if it never did within ``timeout_s``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if condition():
            return time.monotonic() - started
        time.sleep(0.02)
    return None


def test_requests_are_forwarded_and_spread(balancer: Balancer) -> None:
    lb = balancer("round_robin")
    answers = [get(lb, "/work", params={"ms": 1}) for _ in range(6)]
    assert all(a.status_code == 200 for a in answers), (
        f"expected 6 GET /work through the balancer to answer 200; got {[a.status_code for a in answers]} "
        f"{answers[0].text[:200]}\nSee {LESSON}, section 'A load balancer in 150 lines'.")
    instances = Counter(a.json()["instance"] for a in answers)
    assert instances == Counter({"a": 2, "b": 2, "c": 2}), (
        f"expected round robin to send 2 of 6 requests to each of a, b and c; got {dict(instances)}")
    missing = get(lb, "/nowhere")
    assert missing.status_code == 404, (
        f"expected the upstream's own 404 to pass through unchanged; got {missing.status_code}")


def test_least_connections_routes_around_slow_requests(balancer: Balancer, upstreams: Upstreams) -> None:
    lb = balancer("least_connections")
    slow = [threading.Thread(target=get, args=(lb, "/work"), kwargs={"params": {"ms": 2000}})
            for _ in range(2)]
    for thread in slow:
        thread.start()
        time.sleep(0.05)
    in_flight: list[int] = []

    def both_in_flight_or_both_back() -> bool:
        # Once both slow requests have come back they can never be in flight: stop waiting then.
        in_flight.append(sum(b["in_flight"] for b in backends(lb).values()))
        return in_flight[-1] == 2 or not any(thread.is_alive() for thread in slow)

    wait_until(both_in_flight_or_both_back, 5.0)
    assert in_flight and in_flight[-1] == 2, (
        f"expected /_lb/backends to show the 2 slow requests in flight; it shows "
        f"{list(backends(lb).values())}")
    idle = [_name(upstreams, url) for url, b in backends(lb).items() if b["in_flight"] == 0]
    fast: list[str] = []
    for _ in range(6):  # judged only while both slow requests are still in flight
        if sum(b["in_flight"] for b in backends(lb).values()) != 2:
            break
        fast.append(get(lb, "/work", params={"ms": 1}).json()["instance"])
    for thread in slow:
        thread.join()

    assert len(fast) >= 3, "the slow requests finished before the fast ones: the machine is too busy to judge"
    assert len(idle) == 1 and Counter(fast) == Counter({idle[0]: len(fast)}), (
        f"expected least connections to send every fast request to the one idle instance ({idle}) while "
        f"two instances each work on a 2 s request; they went to {dict(Counter(fast))}. Count in_flight up "
        f"before forwarding and down in a finally. "
        f"See {LESSON}, section 'Round robin and least connections'.")


def _name(upstreams: Upstreams, url: str) -> str:
    return next(name for name in upstreams.ports if upstreams.url(name) == url)


def test_killing_an_instance_under_load_loses_no_idempotent_request(balancer: Balancer,
                                                                      upstreams: Upstreams) -> None:
    lb = balancer("round_robin")
    load = Load(lb.url, lambda client, n: ("GET", "/work?ms=10", None), clients=4, max_duration_s=1.2,
                timeout_s=10).start()
    time.sleep(0.4)
    upstreams.kill("b")
    report = load.wait()

    lost = report.outside({200})
    assert len(report) >= 20, f"expected load before and after the kill; got {report.summary()}"
    assert not lost, (
        f"expected every GET to be answered 200 although instance b was SIGKILLed under load; {len(lost)} "
        f"of {len(report)} were not, e.g.\n  " + "\n  ".join(o.describe() for o in lost[:3])
        + f"\nA GET whose backend died may be sent again to another backend. See {LESSON}, section "
        "'Retries: only what is safe to repeat'.")
    state = backends(lb)[upstreams.url("b")]
    assert not state["healthy"], f"expected the killed instance b to be ejected; /_lb/backends says {state}"


def test_a_dead_instance_is_ejected_and_readmitted_by_health_checks(balancer: Balancer,
                                                                    upstreams: Upstreams) -> None:
    lb = balancer("round_robin")
    c = upstreams.url("c")
    assert wait_until(lambda: all(b["healthy"] for b in backends(lb).values()), 5.0) is not None, (
        f"expected all three instances healthy at the start; /_lb/backends says {backends(lb)}")
    upstreams.kill("c")  # no traffic at all: only an active health check can notice
    ejected_after = wait_until(lambda: not backends(lb)[c]["healthy"], DETECT_WITHIN_S)
    assert ejected_after is not None, (
        f"expected the killed instance c to be ejected by the health checks within {DETECT_WITHIN_S:.2f} s "
        f"(interval {HEALTH_INTERVAL_S} s, timeout {HEALTH_TIMEOUT_S} s) with no traffic; /_lb/backends "
        f"still says {backends(lb)[c]}. See {LESSON}, section 'Health checks: ejection and re-admission'.")

    upstreams.ensure_running()  # c again, on the same port
    readmitted_after = wait_until(lambda: backends(lb)[c]["healthy"], DETECT_WITHIN_S)
    assert readmitted_after is not None, (
        f"expected instance c to be re-admitted within {DETECT_WITHIN_S:.2f} s of answering /healthz again; "
        f"/_lb/backends says {backends(lb)[c]}. Keep checking ejected backends too. See {LESSON}, section "
        "'Health checks: ejection and re-admission'.")
    served = Counter(get(lb, "/work", params={"ms": 1}).json()["instance"] for _ in range(6))
    assert served.get("c", 0) == 2, (
        f"expected the re-admitted c to get its turn again (2 of 6); got {dict(served)}")


def test_a_post_whose_instance_died_is_not_sent_again(balancer: Balancer, upstreams: Upstreams) -> None:
    lb = balancer("round_robin")
    before = len(upstreams.executions())
    answer = httpx.post(lb.url + "/work", params={"ms": 1, "die": "1"}, timeout=20)
    executed = upstreams.executions()[before:]

    assert executed, (
        f"expected the POST to reach an instance through the balancer; it never did and the balancer "
        f"answered {answer.status_code} {answer.text[:200]}\n"
        f"See {LESSON}, section 'A load balancer in 150 lines'.")
    assert len(executed) == 1, (
        f"expected the POST to execute once: its instance died mid-request, so it may have taken effect and "
        f"must not be repeated elsewhere; it executed {len(executed)} times: {executed}. See {LESSON}, "
        "section 'Retries: only what is safe to repeat'.")
    assert answer.status_code in (502, 503) and "problem+json" in answer.headers.get("content-type", ""), (
        f"expected a 502 problem document for the lost POST; got {answer.status_code} {answer.text[:200]}")

"""Lab python-perf/concurrency: the same work, four concurrency models, measured against each other.

I/O tests call a real HTTP server in its own process on 127.0.0.1 whose every request sleeps; it
counts how many requests it was serving at once, so overlap is proven by the server, not guessed
from a stopwatch. CPU tests run pure-Python work that reports the process and thread it ran on
and the CPU time it burned, so the GIL shows up as a number.

Timing assertions compare models within this run (best of several repeats) with wide margins.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import httpx
import pytest

from course.processes import python_command, running
from labs.week01_python_perf import concurrency
from labs.week01_python_perf.workloads import TaskReport, cpu_task

T = TypeVar("T")

README = "weeks/01-python-perf/README.md"

# I/O: 16 requests that each wait 100 ms on the server — 1.6 s one at a time, ~0.1 s overlapped.
# The wait dwarfs what a loaded machine adds per batch (thread start-up, 16 connects): ~0.3 s.
REQUESTS = 16
DELAY_MS = 100
MIN_IO_SPEEDUP = 4.0  # ideal is ~15×; 4× still proves overlap on a loaded machine
MIN_IN_FLIGHT = 8  # of 16: the server must see requests overlap, not merely a fast clock

# CPU: eight tasks of ~30 ms each (~50 ms for the speedup test, so pool start-up is small next to
# the work); π(n), the number of primes below n, is the known answer.
CPU_LIMITS = [34_000 + 1_000 * i for i in range(8)]
CPU_PRIMES = [3638, 3732, 3824, 3923, 4017, 4107, 4203, 4291]
SPEEDUP_LIMITS = [52_000 + 2_000 * i for i in range(8)]
SPEEDUP_PRIMES = [5319, 5500, 5683, 5873, 6057, 6232, 6413, 6591]
SMALL_LIMITS = [10_000 + 1_000 * i for i in range(8)]
SMALL_PRIMES = [1229, 1335, 1438, 1547, 1652, 1754, 1862, 1960]
CPU_WORKERS = 4
MIN_PROCESS_SPEEDUP = 1.3  # ideal on 2 free cores is ~1.7× (pool start-up included)
# Timing rounds at most; a test stops as soon as its claim is shown (usually after round 1).
IO_ROUNDS = 6  # ~0.1 s each
CPU_ROUNDS = 3  # ~1 s each


# --------------------------------------------------------------------------- the slow server


class SlowApi:
    """The running slow server, seen from the tests."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def urls(self, count: int = REQUESTS, delay_ms: int = DELAY_MS) -> list[str]:
        return [f"{self.base_url}/work/{i}?ms={delay_ms}" for i in range(count)]

    def reset(self) -> None:
        httpx.post(f"{self.base_url}/reset").raise_for_status()

    def max_in_flight(self) -> int:
        return httpx.get(f"{self.base_url}/stats").json()["max_in_flight"]


@pytest.fixture(scope="module")
def slow_api() -> Iterator[SlowApi]:
    command = python_command("-m", "labs.week01_python_perf.slow_server", "--port", "{port}")
    with running(command) as server:
        yield SlowApi(server.url)


@pytest.fixture(scope="module")
def sync_seconds(slow_api: SlowApi) -> float:
    """How long ``fetch_all_sync`` takes for the standard batch: the baseline to beat."""
    try:
        seconds, _ = timed(lambda: concurrency.fetch_all_sync(slow_api.urls()))
        return seconds
    except NotImplementedError:
        pass  # fail outside the except block: the learner needs one message, not a chain of two
    pytest.fail("this test measures against fetch_all_sync, which is not written yet: "
                "make test_sync_fetches_one_at_a_time pass first", pytrace=False)


def expected_bodies(count: int = REQUESTS) -> list[str]:
    return [f"work {i}" for i in range(count)]


def timed(run: Callable[[], T]) -> tuple[float, T]:
    """Wall seconds of one call of ``run``, and its result."""
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


# --------------------------------------------------------------------------- I/O-bound


def test_sync_fetches_one_at_a_time(slow_api: SlowApi) -> None:
    slow_api.reset()
    bodies = concurrency.fetch_all_sync(slow_api.urls(count=5, delay_ms=10))
    assert bodies == expected_bodies(5), (
        f"expected the response bodies in the order of the URLs: {expected_bodies(5)}; got {bodies!r}")
    in_flight = slow_api.max_in_flight()
    assert in_flight == 1, (
        f"expected the sync version to send one request at a time; the server saw {in_flight} at "
        f"once. This is the baseline: keep it plain. See {README}, section 'I/O-bound or CPU-bound?'")


@dataclass
class Overlap:
    seconds: float  # best wall time of the runs
    peak: int  # most requests the server saw in flight at once, over the runs
    bodies: list[str]  # what the last run returned

    def shown(self, sync_seconds: float) -> bool:
        return self.peak >= MIN_IN_FLIGHT and sync_seconds / self.seconds >= MIN_IO_SPEEDUP


def measure_overlap(slow_api: SlowApi, sync_seconds: float,
                    fetch_all: Callable[[list[str]], list[str]]) -> Overlap:
    """Run ``fetch_all`` on the standard batch up to IO_ROUNDS times; stop once overlap is shown."""
    result = Overlap(float("inf"), 0, [])
    for _ in range(IO_ROUNDS):
        slow_api.reset()
        seconds, bodies = timed(lambda: fetch_all(slow_api.urls()))
        result = Overlap(min(result.seconds, seconds), max(result.peak, slow_api.max_in_flight()),
                         bodies)
        if result.shown(sync_seconds) or result.peak <= 1:
            break  # shown, or one request at a time: no amount of retrying will show overlap
    return result


def test_threads_overlap_io(slow_api: SlowApi, sync_seconds: float) -> None:
    run = measure_overlap(slow_api, sync_seconds,
                          lambda urls: concurrency.fetch_all_threads(urls, workers=32))
    assert run.bodies == expected_bodies(), (
        f"expected the bodies in the order of the URLs; got {run.bodies!r}. ThreadPoolExecutor.map "
        "keeps input order; as_completed does not")
    assert run.shown(sync_seconds), (
        f"expected {REQUESTS} requests of {DELAY_MS} ms each to overlap on threads: at least "
        f"{MIN_IN_FLIGHT} in flight and ≥{MIN_IO_SPEEDUP:.0f}× faster than sync. Got at most "
        f"{run.peak} in flight; threads {run.seconds:.3f}s vs sync {sync_seconds:.3f}s "
        f"({sync_seconds / run.seconds:.1f}×). Are all requests submitted to the pool before any "
        f"result is awaited? See {README}, section 'Threads: waiting in parallel'")


def test_asyncio_overlaps_io(slow_api: SlowApi, sync_seconds: float) -> None:
    assert inspect.iscoroutinefunction(concurrency.fetch_all_async), (
        "expected fetch_all_async to be an `async def` function (a coroutine function)")
    run = measure_overlap(slow_api, sync_seconds,
                          lambda urls: asyncio.run(concurrency.fetch_all_async(urls)))
    assert run.bodies == expected_bodies(), (
        f"expected the bodies in the order of the URLs; got {run.bodies!r}. asyncio.gather returns "
        "results in argument order")
    assert run.shown(sync_seconds), (
        f"expected {REQUESTS} requests of {DELAY_MS} ms each to overlap on the event loop: at least "
        f"{MIN_IN_FLIGHT} in flight and ≥{MIN_IO_SPEEDUP:.0f}× faster than sync. Got at most "
        f"{run.peak} in flight; asyncio {run.seconds:.3f}s vs sync {sync_seconds:.3f}s "
        f"({sync_seconds / run.seconds:.1f}×). `await` inside a for loop waits for each response "
        "before sending the next request, and a blocking call (requests, httpx.get, time.sleep) "
        f"inside `async def` stalls the whole loop. See {README}, section 'asyncio: one thread, "
        "many waits'")


def test_asyncio_respects_the_concurrency_limit(slow_api: SlowApi) -> None:
    limit = 4
    slow_api.reset()
    bodies = asyncio.run(concurrency.fetch_all_async(slow_api.urls(delay_ms=40), limit=limit))
    assert bodies == expected_bodies(), f"expected the bodies in the order of the URLs; got {bodies!r}"
    peak = slow_api.max_in_flight()
    assert 2 <= peak <= limit, (
        f"expected between 2 and limit={limit} requests in flight at once; the server saw {peak}. "
        "An unbounded gather fires every request at once — fine for 20, an outage for the "
        f"downstream at 20 000. Use an asyncio.Semaphore. See {README}, section "
        "'asyncio: one thread, many waits'")


def test_threads_respect_the_worker_count(slow_api: SlowApi) -> None:
    slow_api.reset()
    bodies = concurrency.fetch_all_threads(slow_api.urls(count=12, delay_ms=40), workers=3)
    assert bodies == expected_bodies(12), (
        f"expected the bodies in the order of the URLs; got {bodies!r}. See {README}, section "
        "'Threads: waiting in parallel'")
    peak = slow_api.max_in_flight()
    assert 2 <= peak <= 3, (
        f"expected between 2 and workers=3 requests in flight at once; the server saw {peak}. The "
        "pool size is the caller's limit on the downstream: pass `workers` to "
        f"ThreadPoolExecutor(max_workers=...) and to the client's connection limits. See {README}, "
        "section 'Threads: waiting in parallel'")


RUNNERS: dict[str, Callable[[list[str]], list[str]]] = {
    "sync": lambda urls: concurrency.fetch_all_sync(urls),
    "threads": lambda urls: concurrency.fetch_all_threads(urls, workers=4),
    "asyncio": lambda urls: asyncio.run(concurrency.fetch_all_async(urls, limit=4)),
}


@pytest.mark.parametrize("model", sorted(RUNNERS))
def test_an_error_status_raises_instead_of_becoming_a_body(slow_api: SlowApi, model: str) -> None:
    urls = [*slow_api.urls(count=2, delay_ms=1), f"{slow_api.base_url}/missing"]
    try:
        bodies = RUNNERS[model](urls)
    except httpx.HTTPStatusError as error:
        assert error.response.status_code == 404, (
            f"expected the 404's HTTPStatusError; got {error}. See {README}, section "
            "'I/O-bound or CPU-bound?'")
        return
    pytest.fail(f"expected the {model} runner to raise httpx.HTTPStatusError for a 404; it returned "
                f"{bodies!r} — an error page counted as a result. Call response.raise_for_status() "
                f"on every response. See {README}, section 'I/O-bound or CPU-bound?'", pytrace=False)


# --------------------------------------------------------------------------- CPU-bound


def gil_enabled() -> bool:
    """False on a free-threaded build (3.13t, 3.14t) running without the GIL."""
    return getattr(sys, "_is_gil_enabled", lambda: True)()


def values(reports: list[TaskReport]) -> list[int]:
    return [report.value for report in reports]


def cores_used(reports: list[TaskReport], wall_seconds: float) -> float:
    """CPU seconds the tasks burned per wall second: how many cores were busy on average."""
    return sum(report.cpu_seconds for report in reports) / wall_seconds


def usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def idle_cpu_seconds() -> float | None:
    """CPU seconds the whole machine has spent idle so far (Linux), or None where that is unknown.

    Only trusted when this process may use every CPU and no cgroup quota caps it below two cores:
    otherwise an idle CPU may be one that the tests cannot use.
    """
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
        quota, period = "max", "1"
        if os.path.exists("/sys/fs/cgroup/cpu.max"):  # cgroup v2
            with open("/sys/fs/cgroup/cpu.max") as cpu_max:
                quota, period = cpu_max.read().split()[:2]
        elif os.path.exists("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"):  # cgroup v1; -1 = no quota
            with open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") as v1_quota, \
                    open("/sys/fs/cgroup/cpu/cpu.cfs_period_us") as v1_period:
                quota, period = v1_quota.read().strip(), v1_period.read().strip()
            quota = "max" if quota == "-1" else quota
        if usable_cpus() != os.cpu_count() or (quota != "max" and int(quota) < 2 * int(period)):
            return None
    except (OSError, ValueError):
        return None
    return (int(fields[4]) + int(fields[5])) / os.sysconf("SC_CLK_TCK")  # idle + iowait ticks


@pytest.mark.skipif(not gil_enabled(), reason="free-threaded build without a GIL: threads may run "
                    "Python in parallel here, which is the point of those builds")
def test_threads_do_not_speed_up_cpu_work() -> None:
    serial_s = threads_s = float("inf")
    busiest = 0.0
    for _ in range(CPU_ROUNDS):  # interleaved, so a burst of load from elsewhere hits both models alike
        seconds, serial = timed(lambda: concurrency.run_serial(cpu_task, CPU_LIMITS))
        # Serial work takes its CPU seconds when it has a core to itself; load from elsewhere only
        # adds wall time. So the serial baseline is the lesser of its wall and its CPU seconds.
        serial_s = min(serial_s, seconds, sum(report.cpu_seconds for report in serial))
        seconds, threaded = timed(lambda: concurrency.run_threads(cpu_task, CPU_LIMITS,
                                                                  workers=CPU_WORKERS))
        threads_s = min(threads_s, seconds)
        busiest = max(busiest, cores_used(threaded, seconds))
        if threads_s >= 0.7 * serial_s:
            break
    assert values(serial) == CPU_PRIMES, f"run_serial: expected {CPU_PRIMES}; got {values(serial)}"
    assert values(threaded) == CPU_PRIMES, (
        f"run_threads: expected the results in input order {CPU_PRIMES}; got {values(threaded)}")
    pids = {report.pid for report in threaded}
    threads = {report.thread for report in threaded}
    assert pids == {os.getpid()} and len(threads) >= 2, (
        f"expected the tasks to run on several threads of this process; they ran in processes "
        f"{sorted(pids)} (this is {os.getpid()}) on {len(threads)} thread(s). Use ThreadPoolExecutor")
    # Each task timed its own thread's CPU use. Under the GIL one thread runs Python at a time,
    # so those CPU seconds add up to at most the wall time: never more than one core busy.
    assert busiest <= 1.25, (
        f"expected at most one core busy under the GIL; the threads kept {busiest:.2f} cores busy")
    assert threads_s >= 0.7 * serial_s, (
        f"expected threads to be no faster than serial on CPU work; got threads {threads_s:.3f}s vs "
        f"serial {serial_s:.3f}s (best of wall and CPU seconds over {CPU_ROUNDS} rounds). See {README}, "
        "section 'Processes and the GIL'")


def test_processes_run_tasks_in_worker_processes() -> None:
    reports = concurrency.run_processes(cpu_task, SMALL_LIMITS, workers=2)
    assert values(reports) == SMALL_PRIMES, (
        f"expected the results in input order {SMALL_PRIMES}; got {values(reports)}")
    pids = {report.pid for report in reports}
    assert os.getpid() not in pids, (
        f"expected every task to run in a worker process; some ran in this process ({os.getpid()}), "
        "so they share its GIL. Threads are not processes: use ProcessPoolExecutor. See "
        f"{README}, section 'Processes and the GIL'")


def test_processes_speed_up_cpu_work() -> None:
    cpus = usable_cpus()
    if cpus < 2:
        pytest.skip(f"this process may use {cpus} CPU: there is no second core for a process to use")
    # The baseline is the faster of serial and threads: on a loaded machine GIL hand-offs wait for
    # the OS scheduler and threads fall behind serial, which would flatter any process pool.
    threads_s = serial_s = processes_s = float("inf")
    busiest = 0.0
    sequential: tuple[float, float] | None = None  # (cores busy, cores idle) of a one-at-a-time run
    pids: set[int] = set()
    for _ in range(CPU_ROUNDS):  # interleaved, so a burst of load from elsewhere hits both models alike
        seconds, _ = timed(lambda: concurrency.run_threads(cpu_task, SPEEDUP_LIMITS,
                                                           workers=CPU_WORKERS))
        threads_s = min(threads_s, seconds)
        seconds, _ = timed(lambda: concurrency.run_serial(cpu_task, SPEEDUP_LIMITS))
        serial_s = min(serial_s, seconds)
        idle_before = idle_cpu_seconds()
        seconds, forked = timed(lambda: concurrency.run_processes(cpu_task, SPEEDUP_LIMITS,
                                                                  workers=CPU_WORKERS))
        idle_after = idle_cpu_seconds()
        processes_s = min(processes_s, seconds)
        busy = cores_used(forked, seconds)
        busiest = max(busiest, busy)
        if idle_before is not None and idle_after is not None:
            idle = (idle_after - idle_before) / seconds
            # A CPU sat idle most of the run while the tasks never kept much more than one core
            # busy: the kernel never leaves a core idle while a worker is runnable, so the workers
            # were not runnable together — the tasks ran one after another.
            if idle >= 0.7 and busy < 1.2:
                sequential = (busy, idle)
        pids |= {report.pid for report in forked}
        assert values(forked) == SPEEDUP_PRIMES, (
            f"run_processes: expected the results in input order {SPEEDUP_PRIMES}; got {values(forked)}")
        if min(threads_s, serial_s) / processes_s >= MIN_PROCESS_SPEEDUP:
            return
    speedup = min(threads_s, serial_s) / processes_s
    measured = (f"processes {processes_s:.3f}s vs threads {threads_s:.3f}s and serial "
                f"{serial_s:.3f}s ({speedup:.2f}× the faster); the worker processes kept "
                f"{busiest:.2f} cores busy")
    assert len(pids) >= 2, (
        f"expected {CPU_WORKERS} worker processes to share the tasks; every task ran in one "
        f"process. Does run_processes pass `workers` to the pool? ({measured})")
    assert sequential is None, (
        f"expected the worker processes to run tasks at the same time; in one run they kept "
        f"{sequential[0]:.2f} cores busy while {sequential[1]:.2f} of a core sat idle ({measured}). "
        "Waiting for each task's result before submitting the next runs the tasks one after "
        f"another, in however many processes. Use pool.map(fn, items). See {README}, section "
        "'Processes and the GIL'")
    load = os.getloadavg()[0]
    if cpus - load < 1.0 or busiest < 1.5:  # no evidence a second core was ever free
        pytest.skip(f"inconclusive: {measured}, load {load:.1f} on {cpus} CPUs. Either the machine "
                    "is busy and no second core was free, or run_processes runs its workers one "
                    "after another. Run it again on an idle machine")
    pytest.fail(
        f"expected {CPU_WORKERS} worker processes to beat serial and {CPU_WORKERS} threads on CPU work by "
        f"≥{MIN_PROCESS_SPEEDUP}×; got {measured}, load {load:.1f} on {cpus} CPUs. See {README}, "
        "section 'Processes and the GIL'", pytrace=False)

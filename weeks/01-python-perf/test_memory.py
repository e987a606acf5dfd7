"""Lab python-perf/memory: a slotted record, a streaming summary under a memory budget, a weak cache.

Memory is measured, not inferred: ``tracemalloc`` counts every byte Python allocates, so a
"streaming" function that secretly reads the whole file shows up as a peak in megabytes.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from course.concurrently import run_together
from labs.week01_python_perf.loglines import write_log
from labs.week01_python_perf.memory import LogRecord, WeakCache, parse_record, read_records, summarise

README = "weeks/01-python-perf/README.md"
LINES = 20_000  # ~1.2 MB of log; as a list of records it would be ~7 MB
PEAK_BUDGET = 256 * 1024  # bytes: a line, a few totals and the k slowest — not the file
FIELDS = {"timestamp": "2026-03-02T14:05:09Z", "client": "10.0.12.7", "method": "GET",
          "path": "/api/orders/4821", "status": 200, "duration_ms": 37}
LINE = "2026-03-02T14:05:09Z 10.0.12.7 GET /api/orders/4821 200 37"


@pytest.fixture(scope="module")
def access_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_log(tmp_path_factory.mktemp("logs") / "access.log", LINES, seed=7)


def traced_peak(run: Callable[[], object]) -> tuple[int, object]:
    """Peak bytes Python allocated while ``run`` ran (above what was live before), and its result."""
    gc.collect()
    tracemalloc.start()
    try:
        baseline, _ = tracemalloc.get_traced_memory()
        result = run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - baseline, result


def bytes_per_instance(make: Callable[[], object], count: int = 5_000) -> float:
    """Average bytes one object costs, measured by allocating ``count`` of them."""
    peak, _ = traced_peak(lambda: [make() for _ in range(count)])
    return peak / count


# --------------------------------------------------------------------------- slotted record


class PlainRecord:
    """The same six fields in an ordinary class: every instance carries a ``__dict__``."""

    def __init__(self, **fields: object) -> None:
        self.__dict__.update(fields)


def test_parse_record_reads_the_six_fields() -> None:
    record = parse_record(LINE)
    got = {name: getattr(record, name, None) for name in FIELDS}
    assert got == FIELDS, (
        f"expected {FIELDS} (status and duration_ms as int); got {got}. See {README}, section "
        "'Memory you can measure: slotted records and generators'")


def test_log_record_is_slotted_and_smaller() -> None:
    record = LogRecord(**FIELDS)
    assert not hasattr(record, "__dict__"), (
        "expected LogRecord instances to have no __dict__: declare __slots__ "
        f"(or @dataclass(slots=True)). See {README}, section 'Memory you can measure: slotted "
        "records and generators'")
    slotted = bytes_per_instance(lambda: LogRecord(**FIELDS))
    plain = bytes_per_instance(lambda: PlainRecord(**FIELDS))
    assert slotted <= 0.8 * plain, (
        f"expected a LogRecord to cost ≤80% of an ordinary object with a __dict__; measured "
        f"{slotted:.0f} vs {plain:.0f} bytes per instance")


# --------------------------------------------------------------------------- streaming


def expected_summary(path: Path, k: int) -> tuple[int, int, int, list[tuple[str, int]]]:
    """An independent, memory-hungry oracle: (requests, errors, total_ms, k slowest)."""
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    ranked = sorted(enumerate(rows), key=lambda pair: (-int(pair[1][5]), pair[0]))[:k]
    slowest = [(row[0], int(row[5])) for _, row in ranked]
    return (len(rows), sum(int(row[4]) >= 500 for row in rows), sum(int(row[5]) for row in rows),
            slowest)


def test_summarise_is_correct(access_log: Path) -> None:
    summary = summarise(read_records(access_log), k=5)
    got = (summary.requests, summary.errors, summary.total_ms,
           [(record.timestamp, record.duration_ms) for record in summary.slowest])
    expected = expected_summary(access_log, k=5)
    assert got == expected, (
        "expected (requests, errors, total_ms, the 5 slowest as (timestamp, ms), slowest first, "
        f"ties in file order):\n  {expected}\ngot:\n  {got}")


def record(line_number: int, duration_ms: int) -> LogRecord:
    return LogRecord(f"2026-03-02T14:05:{line_number:02d}Z", "10.0.0.1", "GET", "/", 200, duration_ms)


def test_summarise_breaks_ties_in_file_order() -> None:
    records = [record(0, 5), record(1, 90), record(2, 40), record(3, 90), record(4, 40), record(5, 90)]
    summary = summarise(iter(records), k=4)
    got = [r.timestamp[-3:-1] for r in summary.slowest]
    assert got == ["01", "03", "05", "02"], (
        f"expected the 4 slowest as lines 01, 03, 05 (90 ms each, in file order), then 02 (the first "
        f"40 ms line); got lines {got}. Among equal durations the earlier line ranks first — a heap "
        "of (duration, -line number, record) keeps that order; (duration, line number) reverses it. "
        f"See {README}, section 'Memory you can measure: slotted records and generators'")
    assert (summary.requests, summary.total_ms) == (6, 355), (
        f"expected 6 requests and 355 ms in total; got {summary.requests} and {summary.total_ms}: count "
        f"every record, not only the k kept. See {README}, section 'Memory you can measure: slotted "
        "records and generators'")


def test_read_records_skips_blank_lines(tmp_path: Path) -> None:
    log = tmp_path / "blank.log"
    log.write_text(f"{LINE}\n\n   \n{LINE}\n")
    got = [r.duration_ms for r in read_records(log)]
    assert got == [37, 37], (
        f"expected the two records and no error for the blank lines between them; got {got}. See "
        f"{README}, section 'Memory you can measure: slotted records and generators'")


def test_read_records_is_lazy(tmp_path: Path) -> None:
    log = tmp_path / "truncated.log"
    log.write_text(f"{LINE}\n2026-03-02T14:05:10Z 10.0.12.7 GET /api/or\n")  # cut off mid-write
    records = read_records(log)
    assert isinstance(records, Iterator), (
        f"expected read_records to return an iterator (a generator); got {type(records).__name__}")
    first = next(records)
    assert first.duration_ms == 37, f"expected the first record of the file; got {first!r}"
    with pytest.raises(ValueError):
        next(records)  # parsed only when asked for: the bad line fails here, not up front


def test_summarise_file_stays_within_memory_budget(access_log: Path) -> None:
    size = access_log.stat().st_size
    peak, summary = traced_peak(lambda: summarise(read_records(access_log)))
    assert summary.requests == LINES, f"expected {LINES} requests; got {summary.requests}"  # type: ignore[attr-defined]
    assert peak <= PEAK_BUDGET, (
        f"expected summarising a {size / 1e6:.1f} MB log to peak under {PEAK_BUDGET // 1024} KB; "
        f"tracemalloc measured a peak of {peak / 1e6:.2f} MB. Something holds the whole file: "
        "read(), readlines(), list(…), sorted(…) over all records? Iterate the file object and keep "
        f"only the k slowest in a heap. See {README}, section 'Memory you can measure: slotted "
        "records and generators'")


# --------------------------------------------------------------------------- weak cache


class Session:
    """A cached value: ordinary objects can be weakly referenced (ints and tuples cannot)."""

    def __init__(self, key: str) -> None:
        self.key = key


def counting_loader() -> tuple[list[str], Callable[[str], Session]]:
    loaded: list[str] = []

    def load(key: str) -> Session:
        loaded.append(key)
        return Session(key)

    return loaded, load


def test_cache_shares_one_object_per_key() -> None:
    loaded, load = counting_loader()
    cache: WeakCache[str, Session] = WeakCache(load)
    first, again, other = cache.get("u1"), cache.get("u1"), cache.get("u2")
    assert first is again and first.key == "u1" and other.key == "u2", (
        "expected the same object for the same key while it is alive, and the right object per key")
    assert loaded == ["u1", "u2"], f"expected one load per key; the loader was called for {loaded}"
    assert len(cache) == 2, f"expected 2 live entries; len(cache) is {len(cache)}"


def test_cache_loads_once_when_threads_miss_together() -> None:
    loaded: list[str] = []

    def slow_load(key: str) -> Session:
        loaded.append(key)
        time.sleep(0.05)  # long enough for every thread to miss before the first load returns
        return Session(key)

    cache: WeakCache[str, Session] = WeakCache(slow_load)
    outcomes = run_together(lambda _: cache.get("u1"), 8, timeout_s=30)
    errors = [repr(o) for o in outcomes if isinstance(o, Exception)]
    assert not errors, (
        f"expected every get() to return the session; {len(errors)} of 8 raised, e.g. {errors[0]}. "
        f"See {README}, section 'Object lifecycle: refcounts, cycles, weak references'")
    sessions = [o for o in outcomes if isinstance(o, Session)]
    assert loaded == ["u1"] and all(s is sessions[0] for s in sessions), (
        f"expected 8 threads missing at once to share one load and one object; the loader ran "
        f"{len(loaded)} times and they got {len({id(s) for s in sessions})} distinct objects. Check "
        "and store under one threading.Lock, so a second thread waits and then finds the value. "
        f"See {README}, section 'Object lifecycle: refcounts, cycles, weak references'")


def test_cache_does_not_keep_objects_alive() -> None:
    loaded, load = counting_loader()
    cache: WeakCache[str, Session] = WeakCache(load)
    sessions = [cache.get(f"u{i}") for i in range(1_000)]
    watchers = [weakref.ref(session) for session in sessions]
    del sessions  # the last strong references outside the cache
    gc.collect()
    alive = sum(watcher() is not None for watcher in watchers)
    assert alive == 0, (
        f"expected every value to be freed once nobody uses it; {alive} of 1000 are still alive, "
        "so the cache holds them: that is a memory leak. Hold values through weak references "
        f"(weakref.WeakValueDictionary). See {README}, section 'Object lifecycle: refcounts, "
        "cycles, weak references'")
    assert len(cache) == 0, (
        f"expected no entries for dead values; len(cache) is {len(cache)} — dead entries pile up")
    cache.get("u0")
    assert loaded.count("u0") == 2, "expected a key whose value died to be loaded again"

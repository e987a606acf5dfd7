"""Lab python-perf/profiling: make the shipped slow log analyser fast, and read profiles as data.

Your ``fast_logs.analyse`` must return exactly what ``slow_logs.analyse`` returns, on many inputs,
and be much faster than it — measured here, in this run, on the same input.
"""

from __future__ import annotations

import cProfile
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

from course.paths import REPO_ROOT
from labs.week01_python_perf import fast_logs, slow_logs
from labs.week01_python_perf.loglines import Report, generate_lines, write_log
from labs.week01_python_perf.profiling import FunctionStat, top_functions

README = "weeks/01-python-perf/README.md"
MIN_SPEEDUP = 5.0  # a one-pass, parse-once, set-based version is typically 20–35× faster


def as_file_lines(lines: Iterable[str]) -> Iterator[str]:
    """Lines the way iterating an open file yields them: one pass only, newline included."""
    return (line + "\n" for line in lines)


def differences(expected: Report, got: Report) -> str:
    fields = [name for name in vars(expected) if getattr(expected, name) != getattr(got, name, None)]
    return "\n".join(f"  {name}: expected {getattr(expected, name)!r}\n  {' ' * len(name)}  "
                     f"got      {getattr(got, name, None)!r}" for name in fields)


# --------------------------------------------------------------------------- the fast analyser


@pytest.mark.parametrize(("count", "clients", "seed"), [
    (0, None, 1), (1, None, 2), (50, 3, 3), (3_000, None, 4), (3_000, 2_500, 5)])
def test_fast_version_matches_slow_version(count: int, clients: int | None, seed: int) -> None:
    lines = list(generate_lines(count, clients=clients, seed=seed))
    expected = slow_logs.analyse(lines)
    got = fast_logs.analyse(as_file_lines(lines))
    assert got == expected, (
        f"expected fast_logs.analyse to equal slow_logs.analyse on {count} lines (fed once, like "
        f"a file); these fields differ:\n{differences(expected, got)}")


def test_fast_version_is_much_faster() -> None:
    # Half the lines come from distinct clients: quadratic work shows, as it does on real traffic.
    lines = list(generate_lines(8_000, clients=4_000, seed=11))

    def timed(analyse: Callable[[Iterable[str]], Report]) -> tuple[float, Report]:
        started = time.perf_counter()
        report = analyse(lines)
        return time.perf_counter() - started, report

    slow_runs = [timed(slow_logs.analyse) for _ in range(2)]
    fast_runs = [timed(fast_logs.analyse) for _ in range(5)]
    slow = min(seconds for seconds, _ in slow_runs)  # best of each: noise only ever adds time
    fast = min(seconds for seconds, _ in fast_runs)
    expected, got = slow_runs[0][1], fast_runs[0][1]
    assert got == expected, f"fast and slow reports differ:\n{differences(expected, got)}"
    assert slow / fast >= MIN_SPEEDUP, (
        f"expected ≥{MIN_SPEEDUP:.0f}× faster than slow_logs on 8 000 lines; got fast {fast:.3f}s vs "
        f"slow {slow:.3f}s ({slow / fast:.1f}×). Profile your version the way you profiled the slow "
        "one (cProfile for functions, line_profiler for lines): is a membership test scanning a "
        f"list, or every line parsed with strptime? See {README}, section 'Profiling: measure, do not "
        "guess'")


# --------------------------------------------------------------------------- your runs, compared

BENCHMARK_LINES = 4_000  # a copy of slow_logs takes ~0.3 s a round here; a good fix, ~10 ms
BENCHMARK_OPTIONS = ("benchmark_save", "benchmark_autosave", "benchmark_compare", "benchmark_json",
                     "benchmark_only", "benchmark_enable", "benchmark_histogram")


def benchmarks_requested(config: pytest.Config) -> bool:
    """True when the learner asked pytest-benchmark for numbers (save, compare, json, --benchmark-only)."""
    return any(config.getoption(name, default=None) for name in BENCHMARK_OPTIONS)


@pytest.mark.benchmark(group="fast_logs.analyse")
def test_benchmark_fast_analyse(benchmark, request: pytest.FixtureRequest) -> None:
    """``fast_logs.analyse`` under pytest-benchmark, for comparing your own runs with each other.

    Asked for (``--benchmark-save=baseline``, ``--benchmark-autosave``, ``--benchmark-compare``,
    ``--benchmark-only``) it times many rounds and saves or compares them. Not asked for, it runs
    your analyser once and checks its report: the proof suite stays fast and free of timing noise,
    and ``test_fast_version_is_much_faster`` is what proves the speed-up.
    """
    lines = list(generate_lines(BENCHMARK_LINES, clients=BENCHMARK_LINES // 2, seed=17))
    if not benchmarks_requested(request.config):
        benchmark.disabled = True
    got = benchmark(fast_logs.analyse, lines)
    expected = slow_logs.analyse(lines)
    assert got == expected, (
        f"expected the benchmarked fast_logs.analyse to return what slow_logs.analyse returns on "
        f"{BENCHMARK_LINES} lines; these fields differ:\n{differences(expected, got)}\nA faster "
        f"wrong answer is not an improvement. See {README}, section 'Compare your runs'")


# --------------------------------------------------------------------------- reading profiles


def checksum(rounds: int) -> int:
    """Heavy own time: one long loop of arithmetic."""
    total = 0
    for i in range(rounds):
        total = (total * 31 + i) % 1_000_003
    return total


def parse_number(text: str) -> int:
    """Many cheap calls."""
    return int(text)


def job() -> None:
    for _ in range(2_000):
        parse_number("42")
    for _ in range(3):
        checksum(200_000)


def by_name(rows: list[FunctionStat], name: str) -> FunctionStat:
    found = [row for row in rows if row.name == name]
    assert found, f"expected a row for {name!r}; got {[row.name for row in rows]}"
    return found[0]


def test_top_functions_ranks_by_own_time() -> None:
    profile = cProfile.Profile()
    profile.runcall(job)
    top = top_functions(profile, n=3)
    assert len(top) == 3, f"expected n=3 rows; got {len(top)}"
    assert [row.own_seconds for row in top] == sorted((row.own_seconds for row in top), reverse=True), (
        "expected rows sorted by own time (tottime), most first")
    assert top[0].name == "checksum" and top[0].calls == 3, (
        f"expected checksum (3 calls) first by own time; got {top[0]}. Own time (tottime) excludes "
        f"callees; cumulative includes them. See {README}, section 'Profiling: measure, do not guess'")
    everything = top_functions(profile, n=1_000)
    assert by_name(everything, "parse_number").calls == 2_000, "expected parse_number's 2000 calls"
    assert all(row.own_seconds <= row.cumulative_seconds + 1e-9 for row in everything), (
        "expected own_seconds ≤ cumulative_seconds on every row (did you swap tottime and cumtime?)")


def test_top_functions_ranks_by_cumulative_time() -> None:
    profile = cProfile.Profile()
    profile.runcall(job)
    top = top_functions(profile, n=2, by="cumulative")
    assert [row.name for row in top] == ["job", "checksum"], (
        f"expected job (which calls everything) then checksum by cumulative time; got "
        f"{[row.name for row in top]}")


def test_top_functions_reads_a_profile_file(tmp_path: Path) -> None:
    log = write_log(tmp_path / "access.log", 2_000, seed=3)
    saved = tmp_path / "slow.prof"
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(saved),
                    "-m", "labs.week01_python_perf.slow_logs", str(log)],
                   cwd=REPO_ROOT, check=True, capture_output=True, timeout=60)
    rows = top_functions(saved, n=10_000)
    parse = [row for row in rows if row.name == "parse" and row.filename.endswith("slow_logs.py")]
    assert parse and parse[0].calls == 3 * 2_000, (
        "expected slow_logs.parse with 6000 calls (three parses of each of 2000 lines) in a profile "
        f"saved by `python -m cProfile -o`; got {parse}")
    assert len(top_functions(saved, n=5)) == 5, "expected n=5 rows from the saved profile"

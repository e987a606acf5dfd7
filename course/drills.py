"""Failure drills: run load through a fault, heal it, and report what the clients lived through.

A drill is a timeline with load running the whole way::

    ──load──┬──────── fault ────────┬───────── recovery ─────────┬──▶
         inject()                 heal()              first success after heal

and its report answers the questions an on-call engineer asks after an incident: how many
requests failed and how (status counts), how slow it got (p50/p99 during the fault), how long
until the service answered again (time to recover), and whether anything acknowledged was lost
or applied twice (given a way to ask the source of truth)::

    report = run_drill(Load(url, write), cut(postgres_proxy),
                       acknowledged=lambda o: o.body["id"] if o.status == 201 else None,
                       stored=lambda ids: rows_with(ids))
    assert not report.lost, report.summary()

Faults come from :mod:`course.chaos` (cut, slow, black-hole a dependency behind a proxy) or from
killing a real process with SIGKILL (:func:`kill`). Every phase is bounded in time, so a drill
that finds a service which never recovers fails in seconds instead of hanging.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from course.chaos import ChaosProxy
from course.load import Load, LoadReport, Outcome
from course.processes import RunningProcess


@dataclass(frozen=True)
class Fault:
    """Something to break and a way to mend it; ``name`` appears in reports."""

    name: str
    inject: Callable[[], None]
    heal: Callable[[], None]


def cut(proxy: ChaosProxy, name: str = "cut") -> Fault:
    """The dependency behind ``proxy`` is down: connections refused, open ones dropped."""
    return Fault(name, proxy.cut, proxy.heal)


def slow(proxy: ChaosProxy, delay_s: float, name: str | None = None) -> Fault:
    """The dependency behind ``proxy`` is slow: every chunk held ``delay_s`` each way."""
    return Fault(name or f"slow {delay_s:g}s", lambda: proxy.delay(delay_s), proxy.heal)


def blackhole(proxy: ChaosProxy, name: str = "blackhole") -> Fault:
    """A partition: connections accepted, nothing forwarded, until healed."""
    return Fault(name, proxy.blackhole, proxy.heal)


def kill(process: RunningProcess, restart: Callable[[], object] | None = None,
         name: str = "kill -9") -> Fault:
    """SIGKILL ``process`` (no handler runs, nothing is flushed); healing calls ``restart``, if any."""

    def inject() -> None:
        process.kill()

    def heal() -> None:
        if restart is not None:
            restart()

    return Fault(name, inject, heal)


@dataclass(frozen=True)
class DrillReport:
    """What happened in each phase of a drill, and what the source of truth says afterwards."""

    fault: str
    before: LoadReport
    during: LoadReport
    after: LoadReport
    injected_at: float  # time.monotonic()
    healed_at: float
    time_to_recover_s: float | None  # heal() → the first good answer to a request sent after it
    acknowledged: tuple[str, ...] = ()
    lost: tuple[str, ...] = ()  # acknowledged, but not in the source of truth
    duplicates: tuple[str, ...] = ()  # in the source of truth more than once

    @property
    def all(self) -> LoadReport:
        return LoadReport(self.before.outcomes + self.during.outcomes + self.after.outcomes)

    @property
    def p50_s(self) -> float:
        """Median latency of the requests sent while the fault was in force."""
        return self.during.p50_s

    @property
    def p99_s(self) -> float:
        """99th-percentile latency of the requests sent while the fault was in force."""
        return self.during.p99_s

    @property
    def recovered(self) -> bool:
        return self.time_to_recover_s is not None

    def summary(self) -> str:
        """A few lines for a failure message or a notebook cell."""
        recovery = (f"recovered {self.time_to_recover_s:.2f}s after heal" if self.recovered
                    else "did not recover")
        lines = [f"drill '{self.fault}': {recovery}",
                 f"  before: {self.before.summary()}",
                 f"  during: {self.during.summary()}",
                 f"  after:  {self.after.summary()}"]
        if self.acknowledged:
            lines.append(f"  {len(self.acknowledged)} acknowledged, {len(self.lost)} lost, "
                         f"{len(self.duplicates)} duplicated")
        return "\n".join(lines)


def _good(outcome: Outcome) -> bool:
    return outcome.status is not None and outcome.status < 500


def _wait_for(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def run_drill(
    load: Load,
    fault: Fault,
    *,
    before_s: float = 0.3,
    fault_s: float = 1.0,
    min_before: int = 1,
    min_during: int = 5,
    recover_within_s: float = 5.0,
    after_s: float = 0.2,
    recovered: Callable[[Outcome], bool] = _good,
    acknowledged: Callable[[Outcome], str | None] | None = None,
    stored: Callable[[list[str]], Iterable[str]] | None = None,
) -> DrillReport:
    """Start ``load``, inject ``fault`` after ``before_s``, heal it after ``fault_s``, then keep the
    load going until a request sent after the heal is ``recovered`` (at most ``recover_within_s``)
    and ``after_s`` more; stop the load and report.

    The phase before the fault lasts until ``min_before`` requests were answered, and the fault
    phase until ``min_during`` were sent in it (each stretched at most by the load's own timeout),
    so a busy machine cannot make a drill pass by sending nothing at the moments that matter.

    ``acknowledged(outcome)`` names what the service promised to keep (an id, or None);
    ``stored(ids)`` asks the source of truth which of them it holds, one entry per copy — the
    report's ``lost`` and ``duplicates`` compare the two.
    """
    if min(before_s, fault_s, after_s, min_before, min_during) < 0 or recover_within_s <= 0:
        raise ValueError("drill phases need non-negative durations and a positive recovery bound")
    load.start()
    try:
        time.sleep(before_s)
        _wait_for(lambda: len(load.snapshot()) >= min_before or not load.running, load.timeout_s)
        injected_at = time.monotonic()
        fault.inject()
        try:
            time.sleep(fault_s)
            _wait_for(lambda: len(load.snapshot().started_between(injected_at)) >= min_during
                      or not load.running, load.timeout_s)
        finally:
            fault.heal()
            healed_at = time.monotonic()  # the fault is over once heal() has returned
        recovery: float | None = None
        give_up = healed_at + recover_within_s
        while load.running and time.monotonic() < give_up:
            good = [o for o in load.snapshot().started_between(healed_at).outcomes if recovered(o)]
            if good:
                recovery = min(o.finished for o in good) - healed_at
                break
            time.sleep(0.02)
        time.sleep(after_s)
    finally:
        everything = load.stop()
    if recovery is None:  # answers that arrived while the load was stopping still count
        good = [o for o in everything.started_between(healed_at).outcomes if recovered(o)]
        if good and min(o.finished for o in good) - healed_at <= recover_within_s:
            recovery = min(o.finished for o in good) - healed_at
    acked: list[str] = []
    lost: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()
    if acknowledged is not None:
        acked = [key for o in everything.outcomes if (key := acknowledged(o)) is not None]
        if stored is not None and acked:
            copies = Counter(stored(acked))
            lost = tuple(key for key in acked if copies[key] == 0)
            duplicates = tuple(sorted(key for key, n in copies.items() if n > 1))
    return DrillReport(
        fault=fault.name,
        before=everything.started_between(-math.inf, injected_at),
        during=everything.started_between(injected_at, healed_at),
        after=everything.started_between(healed_at),
        injected_at=injected_at,
        healed_at=healed_at,
        time_to_recover_s=recovery,
        acknowledged=tuple(acked),
        lost=lost,
        duplicates=duplicates,
    )

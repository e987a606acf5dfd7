"""What the tracker means: the next step, pace against the target date, anchor readiness.

Shared by ``course status``, the one-line summary after ``pytest weeks/NN`` and the site's
progress page, so all three always agree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from course import curriculum
from course.tracker import Tracker, default_target

SEMESTER_WEEKS = 16


@dataclass(frozen=True)
class NextStep:
    text: str
    command: str

    @property
    def command_line(self) -> str:
        return f"{self.text} — `{self.command}`" if self.command else self.text


@dataclass(frozen=True)
class Pace:
    today: dt.date
    expected_week: int  # the course week the calendar says you should be in
    current_week: int  # the first week with an unfinished lab
    days_left: int | None  # None: the learner's clock has not started yet

    @property
    def on_pace(self) -> bool:
        return self.current_week >= self.expected_week

    @property
    def summary(self) -> str:
        if self.days_left is None:
            return "not started — `course start` (or your first `pytest weeks/NN`) starts your clock"
        if self.days_left < 0:
            return f"the target date passed {-self.days_left} days ago — set a new one in tracker.yaml"
        where = f"you are in week {self.current_week:02d}, the calendar says week {self.expected_week:02d}"
        verdict = "on pace" if self.on_pace else f"{self.expected_week - self.current_week} week(s) behind"
        return f"{verdict}: {where}; {self.days_left} days to the target"


def week_done(week: curriculum.Week, tracker: Tracker) -> bool:
    return week.has_lab and all(tracker.passed(lab.id) for lab in week.labs)


def next_step(tracker: Tracker) -> NextStep:
    """The first lab not yet passed, in course order."""
    for week in curriculum.weeks():
        for lab in week.labs:
            if not tracker.passed(lab.id):
                return NextStep(f"week {week.code}, {lab.title} — read {week.folder.name}/README.md",
                                f"pytest weeks/{week.code}")
    upcoming = [w for w in curriculum.weeks() if not w.has_lab]
    if upcoming:
        return NextStep(f"every lab so far passes; week {upcoming[0].code}'s lab is coming — "
                        f"read its goals", "course status")
    return NextStep("every lab passes — ship the anchor and book interviews", "")


def current_week(tracker: Tracker) -> int:
    for week in curriculum.weeks():
        if week.has_lab and not week_done(week, tracker):
            return week.number
    done = [w.number for w in curriculum.weeks() if week_done(w, tracker)]
    return min(max(done, default=0) + 1, SEMESTER_WEEKS)


def pace(tracker: Tracker, today: dt.date | None = None) -> Pace:
    """Where the calendar says the learner should be, from the start and target dates."""
    today = today or dt.date.today()
    if tracker.start is None:
        return Pace(today, 1, current_week(tracker), None)
    target = tracker.target or default_target(tracker.start)
    span = max((target - tracker.start).days, 1)
    elapsed = min(max((today - tracker.start).days, 0), span)
    expected = min(SEMESTER_WEEKS, 1 + elapsed * SEMESTER_WEEKS // span)
    return Pace(today, expected, current_week(tracker), (target - today).days)


def anchor_readiness(tracker: Tracker) -> list[tuple[str, str, bool]]:
    """``(milestone id, title, ready)``: ready once every lab that builds it has passed.

    "Deployed" is a fact no test can check here, so it also needs the public URL the learner
    records (``course deliverable public_url …``).
    """
    builders: dict[str, list[str]] = {key: [] for key in curriculum.ANCHOR_MILESTONES}
    for _, lab in curriculum.all_labs():
        for milestone in lab.anchor:
            builders.setdefault(milestone, []).append(lab.id)
    recorded = {"deployed": bool(tracker.deliverables.public_url)}
    return [
        (key, title, recorded.get(key, bool(builders[key]))
         and all(tracker.passed(lab) for lab in builders[key]))
        for key, title in curriculum.ANCHOR_MILESTONES.items()
    ]


def labs_passed(tracker: Tracker) -> tuple[int, int]:
    labs = curriculum.all_labs()
    return sum(tracker.passed(lab.id) for _, lab in labs), len(labs)


@dataclass(frozen=True)
class BurnUp:
    """Labs passed over time against the pace line — "am I on pace?" in one look.

    The pace line runs from 0 labs on the start date to every lab on the target date. Before the
    clock starts there is no start date, so the line is drawn as if the learner started today
    (``started`` is False and the chart says so) rather than failing or drawing nothing.
    """

    start: dt.date
    target: dt.date
    today: dt.date
    total: int
    passes: tuple[dt.date, ...]  # the day each passed lab first passed, oldest first
    started: bool

    def done_by(self, day: dt.date) -> int:
        return sum(passed <= day for passed in self.passes)

    def pace_at(self, day: dt.date) -> float:
        """Labs the pace line says are done by ``day`` (0 before the start, all after the target)."""
        span = max((self.target - self.start).days, 1)
        elapsed = min(max((day - self.start).days, 0), span)
        return self.total * elapsed / span

    @property
    def done(self) -> int:
        return self.done_by(self.today)

    @property
    def expected(self) -> float:
        return self.pace_at(self.today)


def burn_up(tracker: Tracker, today: dt.date | None = None) -> BurnUp:
    """The chart's data: each curriculum lab's first pass, against the pace line.

    A pass dated before the start (the learner moved the start date later) counts on the start
    day, and one dated after today (a clock that disagrees) counts today, so the steps always
    stay inside the chart. Labs no longer in the curriculum do not count, as in ``labs_passed``.
    """
    today = today or dt.date.today()
    start = tracker.start or today
    target = tracker.target or default_target(start)
    labs = curriculum.all_labs()
    passes = sorted(min(max(entry.first_passed.date(), start), today)
                    for _, lab in labs
                    if (entry := tracker.labs.get(lab.id)) is not None and entry.first_passed is not None)
    return BurnUp(start, target, today, len(labs), tuple(passes), tracker.start is not None)


def pace_bar(chart: BurnUp, width: int = 20) -> str:
    """One terminal line: labs done as a filled bar, ``│`` where the pace line is today.

    ``█████│░░░░░░░░░░░░░░  6/26 labs · pace 5 by today, 1 ahead``
    """
    total = max(chart.total, 1)
    filled = round(width * chart.done / total)
    marker = min(round(width * chart.expected / total), width - 1)
    cells = ["█" if i < filled else "░" for i in range(width)]
    cells[marker] = "│"
    gap = chart.done - round(chart.expected)
    if not chart.started:
        verdict = "not started"
    else:
        verdict = f"pace {round(chart.expected)} by today, " + (f"{-gap} behind" if gap < 0 else
                                                                f"{gap} ahead" if gap else "on pace")
    return f"{''.join(cells)}  {chart.done}/{chart.total} labs · {verdict}"

"""The before/after latency table: the lab's evidence that the indexes paid off."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LatencyRow:
    """One query (or write) measured on the same database before and after the indexes."""

    query: str
    before_ms: float
    after_ms: float
    plan_before: str
    plan_after: str

    @property
    def speedup(self) -> float:
        return self.before_ms / self.after_ms


HEADERS = ("query", "before ms", "after ms", "speedup", "plan before → after")


def latency_table(rows: Sequence[LatencyRow]) -> str:
    """A plain-text table: one header line, then one line per row, in the order given.

    Columns: query, before ms and after ms (``f"{ms:,.3f}"``), speedup (``f"{x:,.1f}x"``), and
    the plans before → after; names left-aligned, numbers right-aligned.
    """
    cells = [HEADERS] + [
        (row.query, f"{row.before_ms:,.3f}", f"{row.after_ms:,.3f}", f"{row.speedup:,.1f}x",
         f"{row.plan_before} → {row.plan_after}")
        for row in rows
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADERS) - 1)]

    def render(line: tuple[str, ...]) -> str:
        # Names left-aligned, numbers right-aligned so their decimal points line up.
        first = line[0].ljust(widths[0])
        numbers = [cell.rjust(width) for cell, width in zip(line[1:-1], widths[1:], strict=True)]
        return "  ".join([first, *numbers, line[-1]]).rstrip()

    return "\n".join(render(line) for line in cells)

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


def latency_table(rows: Sequence[LatencyRow]) -> str:
    """A plain-text table: one header line, then one line per row, in the order given.

    The header names the columns (it must mention "before" and "after"). Each row's line shows
    the query name, ``before_ms`` and ``after_ms`` formatted ``f"{ms:,.3f}"``, the speedup
    formatted ``f"{row.speedup:,.1f}x"``, and the plans before → after. Line the columns up —
    names left-aligned, numbers right-aligned so their digits line up: it is the table you will
    paste into your notes and your portfolio.
    """
    raise NotImplementedError("see weeks/03-postgres-indexes/README.md, section 'The lab'")

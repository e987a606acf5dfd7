"""Read a cProfile run the way you read it by eye: the few functions where the time went.

``pstats`` prints a table for humans; :func:`top_functions` returns the same rows as data, so a
script, a test or a CI job can say "``_strptime`` is 40 % of the run" instead of a person
squinting at a terminal.
"""

from __future__ import annotations

import cProfile
import os
import pstats
from dataclasses import dataclass
from typing import Literal

SortKey = Literal["tottime", "cumulative"]


@dataclass(frozen=True)
class FunctionStat:
    """One row of a profile."""

    name: str  # function name: "parse", or "<built-in method time.sleep>" for C functions
    filename: str  # source file, or "~" for built-ins (that is what cProfile records)
    lineno: int
    calls: int  # every call, recursive ones included
    own_seconds: float  # tottime: time in this function's own body, callees excluded
    cumulative_seconds: float  # cumtime: time from entry to return, callees included


def top_functions(profile: cProfile.Profile | str | os.PathLike[str], n: int = 10,
                  by: SortKey = "tottime") -> list[FunctionStat]:
    """The ``n`` functions with the most ``own_seconds`` (or ``cumulative_seconds``), most first.

    ``profile`` is a finished :class:`cProfile.Profile` or the path of a file written by
    ``python -m cProfile -o FILE`` / ``Profile.dump_stats``.
    """
    stats = pstats.Stats(profile if isinstance(profile, cProfile.Profile) else os.fspath(profile))
    # Stats.stats maps (filename, lineno, name) → (primitive calls, all calls, tottime, cumtime,
    # callers): the raw table pstats itself sorts and prints.
    table = stats.stats  # type: ignore[attr-defined]
    rows = [
        FunctionStat(name=name, filename=filename, lineno=lineno, calls=calls,
                     own_seconds=own, cumulative_seconds=cumulative)
        for (filename, lineno, name), (_, calls, own, cumulative, _) in table.items()
    ]

    def slowest_first(row: FunctionStat) -> tuple[float, str, int, str]:
        seconds = row.own_seconds if by == "tottime" else row.cumulative_seconds
        return -seconds, row.filename, row.lineno, row.name  # ties in a stable order

    return sorted(rows, key=slowest_first)[:n]

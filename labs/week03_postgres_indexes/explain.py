"""Read and measure query plans: ``EXPLAIN (FORMAT JSON)`` as data, not text to squint at."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

Params = Sequence[Any] | Mapping[str, Any] | None
Plan = dict[str, Any]


@dataclass(frozen=True)
class ScanNode:
    """One plan node that reads a table or an index.

    ``relation`` is set for nodes that read the table (Seq Scan, Index Scan, Bitmap Heap Scan…),
    ``index`` for nodes that read an index (Index Scan, Index Only Scan, Bitmap Index Scan).
    """

    node_type: str
    relation: str | None
    index: str | None


def explain(conn: psycopg.Connection, query: str, params: Params = None, *,
            analyze: bool = False) -> Plan:
    """The plan document of ``EXPLAIN (FORMAT JSON)`` — with ``ANALYZE, BUFFERS`` if ``analyze``.

    ``params`` are passed to psycopg as for ``conn.execute``. ``EXPLAIN (FORMAT JSON)`` returns
    one row holding a one-element JSON array; return that element, a dict with a ``"Plan"`` key
    (and ``"Execution Time"`` in ms when analyzed). Only ANALYZE runs the statement — for a
    write, the caller wraps it in a transaction it rolls back.
    """
    raise NotImplementedError("see weeks/03-postgres-indexes/README.md, section 'Reading EXPLAIN'")


def scan_nodes(plan: Plan) -> list[ScanNode]:
    """Every node of ``plan`` that reads a table or an index, depth first from the top.

    A node reads a table when it has a ``"Relation Name"`` and an index when it has an
    ``"Index Name"``; the children of a node are in its ``"Plans"`` list, as deep as they go.
    """
    raise NotImplementedError("see weeks/03-postgres-indexes/README.md, section 'Reading EXPLAIN'")


def shared_blocks(plan: Plan) -> int:
    """Pages the query touched in shared buffers (hit + read), from an ``analyze=True`` plan.

    Raise ``ValueError`` for a plan without buffer counters (a plain EXPLAIN).
    """
    raise NotImplementedError("see weeks/03-postgres-indexes/README.md, section 'Reading EXPLAIN'")


def execution_ms(conn: psycopg.Connection, query: str, params: Params = None, *,
                 repeats: int = 5) -> float:
    """The best of ``repeats`` server-side execution times of ``query``, in milliseconds.

    Server-side (EXPLAIN ANALYZE's ``"Execution Time"``), so the network and the driver are left
    out; the best run, because noise on a busy machine only ever adds time. Run the query
    ``repeats`` times and keep the smallest.
    """
    raise NotImplementedError("see weeks/03-postgres-indexes/README.md, section 'Measuring honestly'")

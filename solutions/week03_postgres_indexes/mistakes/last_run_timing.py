"""Mistake: execution_ms keeps the last run ("the cache is warm by then") instead of the best."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

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
    """The plan document of ``EXPLAIN (FORMAT JSON)`` — with ``ANALYZE, BUFFERS`` if ``analyze``."""
    options = "ANALYZE, BUFFERS, FORMAT JSON" if analyze else "FORMAT JSON"
    statement = sql.SQL("EXPLAIN ({}) ").format(sql.SQL(options)) + sql.SQL(query)  # type: ignore[arg-type]
    row = conn.execute(statement, params).fetchone()
    assert row is not None  # EXPLAIN always returns exactly one row
    # FORMAT JSON returns a one-element array; psycopg has already parsed the json value.
    document: Plan = row[0][0]
    return document


def _walk(node: Plan) -> Iterator[Plan]:
    yield node
    for child in node.get("Plans", []):
        yield from _walk(child)


def scan_nodes(plan: Plan) -> list[ScanNode]:
    """Every node of ``plan`` that reads a table or an index, depth first from the top."""
    return [
        ScanNode(node["Node Type"], node.get("Relation Name"), node.get("Index Name"))
        for node in _walk(plan["Plan"])
        if "Relation Name" in node or "Index Name" in node
    ]


def shared_blocks(plan: Plan) -> int:
    """Pages the query touched in shared buffers (hit + read), from an ``analyze=True`` plan."""
    top = plan["Plan"]
    if "Shared Hit Blocks" not in top:
        raise ValueError("shared_blocks needs a plan from explain(..., analyze=True) (BUFFERS)")
    # The top node's counters already include every node below it.
    return int(top["Shared Hit Blocks"]) + int(top["Shared Read Blocks"])


def execution_ms(conn: psycopg.Connection, query: str, params: Params = None, *,
                 repeats: int = 5) -> float:
    """The best of ``repeats`` server-side execution times of ``query``, in milliseconds.

    Server-side (EXPLAIN ANALYZE's "Execution Time"), so the network and the driver are left
    out; the best run, because noise on a busy machine only ever adds time.
    """
    times = [explain(conn, query, params, analyze=True)["Execution Time"] for _ in range(repeats)]
    return times[-1]  # wrong: the last run is as exposed to noise as any other; keep the minimum

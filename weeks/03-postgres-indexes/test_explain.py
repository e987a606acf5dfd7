"""Lab 1 — read plans as data: ``labs/week03_postgres_indexes/explain.py``.

A small real database (50,000 items) is enough to check that your helpers read what PostgreSQL
actually reports; lab 2 then points the same ideas at a million orders.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest

from labs.week03_postgres_indexes import explain

LESSON = "weeks/03-postgres-indexes/README.md"


def expect(ok: object, message: str) -> None:
    """Fail with just the teaching message: no source listing, no repr of the plan documents."""
    if not ok:
        pytest.fail(message, pytrace=False)



def _buffers(hit: int, read: int) -> dict[str, int]:
    return {"Shared Hit Blocks": hit, "Shared Read Blocks": read, "Shared Dirtied Blocks": 0,
            "Shared Written Blocks": 0, "Local Hit Blocks": 0, "Local Read Blocks": 0,
            "Temp Read Blocks": 0, "Temp Written Blocks": 0}


# The customer_recent plan from the README, as EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) reported it
# with the index's pages not yet in shared buffers (trimmed to the keys that matter here).
COLD_CACHE_PLAN = {
    "Plan": {"Node Type": "Sort", "Actual Rows": 10.0, **_buffers(8, 3), "Plans": [
        {"Node Type": "Bitmap Heap Scan", "Parent Relationship": "Outer", "Relation Name": "orders",
         "Actual Rows": 10.0, **_buffers(8, 3), "Plans": [
             {"Node Type": "Bitmap Index Scan", "Parent Relationship": "Outer",
              "Index Name": "orders_customer_id_created_at_idx", "Actual Rows": 10.0, **_buffers(0, 3)},
         ]},
    ]},
    "Planning": _buffers(17, 1),
    "Planning Time": 0.232,
    "Triggers": [],
    "Execution Time": 0.082,
}


@pytest.fixture(scope="module")
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("""
            CREATE TABLE categories (id integer PRIMARY KEY, name text NOT NULL);
            INSERT INTO categories SELECT c, 'category ' || c FROM generate_series(0, 99) AS c;
            CREATE TABLE items (id bigint PRIMARY KEY, category integer NOT NULL,
                                price integer NOT NULL, title text NOT NULL);
            INSERT INTO items
            SELECT i, (i - 1) / 500, (i * 7919) % 10000, 'item ' || i || ' ' || repeat('x', 80)
            FROM generate_series(1, 50000) AS i;
            CREATE INDEX items_category_idx ON items (category);
            CREATE SEQUENCE odd_runs_are_slow;
        """)
        conn.execute("VACUUM ANALYZE")
        yield conn


def test_explain_returns_the_plan_without_running_the_query(conn: psycopg.Connection) -> None:
    with conn.transaction(force_rollback=True):
        plan = explain.explain(conn, "INSERT INTO categories VALUES (%s, %s)", (500, "new"))
        inserted = conn.execute("SELECT count(*) FROM categories WHERE id = 500").fetchone()[0]
    expect(isinstance(plan, dict) and "Plan" in plan, (
        f"expected the plan document, a dict with a 'Plan' key (EXPLAIN (FORMAT JSON) returns a "
        f"one-element list of it); got {type(plan).__name__}: {str(plan)[:200]}. See {LESSON}, "
        f"section 'Reading EXPLAIN'."))
    expect(plan["Plan"]["Node Type"] == "ModifyTable", (
        f"expected the INSERT's plan (top node ModifyTable); got {plan['Plan']['Node Type']}"))
    expect("Execution Time" not in plan and inserted == 0, (
        "plain EXPLAIN (analyze=False) must only plan the query: expected no 'Execution Time' and no "
        f"row inserted; got Execution Time={plan.get('Execution Time')}, rows inserted={inserted}. "
        "ANALYZE runs the statement for real — only ask for it when analyze=True."))


def test_explain_analyze_runs_the_query_and_counts_buffers(conn: psycopg.Connection) -> None:
    plan = explain.explain(conn, "SELECT count(*) FROM items WHERE category = %(c)s", {"c": 3},
                           analyze=True)
    top = plan["Plan"]
    expect(isinstance(plan.get("Execution Time"), float), (
        f"expected an 'Execution Time' (ms) from EXPLAIN ANALYZE; got keys {sorted(plan)}. "
        f"Use EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) when analyze=True."))
    expect(top.get("Actual Rows") == 1,
           f"expected Actual Rows = 1 for count(*); got {top.get('Actual Rows')}")
    expect("Shared Hit Blocks" in top, (
        "expected buffer counters ('Shared Hit Blocks', 'Shared Read Blocks') on the plan nodes; "
        f"got none — add BUFFERS to the EXPLAIN options. See {LESSON}, section 'Reading EXPLAIN'."))


def test_scan_nodes_finds_every_scan_in_the_tree(conn: psycopg.Connection) -> None:
    query = ("(SELECT title FROM items WHERE category = %s ORDER BY price LIMIT 5) "
             "UNION ALL (SELECT name FROM categories WHERE id = %s)")
    scans = explain.scan_nodes(explain.explain(conn, query, (3, 7)))
    relations = {scan.relation for scan in scans if scan.relation}
    indexes = {scan.index for scan in scans if scan.index}
    expect({"items", "categories"} <= relations and "items_category_idx" in indexes, (
        "expected the scans of both branches of Append → Limit → Sort → (Bitmap) Index Scan: "
        "relations items and categories, index items_category_idx; "
        f"got relations {sorted(relations)}, indexes {sorted(indexes)} from {scans}. "
        "The scans sit deep in the tree: walk every node's 'Plans' list, not just the top node. "
        f"See {LESSON}, section 'Reading EXPLAIN'."))
    expect(all(scan.node_type.endswith("Scan") for scan in scans), (
        f"expected only nodes that read a table or an index; got {[s.node_type for s in scans]}"))


def test_scan_nodes_lists_table_and_index_reads_depth_first() -> None:
    got = [(scan.node_type, scan.relation, scan.index) for scan in explain.scan_nodes(COLD_CACHE_PLAN)]
    expected = [("Bitmap Heap Scan", "orders", None),
                ("Bitmap Index Scan", None, "orders_customer_id_created_at_idx")]
    expect(got == expected, (
        f"expected the README's customer_recent plan (Sort → Bitmap Heap Scan → Bitmap Index Scan) "
        f"to give {expected} — the heap scan, then the index scan below it; got {got}. A node reads "
        "an index when it has an 'Index Name', even without a 'Relation Name' (a Bitmap Index Scan "
        f"has none), and the list goes from the top down. See {LESSON}, section 'Reading EXPLAIN'."))


def test_shared_blocks_counts_the_pages_a_query_touched(conn: psycopg.Connection) -> None:
    lookup = explain.shared_blocks(
        explain.explain(conn, "SELECT title FROM items WHERE id = %s", (12345,), analyze=True))
    full = explain.shared_blocks(
        explain.explain(conn, "SELECT count(*) FROM items WHERE title LIKE %s", ("%zz%",), analyze=True))
    table_pages = conn.execute("SELECT pg_relation_size('items') / current_setting('block_size')::int"
                               ).fetchone()[0]
    expect(1 <= lookup <= 10, (
        f"expected a primary-key lookup to touch a handful of pages (index root → leaf → heap); "
        f"got {lookup}. Sum 'Shared Hit Blocks' and 'Shared Read Blocks' of the top plan node."))
    expect(full >= table_pages, (
        f"expected a full scan to touch every one of the table's {table_pages} pages; got {full}. "
        "Count both hits (already in shared buffers) and reads (fetched from the OS)."))
    # Here everything is already in shared buffers (read = 0), so a run from a cold cache, recorded
    # from PostgreSQL (weeks/03-postgres-indexes/README.md, section 'Reading EXPLAIN'), checks the
    # reads and the nesting too.
    cold = explain.shared_blocks(COLD_CACHE_PLAN)
    expect(cold == 11, (
        f"expected 11 pages for the recorded cold-cache plan (top node: Shared Hit Blocks 8 + "
        f"Shared Read Blocks 3); got {cold}. 8 = hits only, 3 = reads only, 25 = every node summed "
        f"(the top node's counters already include its children's). See {LESSON}, section "
        f"'Reading EXPLAIN'."))
    plain = explain.explain(conn, "SELECT title FROM items WHERE id = %s", (12345,))
    try:
        got: object = explain.shared_blocks(plain)
    except Exception as exc:
        got = type(exc).__name__
    expect(got == "ValueError", (
        f"expected ValueError for a plan from plain EXPLAIN (no BUFFERS counters: nothing ran, so "
        f"there are no pages to count); got {got!r}. A silent 0 reads as 'this query is free' "
        f"(docstring of explain.shared_blocks)."))


def test_execution_ms_keeps_the_best_server_side_run(conn: psycopg.Connection) -> None:
    # Runs 1 and 3 sleep 300 ms, run 2 does not: only the best run is the query's real cost. The
    # first, the last, the mean (~200 ms) and the median (300 ms) all carry the noise along.
    query = "SELECT pg_sleep(CASE WHEN mod(nextval('odd_runs_are_slow'), 2) = 1 THEN 0.3 ELSE 0 END)"
    best = explain.execution_ms(conn, query, repeats=3)
    runs = conn.execute("SELECT last_value FROM odd_runs_are_slow").fetchone()[0]
    expect(runs >= 3, f"expected the query to run `repeats` = 3 times; it ran {runs} time(s)")
    expect(0 < best < 100, (
        f"expected the best of 3 runs (runs 1 and 3 sleep 300 ms, run 2 takes ~0 ms), well under "
        f"100 ms; got {best:.1f} ms. The first run, the last run, the mean or the median carry the "
        f"noise along: keep the minimum. See {LESSON}, section 'Measuring honestly'."))


def test_execution_ms_measures_the_server_not_the_wire(conn: psycopg.Connection) -> None:
    # 20,000 rows of 1 kB: cheap for the server to produce, slow to ship and decode in Python.
    query = "SELECT g, repeat('x', 1000) FROM generate_series(1, %s) AS g"
    wall = []
    for _ in range(3):
        started = time.perf_counter()
        conn.execute(query, (20_000,)).fetchall()
        wall.append((time.perf_counter() - started) * 1000)
    server = explain.execution_ms(conn, query, (20_000,), repeats=3)
    expect(server <= 0.5 * min(wall), (
        f"expected the server-side time (EXPLAIN ANALYZE 'Execution Time') to leave out shipping "
        f"20 MB to the client: well under the {min(wall):.1f} ms the round trip took; got "
        f"{server:.1f} ms. A stopwatch around execute() measures the network and the driver too. "
        f"See {LESSON}, section 'Measuring honestly'."))

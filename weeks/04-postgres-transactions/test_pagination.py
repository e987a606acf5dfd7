"""Lab: pagination — an opaque keyset cursor over 60 000 events, newest first.

The events share timestamps (four per second) and their ids are not in time order, so only a
cursor on the full key ``(created_at, id)`` walks them without gaps or duplicates.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest
from psycopg import sql

from labs.week04_postgres_transactions.pagination import (
    MAX_LIMIT,
    InvalidCursor,
    decode_cursor,
    encode_cursor,
    list_events,
)

Connect = Callable[[], psycopg.Connection]
LESSON = "weeks/04-postgres-transactions/README.md"
KEYSET = f"see {LESSON}, section 'Keyset pagination'"
COST = f"see {LESSON}, section 'Offset vs keyset cost'"
ROWS = 60_000
SCHEMA = "pagination"  # its own schema: the migrations lab wipes `public` between its tests
SEARCH_PATH = f"-c search_path={SCHEMA}"
ORDER = "ORDER BY created_at DESC, id DESC"


@pytest.fixture(scope="module")
def session_options(lab_database_url: str) -> str:
    """Build ``events`` once for this module; every connection then finds it on its search_path."""
    with psycopg.connect(lab_database_url, autocommit=True, options=SEARCH_PATH) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
        conn.execute("CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                     " created_at timestamptz NOT NULL, kind text NOT NULL)")
        # i * 7919 mod ROWS scatters the timestamps over the ids; / 4 gives four rows per second.
        conn.execute(
            "INSERT INTO events (created_at, kind) SELECT timestamptz '2025-01-01 00:00:00+00'"
            " + ((i * 7919) %% %s / 4) * interval '1 second', (ARRAY['signup','order','refund'])[i %% 3 + 1]"
            " FROM generate_series(1, %s) AS i", (ROWS, ROWS))
        conn.execute("CREATE INDEX events_created_at_id ON events (created_at, id)")
        conn.execute("VACUUM ANALYZE events")
    return SEARCH_PATH


def _ids(conn: psycopg.Connection) -> list[int]:
    return [row[0] for row in conn.execute(f"SELECT id FROM events {ORDER}")]


def _walk(conn: psycopg.Connection, limit: int, between_pages: Callable[[], None] | None = None,
          max_pages: int = 2000) -> list[int]:
    ids: list[int] = []
    cursor = None
    for _ in range(max_pages):
        page = list_events(conn, limit=limit, cursor=cursor)
        assert len(page.items) <= limit, f"expected at most {limit} items per page; got {len(page.items)}"
        ids += [event.id for event in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return ids
        if between_pages:
            between_pages()
    pytest.fail(f"expected the walk to end (next_cursor None) within {max_pages} pages; it did not")


def test_first_page_is_the_newest_events(connect: Connect) -> None:
    conn = connect()
    page = list_events(conn, limit=10)
    want = _ids(conn)[:10]
    got = [event.id for event in page.items]
    assert got == want, (f"expected the 10 newest ids ({ORDER}) {want}; got {got}. "
                         f"{KEYSET.capitalize()}.")
    assert isinstance(page.next_cursor, str) and page.next_cursor, (
        f"expected a next_cursor string on a page that is not the last; got {page.next_cursor!r}")


def test_walks_every_row_exactly_once(connect: Connect) -> None:
    conn = connect()
    want = _ids(conn)
    got = _walk(conn, limit=997)  # 997 is prime: pages end in the middle of a shared timestamp
    duplicates = [i for i, n in Counter(got).items() if n > 1]
    missing = set(want) - set(got)
    assert not duplicates and not missing, (
        f"expected each of {len(want)} events exactly once; got {len(got)} items with "
        f"{len(duplicates)} duplicated and {len(missing)} missing ids. Rows share created_at: "
        f"the cursor needs the tie-breaker too — WHERE (created_at, id) < (%s, %s). "
        f"{KEYSET.capitalize()}.")
    assert got == want, f"expected the events in {ORDER} order; the walk returned them out of order"


def test_pages_stay_stable_while_rows_are_inserted(connect: Connect) -> None:
    conn, writer = connect(), connect()
    before = set(_ids(conn))

    def insert_some() -> None:
        # A newer event (lands on page 1) and an old one (lands behind the reader) per page turn.
        writer.execute("INSERT INTO events (created_at, kind) VALUES (now(), 'signup'),"
                       " (timestamptz '2025-01-01 00:00:00+00' + random() * interval '4 hours', 'order')")

    try:
        got = _walk(conn, limit=1000, between_pages=insert_some)
    finally:
        writer.execute("DELETE FROM events WHERE id > %s", (ROWS,))
    duplicates = [i for i, n in Counter(got).items() if n > 1]
    missing = before - set(got)
    assert not duplicates and not missing, (
        f"expected every event that existed before the walk exactly once while another connection "
        f"inserted rows between page requests; got {len(duplicates)} duplicated and {len(missing)} "
        f"missing ids. An OFFSET cursor shifts when rows are inserted ahead of it; a keyset cursor "
        f"(the last row's key) does not. {KEYSET.capitalize()}.")


@pytest.mark.parametrize("tampered", [
    "not a cursor!",
    "eyJ",                                                           # truncated base64
    base64.urlsafe_b64encode(b"\xff\xfe binary").decode(),            # not UTF-8 / JSON
    base64.urlsafe_b64encode(b'{"offset": 100}').decode(),           # a different kind of cursor
    base64.urlsafe_b64encode(json.dumps(["yesterday", 5]).encode()).decode(),
    base64.urlsafe_b64encode(json.dumps(["2025-01-01T00:00:00+00:00", "5; DROP"]).encode()).decode(),
    base64.urlsafe_b64encode(b"5").decode(),                          # JSON, but not a list
    base64.urlsafe_b64encode(b"[1, 2]").decode(),                     # a list, of the wrong types
    base64.urlsafe_b64encode(json.dumps(["2025-01-01T00:00:00+00:00", 5, 6]).encode()).decode(),
    base64.urlsafe_b64encode(json.dumps(["2025-01-01T00:00:00", 5]).encode()).decode(),
    base64.urlsafe_b64encode(json.dumps(["2025-01-01T00:00:00+00:00", True]).encode()).decode(),
    base64.urlsafe_b64encode(json.dumps(["2025-01-01T00:00:00+00:00", 5.5]).encode()).decode(),
], ids=["garbage", "truncated", "binary", "foreign", "bad-time", "bad-id", "number", "two-numbers",
        "three-items", "naive-time", "bool-id", "float-id"])
def test_a_tampered_cursor_is_a_clear_error(connect: Connect, tampered: str) -> None:
    sent: list[object] = []

    class RecordingCursor(psycopg.Cursor):  # conn.execute() goes through one of these too
        def execute(self, query, params=None, **kwargs):  # type: ignore[override]
            sent.append(query)
            return super().execute(query, params, **kwargs)

    conn = connect()
    conn.cursor_factory = RecordingCursor
    with pytest.raises(InvalidCursor) as caught:
        list_events(conn, limit=10, cursor=tampered)
    assert "cursor" in str(caught.value).lower(), (
        f"expected the InvalidCursor message to name the cursor and say what was wrong with it "
        f"(\"invalid cursor …\", as decode_cursor's docstring asks); got {caught.value!r}")
    assert not sent, (
        f"expected a bad cursor to be refused before any query runs (decode and type-check it first); "
        f"your code sent {len(sent)} statement(s) first, e.g. {str(sent[0])[:120]!r}. Letting "
        f"PostgreSQL reject the value and translating its error is the database doing your "
        f"validation. {KEYSET.capitalize()}.")


@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1], ids=["zero", "negative", "max-plus-one"])
def test_a_limit_out_of_bounds_is_refused(connect: Connect, limit: int) -> None:
    conn = connect()
    try:
        page: Any = list_events(conn, limit=limit)
    except ValueError:
        return
    except NotImplementedError:
        raise
    except Exception as exc:
        page = exc
    pytest.fail(f"expected ValueError for limit={limit} (1 <= limit <= MAX_LIMIT={MAX_LIMIT}); got "
                f"{page!r:.200}. An API that accepts any limit serves a million rows to the first "
                f"client who asks; a limit of 0 has no last row to put in a cursor. {KEYSET.capitalize()}.",
                pytrace=False)


@pytest.mark.parametrize("limit", [1, MAX_LIMIT], ids=["one", "max"])
def test_the_limit_bounds_themselves_work(connect: Connect, limit: int) -> None:
    conn = connect()
    first = list_events(conn, limit=limit)
    second = list_events(conn, limit=limit, cursor=first.next_cursor)
    want = _ids(conn)[:2 * limit]
    got = [event.id for event in first.items + second.items]
    assert got == want and first.next_cursor and second.next_cursor, (
        f"expected limit={limit} to give two full pages of {limit} in order, each with a "
        f"next_cursor; got {len(first.items)} + {len(second.items)} items "
        f"({'in order' if got == want else 'not the expected ids'}), cursors "
        f"{first.next_cursor is not None}, {second.next_cursor is not None}. {KEYSET.capitalize()}.")


KEYS = [
    (datetime(2025, 1, 1, tzinfo=UTC), 1),
    (datetime(2025, 1, 1, 0, 0, 0, 1, tzinfo=UTC), 7),
    (datetime(2025, 6, 30, 23, 59, 59, 999_999, tzinfo=UTC), 123_456),
    (datetime(2025, 3, 9, 12, 0, 0, 500_000, tzinfo=timezone(timedelta(hours=5, minutes=30))), 1_234_567),
    (datetime(1999, 12, 31, 23, 59, 59, 123_456, tzinfo=timezone(timedelta(hours=-8))), 98_765_432_101),
    (datetime(2038, 1, 19, 3, 14, 8, 42, tzinfo=UTC), 9_223_372_036_854_775_807),  # bigint's maximum
] + [(datetime(2025, 1, 1, 0, 0, 0, 10**digits - 1, tzinfo=UTC), 10**digits) for digits in range(6)]


def test_cursors_round_trip_every_key_exactly() -> None:
    broken = []
    for created_at, event_id in KEYS:
        cursor = encode_cursor(created_at, event_id)
        try:
            back: Any = decode_cursor(cursor)
        except InvalidCursor as exc:
            back = exc
        if back != (created_at, event_id) or not isinstance(cursor, str):
            broken.append(f"({created_at.isoformat()}, {event_id}) → {cursor!r} → {back!r}")
    assert not broken, (
        f"expected decode_cursor(encode_cursor(t, id)) == (t, id) for every key — ids of 1 to 19 "
        f"digits, timestamps with microseconds and offsets; {len(broken)} of {len(KEYS)} came back "
        f"different, e.g. {broken[:2]}. Base64 padding depends on the length (restore "
        f"'=' * (-len(cursor) % 4)), and a timestamp kept as whole seconds skips the rows in the "
        f"rest of that second. {KEYSET.capitalize()}.")


def _server_ms(conn: psycopg.Connection, query: str | sql.Composable, params: object,
               repeats: int = 5) -> float:
    """Best-of-``repeats`` server-side execution time of ``query`` from EXPLAIN ANALYZE."""
    prefix = "EXPLAIN (ANALYZE, FORMAT JSON) "
    statement = prefix + query if isinstance(query, str) else sql.Composed([sql.SQL(prefix), query])
    times = [conn.execute(statement, params).fetchone()[0][0]["Execution Time"] for _ in range(repeats)]
    return min(times)


def _filtered_rows(conn: psycopg.Connection, query: str | sql.Composable, params: object
                   ) -> tuple[int, str]:
    """The most rows any node of ``query``'s plan read and threw away, and that node's filter."""
    prefix = "EXPLAIN (ANALYZE, FORMAT JSON) "
    statement = prefix + query if isinstance(query, str) else sql.Composed([sql.SQL(prefix), query])
    worst = (0, "")
    nodes = [conn.execute(statement, params).fetchone()[0][0]["Plan"]]
    while nodes:
        node = nodes.pop()
        nodes += node.get("Plans", [])
        removed = node.get("Rows Removed by Filter", 0) * node.get("Actual Loops", 1)
        if removed > worst[0]:
            worst = (int(removed), node.get("Filter", ""))
    return worst


def test_a_deep_keyset_page_is_far_cheaper_than_offset(lab_database_url: str, session_options: str) -> None:
    recorded: list[tuple[str | sql.Composable, object]] = []

    class RecordingCursor(psycopg.Cursor):
        def execute(self, query, params=None, **kwargs):  # type: ignore[override]
            recorded.append((query, params))
            return super().execute(query, params, **kwargs)

    depth, limit = 45_000, 50
    with psycopg.connect(lab_database_url, autocommit=True, options=session_options,
                         cursor_factory=RecordingCursor) as conn:
        cursor = None
        for _ in range(depth // 1000):
            cursor = list_events(conn, limit=1000, cursor=cursor).next_cursor
        recorded.clear()
        page = list_events(conn, limit=limit, cursor=cursor)
        deep_queries = list(recorded)
        with psycopg.connect(lab_database_url, autocommit=True, options=session_options) as plain:
            offset_sql = f"SELECT id, created_at, kind FROM events {ORDER} OFFSET %s LIMIT %s"
            want = [row[0] for row in plain.execute(offset_sql, (depth, limit))]
            assert [event.id for event in page.items] == want, (
                f"expected the page after {depth} rows to hold the same ids as OFFSET {depth}; it did not")
            offset_ms = _server_ms(plain, offset_sql, (depth, limit + 1))
            keyset_ms = sum(_server_ms(plain, query, params) for query, params in deep_queries)
            discarded, where = max((_filtered_rows(plain, query, params) for query, params in deep_queries),
                                   default=(0, ""))
    if discarded > 10 * limit:
        spelled_out = " OR " in where
        pytest.fail(
            f"expected the page {depth} rows deep to start at the cursor in the index; your query's "
            f"plan read and threw away {discarded} rows through the filter {where[:160]!r} "
            f"({keyset_ms:.3f} ms vs {offset_ms:.3f} ms for OFFSET {depth}). "
            + ("Spelled `created_at < x OR (created_at = x AND id < y)` the condition means the same "
               "rows, but the planner cannot make an OR of two ranges an index condition: it walks the "
               "index from the newest row and filters, which is OFFSET's cost. Write the row "
               "comparison `(created_at, id) < (x, y)`: it is exactly the index order, so it is one "
               "index range scan — one descent to the cursor, then the page. " if spelled_out else "")
            + f"{COST.capitalize()}.", pytrace=False)
    assert keyset_ms * 10 <= offset_ms, (
        f"expected the page {depth} rows deep to cost at most a tenth of OFFSET {depth} on the server; "
        f"got {keyset_ms:.3f} ms for your queries vs {offset_ms:.3f} ms for OFFSET (EXPLAIN ANALYZE, "
        f"best of 5). OFFSET reads and discards every skipped row; a keyset condition starts at the "
        f"cursor in the index — write the cursor condition as the row comparison (created_at, id) < "
        f"(x, y), one index range. {COST.capitalize()}.")

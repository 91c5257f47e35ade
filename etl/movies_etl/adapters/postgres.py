"""PostgreSQL adapter: the catalogue, its change queue and the ETL's bookkeeping.

Every query the ETL runs against the source lives here, behind `PostgresCatalog`,
except the documents' own SQL: that is the transform, in `movies_etl.documents`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final, LiteralString
from uuid import UUID

import orjson
import psycopg
from psycopg import AsyncConnection, sql
from psycopg.pq import TransactionStatus
from psycopg.types.json import Jsonb, set_json_dumps, set_json_loads

from movies_etl.documents import DOCUMENTS, in_python_order
from movies_etl.domain import Backlog, Change, Counts, Source
from movies_index import INDEX_NAMES

logger = logging.getLogger(__name__)

NOTIFY_CHANNEL: Final = "content_etl_change"
ANALYZE: Final = (
    "analyze content.film_work, content.genre, content.person,"
    " content.genre_film_work, content.person_film_work"
)


def _sources(index: str, rows: Iterable[tuple[str, str]]) -> list[Source]:
    return [Source(doc_id, in_python_order(index, text)) for doc_id, text in rows]


async def connect(
    dsn: str, connect_timeout: float, autocommit: bool = True
) -> AsyncConnection[Any]:
    """A new connection set up for the documents' queries; JSON values go through orjson."""
    conn = await AsyncConnection.connect(
        dsn,
        autocommit=autocommit,
        connect_timeout=max(1, round(connect_timeout)),
        # JIT compiles the full load's big correlated query for seconds and gains nothing.
        # Doubles in documents must print shortest-exact, as orjson prints them, whatever
        # the server's default.
        options="-c jit=off -c extra_float_digits=1",
    )
    set_json_loads(orjson.loads, conn)
    set_json_dumps(orjson.dumps, conn)
    return conn


def _table(index: str) -> sql.Composable:
    """The source table of `index`'s documents, quoted."""
    return sql.Identifier(*DOCUMENTS[index].table.split("."))


class Database:
    """Hands out one reusable connection and replaces it once it breaks.

    The ETL does one thing at a time, so a pool would only add a second place
    where reconnection after an outage can go wrong.
    """

    def __init__(self, dsn: str, connect_timeout: float) -> None:
        self.dsn = dsn
        self.connect_timeout = connect_timeout
        self._idle: AsyncConnection[Any] | None = None

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection[Any]]:
        conn, self._idle = self._idle, None
        if conn is None or conn.closed or conn.broken:
            conn = await connect(self.dsn, self.connect_timeout)
        try:
            yield conn
        except BaseException:
            await conn.close()
            raise
        reusable = not (conn.closed or conn.broken) and (
            conn.info.transaction_status == TransactionStatus.IDLE
        )
        if reusable and self._idle is None:
            self._idle = conn
        else:
            await conn.close()

    async def close(self) -> None:
        if self._idle is not None:
            await self._idle.close()
            self._idle = None


class PostgresCatalog:
    """Reads documents' source rows and manages the change queue."""

    def __init__(self, db: Database, lock_key: int) -> None:
        self._db = db
        self._lock_key = lock_key
        self._listener: AsyncConnection[Any] | None = None

    async def wait_for_change(self, seconds: float) -> bool:
        """Sleeps until a change is committed (NOTIFY) or `seconds` pass.

        Best effort: without a listening connection it just sleeps, and the caller
        polls the queue anyway, so a lost notification only costs latency.
        """
        try:
            if self._listener is None or self._listener.closed or self._listener.broken:
                self._listener = await listen(self._db.dsn, self._db.connect_timeout)
            return await wait_for_notify(self._listener, seconds)
        except (psycopg.Error, OSError) as exc:
            logger.debug("change notifications unavailable: %s", exc)
            if self._listener is not None:
                await self._listener.close()
                self._listener = None
            await asyncio.sleep(seconds)
            return False

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        await self._db.close()

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[CatalogSession]:
        """A session holding the ETL's advisory lock: one writer of the indices at a time.

        The lock dies with the connection, so a killed ETL never leaves it behind.
        """
        async with self._db.connection() as conn:
            await conn.execute("select pg_advisory_lock(%s)", (self._lock_key,))
            try:
                yield CatalogSession(conn)
            finally:
                if not conn.broken and not conn.closed:
                    await conn.execute("select pg_advisory_unlock(%s)", (self._lock_key,))

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Snapshot]:
        """One repeatable-read snapshot of the whole catalogue, for a full load.

        It is exported, so each stream reads it on its own connection and the three
        indices can be filled at the same time from exactly the same data.
        """
        conn = await connect(self._db.dsn, self._db.connect_timeout, autocommit=False)
        try:
            async with conn.transaction():
                await conn.execute("set transaction isolation level repeatable read, read only")
                cur = await conn.execute("select pg_current_snapshot()::text, pg_export_snapshot()")
                row = await cur.fetchone()
                assert row is not None
                yield Snapshot(self._db, row[0], row[1])
        finally:
            await conn.close()

    async def counts(self) -> Counts:
        """Rows per index's source table, to compare with the documents per index."""
        counts = sql.SQL(", ").join(
            sql.SQL("(select count(*) from {})").format(_table(name)) for name in INDEX_NAMES
        )
        async with self._db.connection() as conn:
            cur = await conn.execute(sql.SQL("select {}").format(counts))
            row = await cur.fetchone()
            assert row is not None
            return dict(zip(INDEX_NAMES, row, strict=True))

    async def backlog(self) -> Backlog:
        async with self._db.connection() as conn:
            cur = await conn.execute(
                "select count(*), extract(epoch from now() - min(changed_at))::float8"
                " from content.etl_change"
            )
            row = await cur.fetchone()
            assert row is not None
            return Backlog(row[0], row[1])

    async def load_state(self) -> dict[str, Any]:
        async with self._db.connection() as conn:
            cur = await conn.execute(
                "select key, value || jsonb_build_object('updated_at', updated_at)"
                " from content.etl_state"
            )
            return {key: value for key, value in await cur.fetchall()}

    async def get_state(self, key: str) -> Any:
        async with self._db.connection() as conn:
            cur = await conn.execute("select value from content.etl_state where key = %s", (key,))
            row = await cur.fetchone()
            return None if row is None else row[0]


class _Reader:
    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self.conn = conn

    async def documents(self, index: str, ids: Iterable[UUID]) -> list[Source]:
        cur = await self.conn.execute(DOCUMENTS[index].by_ids, (list(ids),))
        return _sources(index, await cur.fetchall())


class CatalogSession(_Reader):
    """Incremental work under the advisory lock: queue rows in, current rows out."""

    async def fetch_changes(self, limit: int, max_seq: int | None = None) -> list[Change]:
        """The oldest visible queue rows; a late commit's rows simply show up later."""
        cur = await self.conn.execute(
            "select seq, entity, entity_id, film_id, op, changed_at from content.etl_change"
            " where %(max)s::bigint is null or seq <= %(max)s order by seq limit %(limit)s",
            {"max": max_seq, "limit": limit},
        )
        return [Change.from_row(*row) for row in await cur.fetchall()]

    async def analyze(self) -> None:
        """Refreshes planner statistics, which a fresh bulk load leaves missing.

        Without them the per-row sub-selects of a full load can fall back to
        sequential scans: minutes instead of seconds.
        """
        await self.conn.execute(ANALYZE)

    async def max_seq(self) -> int | None:
        cur = await self.conn.execute("select max(seq) from content.etl_change")
        row = await cur.fetchone()
        return None if row is None else row[0]

    async def pending_at_least(self, n: int) -> bool:
        """Whether the queue holds at least `n` rows, without counting all of them."""
        cur = await self.conn.execute(
            "select count(*) from (select 1 from content.etl_change limit %s) q", (n,)
        )
        row = await cur.fetchone()
        return row is not None and row[0] >= n

    async def films_of_persons(self, ids: Iterable[UUID]) -> set[UUID]:
        return await self._ids(
            "select distinct film_work_id from content.person_film_work where person_id = any(%s)",
            ids,
        )

    async def films_of_genres(self, ids: Iterable[UUID]) -> set[UUID]:
        return await self._ids(
            "select film_work_id from content.genre_film_work where genre_id = any(%s)", ids
        )

    async def persons_of_films(self, ids: Iterable[UUID]) -> set[UUID]:
        return await self._ids(
            "select distinct person_id from content.person_film_work where film_work_id = any(%s)",
            ids,
        )

    async def ids(self, index: str) -> set[str]:
        cur = await self.conn.execute(sql.SQL("select id::text from {}").format(_table(index)))
        return {row[0] for row in await cur.fetchall()}

    async def sample(self, index: str, size: int) -> list[UUID]:
        """Random ids: a top-N sort over the table, no second copy of it."""
        if size <= 0:
            return []
        cur = await self.conn.execute(
            sql.SQL("select id from {} order by random() limit %s").format(_table(index)), (size,)
        )
        return [row[0] for row in await cur.fetchall()]

    async def record(self, key: str, state: dict[str, Any]) -> None:
        await self._save_state(key, state)

    async def _ids(self, query: LiteralString, ids: Iterable[UUID]) -> set[UUID]:
        id_list = list(ids)
        if not id_list:
            return set()
        cur = await self.conn.execute(query, (id_list,))
        return {row[0] for row in await cur.fetchall()}

    async def acknowledge(self, seqs: Sequence[int], state_key: str, state: dict[str, Any]) -> None:
        """Drops exactly the processed queue rows and records the batch, atomically."""
        async with self.conn.transaction():
            await self.conn.execute(
                "delete from content.etl_change where seq = any(%s)", (list(seqs),)
            )
            await self._save_state(state_key, state)

    async def acknowledge_snapshot(self, snapshot: str, states: dict[str, dict[str, Any]]) -> int:
        """Drops every queue row whose transaction the snapshot already saw.

        Rows from transactions still running when the snapshot was taken stay, and
        are replayed incrementally: the rebuilt index cannot contain their changes.
        """
        async with self.conn.transaction():
            cur = await self.conn.execute(
                "delete from content.etl_change where pg_visible_in_snapshot(xid, %s::pg_snapshot)",
                (snapshot,),
            )
            for key, state in states.items():
                await self._save_state(key, state)
            return cur.rowcount

    async def _save_state(self, key: str, state: dict[str, Any]) -> None:
        await self.conn.execute(
            "insert into content.etl_state (key, value, updated_at) values (%s, %s, now())"
            " on conflict (key) do update set value = excluded.value, updated_at = now()",
            (key, Jsonb(state)),
        )


class Snapshot:
    """Streams every row of the catalogue as one consistent snapshot saw it."""

    def __init__(self, db: Database, token: str, exported: str) -> None:
        self._db = db
        self.token = token
        self._exported = exported

    def stream(self, index: str, size: int) -> AsyncGenerator[list[Source]]:
        return self._stream(index, DOCUMENTS[index].query, size)

    async def _stream(
        self, index: str, query: LiteralString, size: int
    ) -> AsyncGenerator[list[Source]]:
        conn = await connect(self._db.dsn, self._db.connect_timeout, autocommit=False)
        try:
            async with conn.transaction():
                await conn.execute("set transaction isolation level repeatable read, read only")
                await conn.execute(
                    sql.SQL("set transaction snapshot {}").format(sql.Literal(self._exported))
                )
                async with conn.cursor(name=f"etl_full_{index}") as cur:
                    await cur.execute(query)
                    while rows := await cur.fetchmany(size):
                        yield _sources(index, rows)
        finally:
            await conn.close()


async def wait_for_notify(conn: AsyncConnection[Any], wait_seconds: float) -> bool:
    """Waits until a change is committed (NOTIFY) or the time passes; True if notified."""
    async for _ in conn.notifies(timeout=wait_seconds, stop_after=1):
        return True
    return False


async def listen(dsn: str, connect_timeout: float) -> AsyncConnection[Any]:
    """A connection subscribed to the change queue's NOTIFY channel."""
    conn = await connect(dsn, connect_timeout)
    await conn.execute(sql.SQL("listen {}").format(sql.Identifier(NOTIFY_CHANNEL)))
    return conn

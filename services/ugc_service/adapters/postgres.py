"""The UGC store on PostgreSQL (schema `ugc`, migrations/).

Aggregates move in the same transaction as their rows. Each write locks the
row it changes first and the aggregate row last, so the aggregate's lock (the
one every writer of a popular film or review queues on) is held only for one
statement and the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from psycopg import AsyncConnection, errors, sql
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from ugc_service.domain.errors import AlreadyExistsError
from ugc_service.domain.models import (
    SCORES,
    Bookmark,
    RatingSummary,
    Review,
    ReviewChanges,
    ReviewSort,
    Vote,
)
from ugc_service.service_layer.ports import ReviewKey

Pool = AsyncConnectionPool[AsyncConnection[TupleRow]]
Conn = AsyncConnection[TupleRow]

_DIST: Final = [f"d{score}" for score in SCORES]
_AGG_COLUMNS: Final = ["score_sum", "score_count", *_DIST]
# Statements on the hot paths are bytes built once: psycopg then neither composes
# nor encodes them per call (a tenth of a rating write's CPU when it did).
_SUMMARY: Final = (
    "select "
    + ", ".join(f"coalesce(sum({c}), 0)::bigint" for c in _AGG_COLUMNS)
    + ", (select score from ugc.ratings where film_id = %s and user_id = %s)"
    " from ugc.film_ratings where film_id = %s"
).encode()
_PUT_RATING: Final = (
    b"select * from ugc.put_rating_summary(%s::uuid, %s::uuid, %s::smallint, %s::smallint)"
)
_DELETE_RATING: Final = b"select ugc.delete_rating(%s::uuid, %s::uuid, %s::smallint)"
_REVIEW_COLUMNS: Final = (
    "id, film_id, user_id, body, score, spoiler, created_at, edited_at,"
    " votes_up, votes_down, helpfulness"
)
_REVIEW_SELECT: Final = f"select {_REVIEW_COLUMNS} from ugc.reviews"


def _summary(film_id: str, row: Sequence[Any]) -> RatingSummary:
    return RatingSummary(
        film_id=film_id,
        total=int(row[0]),
        count=int(row[1]),
        distribution=tuple(int(v) for v in row[2:-1]),
        my_score=row[-1],
    )


def _review(row: Sequence[Any]) -> Review:
    return Review(
        id=str(row[0]),
        film_id=str(row[1]),
        user_id=str(row[2]),
        text=row[3],
        score=row[4],
        spoiler=row[5],
        created_at=row[6],
        edited_at=row[7],
        votes_up=row[8],
        votes_down=row[9],
        helpfulness=row[10],
    )


class PostgresStore:
    """`UgcStore` on PostgreSQL. `shards` spreads each film's summary over that
    many rows (by user), so one popular film's raters do not all queue on one row
    lock; reads add the rows up."""

    def __init__(self, pool: Pool, shards: int = 1) -> None:
        self._pool = pool
        self._shards = shards

    def _shard(self, user_id: str) -> int:
        return uuid.UUID(user_id).int % self._shards

    # Ratings
    async def put_rating(self, film_id: str, user_id: str, score: int) -> RatingSummary:
        """One statement: the write and the summary after it (migration 0003)."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(_PUT_RATING, (film_id, user_id, score, self._shard(user_id)))
            row = await cur.fetchone()
        assert row is not None
        return _summary(film_id, (*row, score))

    async def delete_rating(self, film_id: str, user_id: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(_DELETE_RATING, (film_id, user_id, self._shard(user_id)))

    async def rating_summary(self, film_id: str, user_id: str | None) -> RatingSummary:
        async with self._pool.connection() as conn:
            cur = await conn.execute(_SUMMARY, (film_id, user_id, film_id))
            row = await cur.fetchone()
        assert row is not None  # an aggregate without GROUP BY returns one row
        return _summary(film_id, row)

    async def rating_drift(self) -> list[str]:
        """Films whose stored summary differs from one recomputed from the
        ratings rows (the check that aggregates never drift); empty when none."""
        stored = ", ".join(f"sum({c})::bigint as {c}" for c in _AGG_COLUMNS)
        counts = ", ".join(f"count(*) filter (where score = {s}) as d{s}" for s in SCORES)

        def side(alias: str) -> str:
            return ", ".join(f"coalesce({alias}.{c}, 0)" for c in _AGG_COLUMNS)

        query = f"""
            with stored as (
                select film_id, {stored} from ugc.film_ratings group by film_id
            ), rebuilt as (
                select film_id, sum(score)::bigint as score_sum,
                       count(*)::bigint as score_count, {counts}
                from ugc.ratings group by film_id
            )
            select film_id::text from stored s full join rebuilt r using (film_id)
            where ({side("s")}) is distinct from ({side("r")})
        """
        async with self._pool.connection() as conn:
            cur = await conn.execute(query.encode())
            return [row[0] for row in await cur.fetchall()]

    # Reviews
    async def create_review(
        self, film_id: str, user_id: str, text: str, score: int | None, spoiler: bool
    ) -> Review:
        async with self._pool.connection() as conn:
            try:
                cur = await conn.execute(
                    "insert into ugc.reviews (id, film_id, user_id, body, score, spoiler)"
                    f" values (%s, %s, %s, %s, %s, %s) returning {_REVIEW_COLUMNS}",
                    (uuid.uuid4(), film_id, user_id, text, score, spoiler),
                )
            except errors.UniqueViolation:
                raise AlreadyExistsError(
                    "you have already reviewed this film; edit that review instead",
                    "REVIEW_EXISTS",
                ) from None
            row = await cur.fetchone()
        assert row is not None
        return _review(row)

    async def get_review(self, review_id: str) -> Review | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(f"{_REVIEW_SELECT} where id = %s", (review_id,))
            row = await cur.fetchone()
        return None if row is None else _review(row)

    async def update_review(self, review_id: str, changes: ReviewChanges) -> Review | None:
        sets = [sql.SQL("edited_at = now()")]
        params: list[Any] = []
        if changes.text is not None:
            sets.append(sql.SQL("body = %s"))
            params.append(changes.text)
        if changes.clear_score:
            sets.append(sql.SQL("score = null"))
        elif changes.score is not None:
            sets.append(sql.SQL("score = %s"))
            params.append(changes.score)
        if changes.spoiler is not None:
            sets.append(sql.SQL("spoiler = %s"))
            params.append(changes.spoiler)
        query = sql.SQL("update ugc.reviews set {} where id = %s returning {}").format(
            sql.SQL(", ").join(sets), sql.SQL(_REVIEW_COLUMNS)
        )
        async with self._pool.connection() as conn:
            cur = await conn.execute(query, (*params, review_id))
            row = await cur.fetchone()
        return None if row is None else _review(row)

    async def delete_review(self, review_id: str) -> bool:
        async with self._pool.connection() as conn:
            cur = await conn.execute("delete from ugc.reviews where id = %s", (review_id,))
            return cur.rowcount > 0

    async def list_reviews(
        self, film_id: str, sort: ReviewSort, after: ReviewKey | None, limit: int
    ) -> list[Review]:
        key = "helpfulness" if sort is ReviewSort.HELPFUL else "created_at"
        # A row comparison on the index's columns: the scan starts right after
        # the previous page's last review (no offset).
        where = "film_id = %s" if after is None else f"film_id = %s and ({key}, id) < (%s, %s)"
        params: tuple[Any, ...] = (film_id,) if after is None else (film_id, *after)
        query = f"{_REVIEW_SELECT} where {where} order by {key} desc, id desc limit %s"
        async with self._pool.connection() as conn:
            cur = await conn.execute(query.encode(), (*params, limit))
            return [_review(row) for row in await cur.fetchall()]

    async def put_vote(self, review_id: str, user_id: str, vote: Vote) -> Review | None:
        try:
            return await self._put_vote(review_id, user_id, vote)
        except _ReviewGoneError:
            return None

    async def _put_vote(self, review_id: str, user_id: str, vote: Vote) -> Review | None:
        # Raised out of the transaction block, so it rolls back.
        async with self._pool.connection() as conn, conn.transaction():
            while True:
                try:
                    cur = await conn.execute(
                        "insert into ugc.review_votes (review_id, user_id, value)"
                        " values (%s, %s, %s) on conflict (review_id, user_id) do nothing"
                        " returning 1",
                        (review_id, user_id, vote.value),
                    )
                except errors.ForeignKeyViolation:
                    raise _ReviewGoneError from None
                if await cur.fetchone():
                    return await self._count_vote(conn, review_id, new=vote.value, old=0)
                cur = await conn.execute(
                    "select value from ugc.review_votes"
                    " where review_id = %s and user_id = %s for update",
                    (review_id, user_id),
                )
                row = await cur.fetchone()
                if row is not None:
                    break
            old = int(row[0])
            if old != vote.value:
                await conn.execute(
                    "update ugc.review_votes set value = %s where review_id = %s and user_id = %s",
                    (vote.value, review_id, user_id),
                )
            return await self._count_vote(conn, review_id, new=vote.value, old=old)

    async def delete_vote(self, review_id: str, user_id: str) -> Review | None:
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "delete from ugc.review_votes where review_id = %s and user_id = %s"
                " returning value",
                (review_id, user_id),
            )
            row = await cur.fetchone()
            return await self._count_vote(
                conn, review_id, new=0, old=0 if row is None else int(row[0])
            )

    async def _count_vote(self, conn: Conn, review_id: str, *, new: int, old: int) -> Review | None:
        up = (new == Vote.UP.value) - (old == Vote.UP.value)
        down = (new == Vote.DOWN.value) - (old == Vote.DOWN.value)
        if up or down:
            cur = await conn.execute(
                "update ugc.reviews set votes_up = votes_up + %s, votes_down = votes_down + %s"
                f" where id = %s returning {_REVIEW_COLUMNS}",
                (up, down, review_id),
            )
        else:
            cur = await conn.execute(f"{_REVIEW_SELECT} where id = %s", (review_id,))
        row = await cur.fetchone()
        return None if row is None else _review(row)

    async def vote_drift(self) -> list[str]:
        """Reviews whose counters differ from their votes' rows; empty when none."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "select r.id::text from ugc.reviews r left join ("
                "  select review_id, count(*) filter (where value = 1) as up,"
                "         count(*) filter (where value = -1) as down"
                "  from ugc.review_votes group by review_id) v on v.review_id = r.id"
                " where (r.votes_up, r.votes_down) is distinct from"
                "       (coalesce(v.up, 0), coalesce(v.down, 0))"
            )
            return [row[0] for row in await cur.fetchall()]

    # Bookmarks
    async def put_bookmark(self, user_id: str, film_id: str) -> Bookmark:
        async with self._pool.connection() as conn:
            # The no-op update returns the existing row: a second PUT keeps the
            # first time the film was saved.
            cur = await conn.execute(
                "insert into ugc.bookmarks (user_id, film_id) values (%s, %s)"
                " on conflict (user_id, film_id) do update set created_at = bookmarks.created_at"
                " returning created_at",
                (user_id, film_id),
            )
            row = await cur.fetchone()
        assert row is not None
        return Bookmark(film_id, row[0])

    async def delete_bookmark(self, user_id: str, film_id: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "delete from ugc.bookmarks where user_id = %s and film_id = %s", (user_id, film_id)
            )

    async def list_bookmarks(
        self, user_id: str, after: tuple[datetime, str] | None, limit: int
    ) -> list[Bookmark]:
        where = (
            "user_id = %s" if after is None else "user_id = %s and (created_at, film_id) < (%s, %s)"
        )
        params: tuple[Any, ...] = (user_id,) if after is None else (user_id, *after)
        query = (
            f"select film_id, created_at from ugc.bookmarks where {where}"
            " order by created_at desc, film_id desc limit %s"
        )
        async with self._pool.connection() as conn:
            cur = await conn.execute(query.encode(), (*params, limit))
            return [Bookmark(str(row[0]), row[1]) for row in await cur.fetchall()]


class _ReviewGoneError(Exception):
    """The review was deleted while a vote on it was being written."""

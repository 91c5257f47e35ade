"""The UGC store on PostgreSQL (schema `ugc`, migrations/), through asyncpg.

asyncpg rather than psycopg on this path: its protocol and type codecs are
compiled and it prepares each statement once per connection (its statement
cache), where psycopg's async execute path was a fifth of a rating write's
Python time.

Aggregates move in the same transaction as their rows. Each write locks the
row it changes first and the aggregate row last, so the aggregate's lock (the
one every writer of a popular film or review queues on) is held only for one
statement and the commit. Rating writes go in batches (migration 0005): all
their rating rows first, then all their summary rows, each in sorted order.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, NamedTuple, TypeAlias

import asyncpg

from movies_pg import Pool
from ugc_service.adapters.batching import Batcher
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

Conn: TypeAlias = "asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"

_DIST: Final = [f"d{score}" for score in SCORES]
_AGG_COLUMNS: Final = ["score_sum", "score_count", *_DIST]
_SUMMARY: Final = (
    "select "
    + ", ".join(f"coalesce(sum({c}), 0)::bigint" for c in _AGG_COLUMNS)
    + ", (select score from ugc.ratings where film_id = $1 and user_id = $2)"
    " from ugc.film_ratings where film_id = $1"
)
_PUT_RATINGS: Final = (
    "select * from ugc.put_ratings_summary($1::uuid[], $2::uuid[], $3::smallint[], $4::smallint[])"
)
_DELETE_RATING: Final = "select ugc.delete_rating($1::uuid, $2::uuid, $3::smallint)"
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


def _review(row: asyncpg.Record) -> Review:
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


def _affected(status: str) -> int:
    """The row count of a command tag such as `DELETE 1`."""
    return int(status.rsplit(" ", 1)[-1])


class RatingWrite(NamedTuple):
    film_id: str
    shard: int
    user_id: str
    score: int


class PostgresStore:
    """`UgcStore` on PostgreSQL. `shards` spreads each film's summary over that
    many rows (by user), so one popular film's raters do not all queue on one row
    lock; reads add the rows up. Rating writes that meet in flight are committed
    together (`Batcher`: at most `batch_size` per call, `batches_in_flight` calls
    at once)."""

    def __init__(
        self, pool: Pool, shards: int = 1, batch_size: int = 64, batches_in_flight: int = 1
    ) -> None:
        self._pool = pool
        self._shards = shards
        self._ratings: Batcher[RatingWrite, Sequence[Any]] = Batcher(
            self._put_ratings, max_size=batch_size, max_in_flight=batches_in_flight
        )

    def _shard(self, user_id: str) -> int:
        return uuid.UUID(user_id).int % self._shards

    # Ratings
    async def put_rating(self, film_id: str, user_id: str, score: int) -> RatingSummary:
        """The write and the film's summary after it (and after the writes
        committed with it), in one statement per batch (migration 0005)."""
        shard = self._shard(user_id) if self._shards > 1 else 0
        row = await self._ratings.submit(RatingWrite(film_id, shard, user_id, score))
        return _summary(film_id, (*row, score))

    async def _put_ratings(self, writes: list[RatingWrite]) -> list[Sequence[Any]]:
        # Sorted by film, shard, user: every batch takes its row locks in one
        # order (the function's comment), so two batches never deadlock. The
        # sort is stable: a user's two writes of one film keep their order.
        sent = sorted(writes, key=lambda w: w[:3])
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                _PUT_RATINGS,
                [w.film_id for w in sent],
                [w.user_id for w in sent],
                [w.score for w in sent],
                [w.shard for w in sent],
            )
        by_film = {str(row[0]): tuple(row)[1:] for row in rows}
        return [by_film[w.film_id] for w in writes]

    async def delete_rating(self, film_id: str, user_id: str) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(_DELETE_RATING, film_id, user_id, self._shard(user_id))

    async def rating_summary(self, film_id: str, user_id: str | None) -> RatingSummary:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(_SUMMARY, film_id, user_id)
        assert row is not None  # an aggregate without GROUP BY returns one row
        return _summary(film_id, tuple(row))

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
        async with self._pool.acquire() as conn:
            return [row[0] for row in await conn.fetch(query)]

    # Reviews
    async def create_review(
        self, film_id: str, user_id: str, text: str, score: int | None, spoiler: bool
    ) -> Review:
        async with self._pool.acquire() as conn:
            try:
                row = await conn.fetchrow(
                    "insert into ugc.reviews (id, film_id, user_id, body, score, spoiler)"
                    f" values ($1, $2, $3, $4, $5, $6) returning {_REVIEW_COLUMNS}",
                    uuid.uuid4(),
                    film_id,
                    user_id,
                    text,
                    score,
                    spoiler,
                )
            except asyncpg.UniqueViolationError:
                raise AlreadyExistsError(
                    "you have already reviewed this film; edit that review instead",
                    "REVIEW_EXISTS",
                ) from None
        assert row is not None
        return _review(row)

    async def get_review(self, review_id: str) -> Review | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(f"{_REVIEW_SELECT} where id = $1", review_id)
        return None if row is None else _review(row)

    async def update_review(self, review_id: str, changes: ReviewChanges) -> Review | None:
        sets = ["edited_at = now()"]
        params: list[Any] = []

        def bind(column: str, value: Any) -> None:
            params.append(value)
            sets.append(f"{column} = ${len(params)}")

        if changes.text is not None:
            bind("body", changes.text)
        if changes.clear_score:
            sets.append("score = null")
        elif changes.score is not None:
            bind("score", changes.score)
        if changes.spoiler is not None:
            bind("spoiler", changes.spoiler)
        params.append(review_id)
        query = (
            f"update ugc.reviews set {', '.join(sets)} where id = ${len(params)}"
            f" returning {_REVIEW_COLUMNS}"
        )
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(query, *params)
        return None if row is None else _review(row)

    async def delete_review(self, review_id: str) -> bool:
        async with self._pool.acquire() as conn:
            status = await conn.execute("delete from ugc.reviews where id = $1", review_id)
        return _affected(status) > 0

    async def list_reviews(
        self, film_id: str, sort: ReviewSort, after: ReviewKey | None, limit: int
    ) -> list[Review]:
        key = "helpfulness" if sort is ReviewSort.HELPFUL else "created_at"
        # A row comparison on the index's columns: the scan starts right after
        # the previous page's last review (no offset).
        params: tuple[Any, ...]
        if after is None:
            where, params = "film_id = $1", (film_id, limit)
        else:
            where = f"film_id = $1 and ({key}, id) < ($3, $4::uuid)"
            params = (film_id, limit, *after)
        query = f"{_REVIEW_SELECT} where {where} order by {key} desc, id desc limit $2"
        async with self._pool.acquire() as conn:
            return [_review(row) for row in await conn.fetch(query, *params)]

    async def put_vote(self, review_id: str, user_id: str, vote: Vote) -> Review | None:
        try:
            return await self._put_vote(review_id, user_id, vote)
        except _ReviewGoneError:
            return None

    async def _put_vote(self, review_id: str, user_id: str, vote: Vote) -> Review | None:
        # Raised out of the transaction block, so it rolls back.
        async with self._pool.acquire() as conn, conn.transaction():
            while True:
                try:
                    inserted = await conn.fetchval(
                        "insert into ugc.review_votes (review_id, user_id, value)"
                        " values ($1, $2, $3) on conflict (review_id, user_id) do nothing"
                        " returning 1",
                        review_id,
                        user_id,
                        vote.value,
                    )
                except asyncpg.ForeignKeyViolationError:
                    raise _ReviewGoneError from None
                if inserted:
                    return await self._count_vote(conn, review_id, new=vote.value, old=0)
                old = await conn.fetchval(
                    "select value from ugc.review_votes"
                    " where review_id = $1 and user_id = $2 for update",
                    review_id,
                    user_id,
                )
                if old is not None:
                    break
            if old != vote.value:
                await conn.execute(
                    "update ugc.review_votes set value = $1 where review_id = $2 and user_id = $3",
                    vote.value,
                    review_id,
                    user_id,
                )
            return await self._count_vote(conn, review_id, new=vote.value, old=int(old))

    async def delete_vote(self, review_id: str, user_id: str) -> Review | None:
        async with self._pool.acquire() as conn, conn.transaction():
            old = await conn.fetchval(
                "delete from ugc.review_votes where review_id = $1 and user_id = $2"
                " returning value",
                review_id,
                user_id,
            )
            return await self._count_vote(conn, review_id, new=0, old=0 if old is None else old)

    async def _count_vote(self, conn: Conn, review_id: str, *, new: int, old: int) -> Review | None:
        up = (new == Vote.UP.value) - (old == Vote.UP.value)
        down = (new == Vote.DOWN.value) - (old == Vote.DOWN.value)
        if up or down:
            row = await conn.fetchrow(
                "update ugc.reviews set votes_up = votes_up + $1, votes_down = votes_down + $2"
                f" where id = $3 returning {_REVIEW_COLUMNS}",
                up,
                down,
                review_id,
            )
        else:
            row = await conn.fetchrow(f"{_REVIEW_SELECT} where id = $1", review_id)
        return None if row is None else _review(row)

    async def vote_drift(self) -> list[str]:
        """Reviews whose counters differ from their votes' rows; empty when none."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "select r.id::text from ugc.reviews r left join ("
                "  select review_id, count(*) filter (where value = 1) as up,"
                "         count(*) filter (where value = -1) as down"
                "  from ugc.review_votes group by review_id) v on v.review_id = r.id"
                " where (r.votes_up, r.votes_down) is distinct from"
                "       (coalesce(v.up, 0), coalesce(v.down, 0))"
            )
        return [row[0] for row in rows]

    # Bookmarks
    async def put_bookmark(self, user_id: str, film_id: str) -> Bookmark:
        async with self._pool.acquire() as conn:
            # The no-op update returns the existing row: a second PUT keeps the
            # first time the film was saved.
            created = await conn.fetchval(
                "insert into ugc.bookmarks (user_id, film_id) values ($1, $2)"
                " on conflict (user_id, film_id) do update set created_at = bookmarks.created_at"
                " returning created_at",
                user_id,
                film_id,
            )
        assert created is not None
        return Bookmark(film_id, created)

    async def delete_bookmark(self, user_id: str, film_id: str) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "delete from ugc.bookmarks where user_id = $1 and film_id = $2", user_id, film_id
            )

    async def list_bookmarks(
        self, user_id: str, after: tuple[datetime, str] | None, limit: int
    ) -> list[Bookmark]:
        params: tuple[Any, ...]
        if after is None:
            where, params = "user_id = $1", (user_id, limit)
        else:
            where = "user_id = $1 and (created_at, film_id) < ($3, $4::uuid)"
            params = (user_id, limit, *after)
        query = (
            f"select film_id, created_at from ugc.bookmarks where {where}"
            " order by created_at desc, film_id desc limit $2"
        )
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(query, *params)
        return [Bookmark(str(row[0]), row[1]) for row in rows]


class _ReviewGoneError(Exception):
    """The review was deleted while a vote on it was being written."""

"""Cassandra side of the study: one table per query, loaded by concurrent unlogged batches.

Tables (keyspace ugc_study, RF 1 on the single node):
- ratings_by_film ((film_id), user_id): a user's score of a film, a film's ratings;
  ratings_by_user ((user_id), film_id): a user's own list (what PostgreSQL's ratings_by_user
  index serves).
- film_rating_counters ((film_id)): sum, count and 11 score counters: the summary is one
  partition read. Counters are not transactional with the rating row: a changed score is
  read first, then the row written, then the counters moved; a crash or a retry between the
  steps (counter writes are not idempotent) makes the summary drift, and nothing checks it.
- reviews ((review_id)) and reviews_by_film_helpful ((film_id), helpfulness, review_id)
  sorted by helpfulness desc, a denormalised copy of each review card so the first page is
  one partition slice. A vote moves a review: delete the old clustering row, insert the new
  one (read, then write: two concurrent votes can leave a duplicate or a stale rank).
- review_votes ((review_id), user_id) and review_vote_counters ((review_id)).
- bookmarks_by_user ((user_id), created_at, film_id) newest first, and bookmarks
  ((user_id), film_id) to find a bookmark's time when it is removed; both tables share the
  partition key, so one unlogged batch writes both atomically on the replica.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from cassandra import ConsistencyLevel
from cassandra.cluster import Cluster, ExecutionProfile, Session
from cassandra.policies import RoundRobinPolicy
from cassandra.query import BatchStatement, BatchType, PreparedStatement

from bench.ugc_storage.workload import FILM, REVIEW, USER, Workload, uuid_int

KEYSPACE: Final = "ugc_study"
PAGE: Final = 20
# Rows per unlogged batch: on this machine 200-row batches load twice as fast as 50-row ones.
BATCH_ROWS: Final = 200
IN_FLIGHT: Final = 32
LOAD_TIMEOUT_S: Final = 120.0
READ_TIMEOUT_S: Final = 10.0
TABLES: Final = (
    "ratings_by_film",
    "ratings_by_user",
    "film_rating_counters",
    "reviews",
    "reviews_by_film_helpful",
    "review_votes",
    "review_vote_counters",
    "bookmarks_by_user",
    "bookmarks",
)
_DIST: Final = ", ".join(f"d{s} counter" for s in range(11))
SCHEMA: Final = (
    f"create keyspace {KEYSPACE} with replication ="
    " {'class': 'SimpleStrategy', 'replication_factor': 1}",
    f"create table {KEYSPACE}.ratings_by_film (film_id uuid, user_id uuid, score tinyint,"
    " updated_at timestamp, primary key ((film_id), user_id))",
    f"create table {KEYSPACE}.ratings_by_user (user_id uuid, film_id uuid, score tinyint,"
    " updated_at timestamp, primary key ((user_id), film_id))",
    f"create table {KEYSPACE}.film_rating_counters (film_id uuid primary key,"
    f" score_sum counter, score_count counter, {_DIST})",
    f"create table {KEYSPACE}.reviews (review_id uuid primary key, film_id uuid, user_id uuid,"
    " body text, score tinyint, spoiler boolean, created_at timestamp, edited_at timestamp)",
    f"create table {KEYSPACE}.reviews_by_film_helpful (film_id uuid, helpfulness double,"
    " review_id uuid, user_id uuid, body text, score tinyint, spoiler boolean,"
    " created_at timestamp, edited_at timestamp, votes_up int, votes_down int,"
    " primary key ((film_id), helpfulness, review_id))"
    " with clustering order by (helpfulness desc, review_id desc)",
    f"create table {KEYSPACE}.review_votes (review_id uuid, user_id uuid, value tinyint,"
    " created_at timestamp, primary key ((review_id), user_id))",
    f"create table {KEYSPACE}.review_vote_counters (review_id uuid primary key,"
    " up counter, down counter)",
    f"create table {KEYSPACE}.bookmarks_by_user (user_id uuid, created_at timestamp,"
    " film_id uuid, primary key ((user_id), created_at, film_id))"
    " with clustering order by (created_at desc, film_id desc)",
    f"create table {KEYSPACE}.bookmarks (user_id uuid, film_id uuid, created_at timestamp,"
    " primary key ((user_id), film_id))",
)


def wilson_lower_bound(up: int, down: int) -> float:
    """The same bound as the PostgreSQL schema's ugc.wilson_lower_bound (95%, z = 1.96)."""
    n = up + down
    if n == 0:
        return 0.0
    p = up / n
    return (p + 1.9208 / n - 1.96 * math.sqrt(up * down / n + 0.9604) / n) / (1 + 3.8416 / n)


def uid(kind: int, n: int) -> uuid.UUID:
    return uuid.UUID(int=uuid_int(kind, n))


class Window:
    """At most `size` requests in flight; the first error is raised at the next submit or drain."""

    def __init__(self, session: Session, size: int = IN_FLIGHT) -> None:
        self.session = session
        self.size = size
        self.slots = threading.Semaphore(size)
        self.error: BaseException | None = None

    def submit(self, statement: Any, params: Sequence[Any] | None = None) -> None:
        if self.error is not None:
            raise self.error
        self.slots.acquire()
        future = self.session.execute_async(statement, params, timeout=LOAD_TIMEOUT_S)
        future.add_callbacks(self._done, self._failed)

    def _done(self, _: Any) -> None:
        self.slots.release()

    def _failed(self, error: BaseException) -> None:
        self.error = error
        self.slots.release()

    def drain(self) -> None:
        for _ in range(self.size):
            self.slots.acquire()
        for _ in range(self.size):
            self.slots.release()
        if self.error is not None:
            raise self.error


class Batcher:
    """Unlogged batches of up to BATCH_ROWS rows, sent through a Window."""

    def __init__(self, window: Window, kind: BatchType = BatchType.UNLOGGED) -> None:
        self.window = window
        self.kind = kind
        self.batch = BatchStatement(batch_type=kind)
        self.rows = 0

    def add(self, statement: PreparedStatement, params: Sequence[Any]) -> None:
        self.batch.add(statement, params)
        self.rows += 1
        if self.rows >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.window.submit(self.batch)
            self.batch = BatchStatement(batch_type=self.kind)
            self.rows = 0


def connect(port: int) -> tuple[Cluster, Session]:
    profile = ExecutionProfile(
        load_balancing_policy=RoundRobinPolicy(),
        consistency_level=ConsistencyLevel.ONE,
        request_timeout=READ_TIMEOUT_S,
    )
    cluster = Cluster(
        ["127.0.0.1"],
        port=port,
        execution_profiles={"default": profile},
        protocol_version=5,
        connect_timeout=30,
        control_connection_timeout=30,
    )
    return cluster, cluster.connect()


class CassandraStore:
    name = "cassandra"

    def __init__(self, port: int, data_dir: Path, nodetool: Callable[..., None]) -> None:
        self.port = port
        self.data_dir = data_dir
        self.nodetool = nodetool
        self.cluster, self.session = connect(port)

    def reset(self) -> None:
        self.session.execute(f"drop keyspace if exists {KEYSPACE}", timeout=LOAD_TIMEOUT_S)
        for statement in SCHEMA:
            self.session.execute(statement, timeout=LOAD_TIMEOUT_S)

    def _prepare(self, cql: str) -> PreparedStatement:
        return self.session.prepare(cql.format(ks=KEYSPACE))

    def load(self, workload: Workload, timed: Callable[[str, Callable[[], int]], None]) -> None:
        ins_film = self._prepare(
            "insert into {ks}.ratings_by_film (film_id, user_id, score, updated_at)"
            " values (?, ?, ?, ?)"
        )
        ins_user = self._prepare(
            "insert into {ks}.ratings_by_user (user_id, film_id, score, updated_at)"
            " values (?, ?, ?, ?)"
        )
        dist_set = ", ".join(f"d{s} = d{s} + ?" for s in range(11))
        upd_summary = self._prepare(
            "update {ks}.film_rating_counters set score_sum = score_sum + ?,"
            f" score_count = score_count + ?, {dist_set} where film_id = ?"
        )
        ins_review = self._prepare(
            "insert into {ks}.reviews (review_id, film_id, user_id, body, score, spoiler,"
            " created_at) values (?, ?, ?, ?, ?, ?, ?)"
        )
        ins_helpful = self._prepare(
            "insert into {ks}.reviews_by_film_helpful (film_id, helpfulness, review_id, user_id,"
            " body, score, spoiler, created_at, votes_up, votes_down)"
            " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        upd_votes = self._prepare(
            "update {ks}.review_vote_counters set up = up + ?, down = down + ? where review_id = ?"
        )
        ins_vote = self._prepare(
            "insert into {ks}.review_votes (review_id, user_id, value, created_at)"
            " values (?, ?, ?, ?)"
        )
        ins_bm_user = self._prepare(
            "insert into {ks}.bookmarks_by_user (user_id, created_at, film_id) values (?, ?, ?)"
        )
        ins_bm = self._prepare(
            "insert into {ks}.bookmarks (user_id, film_id, created_at) values (?, ?, ?)"
        )

        def ratings() -> int:
            window = Window(self.session)
            by_user = Batcher(window)
            counters = Batcher(window, BatchType.COUNTER)
            rows = 0
            for c in workload.ratings():
                film = uid(FILM, c.film)
                by_film = Batcher(window)  # one partition per batch
                dist = [0] * 11
                for user, score, t in zip(c.users, c.scores, c.times, strict=True):
                    u = uid(USER, user)
                    by_film.add(ins_film, (film, u, score, t * 1000))
                    # Rows of many users: on one node a multi-partition unlogged batch only
                    # saves round trips; a cluster would group them by token first.
                    by_user.add(ins_user, (u, film, score, t * 1000))
                    dist[score] += 1
                by_film.flush()
                total = sum(s * n for s, n in enumerate(dist))
                counters.add(upd_summary, (total, len(c.users), *dist, film))
                rows += len(c.users)
            by_user.flush()
            counters.flush()
            window.drain()
            return rows

        def reviews() -> int:
            window = Window(self.session)
            by_id = Batcher(window)
            counters = Batcher(window, BatchType.COUNTER)
            rows = 0
            for c in workload.reviews():
                film = uid(FILM, c.film)
                helpful = Batcher(window)
                for i, n in enumerate(c.ids):
                    r, u = uid(REVIEW, n), uid(USER, c.authors[i])
                    t = c.times[i] * 1000
                    by_id.add(ins_review, (r, film, u, c.bodies[i], c.scores[i], c.spoilers[i], t))
                    helpful.add(
                        ins_helpful,
                        (
                            film,
                            wilson_lower_bound(c.up[i], c.down[i]),
                            r,
                            u,
                            c.bodies[i],
                            c.scores[i],
                            c.spoilers[i],
                            t,
                            c.up[i],
                            c.down[i],
                        ),
                    )
                    if c.up[i] or c.down[i]:
                        counters.add(upd_votes, (c.up[i], c.down[i], r))
                helpful.flush()
                rows += len(c.ids)
            by_id.flush()
            counters.flush()
            window.drain()
            return rows

        def votes() -> int:
            window = Window(self.session)
            batch = Batcher(window)  # a review has few votes: batches span reviews
            rows = 0
            for c in workload.votes():
                r = uid(REVIEW, c.review)
                for user, value, t in zip(c.users, c.values, c.times, strict=True):
                    batch.add(ins_vote, (r, uid(USER, user), value, t * 1000))
                rows += len(c.users)
            batch.flush()
            window.drain()
            return rows

        def bookmarks() -> int:
            window = Window(self.session)
            batch = Batcher(window)  # a user has few bookmarks: batches span users
            rows = 0
            for c in workload.bookmarks():
                u = uid(USER, c.user)
                for film, t in zip(c.films, c.times, strict=True):
                    f = uid(FILM, film)
                    batch.add(ins_bm_user, (u, t * 1000, f))
                    batch.add(ins_bm, (u, f, t * 1000))
                rows += len(c.films)
            batch.flush()
            window.drain()
            return rows

        timed("ratings", ratings)
        timed("reviews", reviews)
        timed("review_votes", votes)
        timed("bookmarks", bookmarks)
        self.settle()

    def settle(self) -> None:
        """Memtables flushed to SSTables and compactions finished: reads and sizes on disk."""
        self.nodetool("flush", KEYSPACE)
        self.wait_compactions()

    def wait_compactions(self, timeout: float = 1800.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = list(self.session.execute("select * from system_views.sstable_tasks"))
            if not rows:
                return
            time.sleep(2)
        raise TimeoutError("compactions still running")

    def disk_bytes(self) -> dict[str, int]:
        """Live SSTable files of each table (after a flush; commit log and snapshots not
        counted). A dropped and re-created table gets a new directory: the id picks it."""
        out: dict[str, int] = {}
        ks = self.data_dir / "data" / KEYSPACE
        for table in TABLES:
            row = self.session.execute(
                "select id from system_schema.tables where keyspace_name = %s and table_name = %s",
                (KEYSPACE, table),
            ).one()
            d = ks / f"{table}-{row.id.hex}"
            out[table] = sum(p.stat().st_size for p in d.glob("*") if p.is_file())
        return out

    def reader(self) -> CassandraReader:
        return CassandraReader(self.session)

    def close(self) -> None:
        self.cluster.shutdown()


class CassandraReader:
    def __init__(self, session: Session) -> None:
        self.session = session
        dist = ", ".join(f"d{s}" for s in range(11))
        self.summary = session.prepare(
            f"select score_sum, score_count, {dist} from {KEYSPACE}.film_rating_counters"
            " where film_id = ?"
        )
        self.own = session.prepare(
            f"select score from {KEYSPACE}.ratings_by_film where film_id = ? and user_id = ?"
        )
        self.partition_summary = session.prepare(
            f"select count(*), sum(score) from {KEYSPACE}.ratings_by_film where film_id = ?"
        )
        self.local = session.prepare("select release_version from system.local where key = 'local'")
        self.bookmarks = session.prepare(
            f"select film_id, created_at from {KEYSPACE}.bookmarks_by_user where user_id = ?"
            f" limit {PAGE}"
        )
        self.reviews = session.prepare(
            "select review_id, user_id, body, score, spoiler, created_at, edited_at, votes_up,"
            f" votes_down, helpfulness from {KEYSPACE}.reviews_by_film_helpful"
            f" where film_id = ? limit {PAGE}"
        )

    def rating_summary(self, film: int, user: int) -> Any:
        """The counters row and the caller's own score, as the service answers (two reads)."""
        f = uid(FILM, film)
        own = self.session.execute_async(self.own, (f, uid(USER, user)))
        row = self.session.execute(self.summary, (f,)).one()
        return row, own.result().one()

    def rating_summary_from_partition(self, film: int) -> Any:
        """Without counters: count and sum over the film's partition (no distribution)."""
        return self.session.execute(self.partition_summary, (uid(FILM, film),)).one()

    def bookmarks_page(self, user: int) -> list[Any]:
        return list(self.session.execute(self.bookmarks, (uid(USER, user),)))

    def reviews_page(self, film: int) -> list[Any]:
        return list(self.session.execute(self.reviews, (uid(FILM, film),)))

    def ping(self) -> Any:
        """The floor: one round trip through the driver and the server's protocol."""
        return self.session.execute(self.local).one()

    def summary_numbers(self, film: int) -> list[int]:
        """sum, count and the 11 score counts, for the study's check against the generator."""
        row, _ = self.rating_summary(film, 0)
        return [0] * 13 if row is None else [int(v or 0) for v in row]

    def bookmark_films(self, user: int) -> list[str]:
        return [row.film_id.hex for row in self.bookmarks_page(user)]

    def review_ranks(self, film: int) -> list[float]:
        return [round(float(row.helpfulness), 9) for row in self.reviews_page(film)]

    def close(self) -> None:
        pass


class CassandraWriter:
    """The same three writes with Cassandra's tools: read-before-write, then row and counters."""

    def __init__(self, port: int) -> None:
        self.cluster, self.session = connect(port)
        s = self.session
        k = KEYSPACE
        self.get_score = s.prepare(
            f"select score from {k}.ratings_by_film where film_id = ? and user_id = ?"
        )
        self.put_film = s.prepare(
            f"insert into {k}.ratings_by_film (film_id, user_id, score, updated_at)"
            " values (?, ?, ?, toTimestamp(now()))"
        )
        self.put_user = s.prepare(
            f"insert into {k}.ratings_by_user (user_id, film_id, score, updated_at)"
            " values (?, ?, ?, toTimestamp(now()))"
        )
        dist_set = ", ".join(f"d{s} = d{s} + ?" for s in range(11))
        self.move_summary = s.prepare(
            f"update {k}.film_rating_counters set score_sum = score_sum + ?,"
            f" score_count = score_count + ?, {dist_set} where film_id = ?"
        )
        self.get_vote = s.prepare(
            f"select value from {k}.review_votes where review_id = ? and user_id = ?"
        )
        self.put_vote = s.prepare(
            f"insert into {k}.review_votes (review_id, user_id, value, created_at)"
            " values (?, ?, ?, toTimestamp(now()))"
        )
        self.count_vote = s.prepare(
            f"update {k}.review_vote_counters set up = up + ?, down = down + ? where review_id = ?"
        )
        self.get_counts = s.prepare(
            f"select up, down from {k}.review_vote_counters where review_id = ?"
        )
        self.get_review = s.prepare(
            f"select film_id, user_id, body, score, spoiler, created_at from {k}.reviews"
            " where review_id = ?"
        )
        self.drop_rank = s.prepare(
            f"delete from {k}.reviews_by_film_helpful where film_id = ? and helpfulness = ?"
            " and review_id = ?"
        )
        self.put_rank = s.prepare(
            f"insert into {k}.reviews_by_film_helpful (film_id, helpfulness, review_id, user_id,"
            " body, score, spoiler, created_at, votes_up, votes_down)"
            " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        self.put_bm_user = s.prepare(
            f"insert into {k}.bookmarks_by_user (user_id, created_at, film_id)"
            " values (?, toTimestamp(now()), ?)"
        )
        self.put_bm = s.prepare(
            f"insert into {k}.bookmarks (user_id, film_id, created_at)"
            " values (?, ?, toTimestamp(now())) if not exists"
        )

    def rate(self, film: int, user: int, score: int) -> None:
        f, u = uid(FILM, film), uid(USER, user)
        row = self.session.execute(self.get_score, (f, u)).one()
        old = None if row is None else int(row.score)
        if old == score:
            return
        self.session.execute(self.put_film, (f, u, score))
        self.session.execute(self.put_user, (u, f, score))
        dist = [0] * 11
        dist[score] += 1
        if old is not None:
            dist[old] -= 1
        delta_count = 0 if old is not None else 1
        self.session.execute(self.move_summary, (score - (old or 0), delta_count, *dist, f))

    def vote(self, review: int, user: int, value: int) -> None:
        r, u = uid(REVIEW, review), uid(USER, user)
        if self.session.execute(self.get_vote, (r, u)).one() is not None:
            return
        self.session.execute(self.put_vote, (r, u, value))
        self.session.execute(self.count_vote, (int(value > 0), int(value < 0), r))
        # Move the review's card in the helpfulness ranking: old rank from the counters
        # before this vote, new rank after it (read-then-write, not isolated).
        counts = self.session.execute(self.get_counts, (r,)).one()
        review_row = self.session.execute(self.get_review, (r,)).one()
        if counts is None or review_row is None:
            return
        up, down = int(counts.up or 0), int(counts.down or 0)
        before = (up - int(value > 0), down - int(value < 0))
        self.session.execute(self.drop_rank, (review_row.film_id, wilson_lower_bound(*before), r))
        self.session.execute(
            self.put_rank,
            (
                review_row.film_id,
                wilson_lower_bound(up, down),
                r,
                review_row.user_id,
                review_row.body,
                review_row.score,
                review_row.spoiler,
                review_row.created_at,
                up,
                down,
            ),
        )

    def bookmark(self, user: int, film: int) -> None:
        u, f = uid(USER, user), uid(FILM, film)
        # The lookup row first, as a lightweight transaction, so a second PUT keeps the
        # first time (what PostgreSQL's on conflict does); then the list row.
        applied = self.session.execute(self.put_bm, (u, f)).one()
        if applied is not None and applied[0]:
            self.session.execute(self.put_bm_user, (u, f))

    def close(self) -> None:
        self.cluster.shutdown()

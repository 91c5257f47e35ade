"""PostgreSQL side of the study: the UGC service's own schema, loaded by COPY, queried as the
service queries it (services/ugc_service/adapters/postgres.py).

The schema is the service's migration files applied by movies_migrations, never a copy, so
the numbers are those of the tables and indexes the service runs on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Final

import psycopg

import movies_migrations
from bench.ugc_storage.workload import FILM, REVIEW, USER, Workload, uuid_hex

ROOT: Final = Path(__file__).resolve().parents[2]
MIGRATIONS: Final = ROOT / "services" / "ugc_service" / "migrations"
SCHEMA: Final = "ugc"
MIGRATION_LOCK_KEY: Final = 724_339_301
DATABASE: Final = "ugc_study"
TABLES: Final = ("ratings", "film_ratings", "reviews", "review_votes", "bookmarks")
COPY_FLUSH_BYTES: Final = 1 << 20
# Server settings of the study's own cluster: durable (fsync, synchronous commit: the
# defaults), with room for a bulk load's WAL and the working set in memory.
SERVER_SETTINGS: Final = {
    "shared_buffers": "2GB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "15min",
    "maintenance_work_mem": "512MB",
    "work_mem": "16MB",
    "max_connections": "50",
}
PAGE: Final = 20
SUMMARY_SQL: Final = (
    "select coalesce(sum(score_sum), 0)::bigint, coalesce(sum(score_count), 0)::bigint, "
    + ", ".join(f"coalesce(sum(d{s}), 0)::bigint" for s in range(11))
    + ", (select score from ugc.ratings where film_id = %s and user_id = %s)"
    " from ugc.film_ratings where film_id = %s"
)
BOOKMARKS_SQL: Final = (
    "select film_id, created_at from ugc.bookmarks where user_id = %s"
    " order by created_at desc, film_id desc limit %s"
)
REVIEWS_SQL: Final = (
    "select id, film_id, user_id, body, score, spoiler, created_at, edited_at,"
    " votes_up, votes_down, helpfulness from ugc.reviews where film_id = %s"
    " order by helpfulness desc, id desc limit %s"
)


def pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if found:
        return found[-1].parent
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl is None:
        raise RuntimeError("PostgreSQL's pg_ctl not found (`make tools` installs it)")
    return Path(pg_ctl).parent


def _as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the `postgres` system user."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


class OwnPostgres:
    """The study's own PostgreSQL cluster (initdb on first start), so the dev stack's is not bloated."""

    def __init__(self, directory: Path, port: int) -> None:
        self.dir = directory
        self.data = directory / "data"
        self.port = port
        self.bin = pg_bin()

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *args: str) -> None:
        cmd = _as_postgres([str(self.bin / args[0]), *args[1:]])
        subprocess.run(cmd, check=True, timeout=300, stdout=subprocess.DEVNULL)

    def start(self) -> None:
        if not (self.data / "PG_VERSION").exists():
            self.data.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(self.dir, "postgres")
                shutil.chown(self.data, "postgres")
            self._run(
                "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"
            )
        settings = " ".join(f"-c {k}={v}" for k, v in SERVER_SETTINGS.items())
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} {settings}"
        log = self.dir / "postgres.log"
        if not self.running():
            self._run("pg_ctl", "-D", str(self.data), "-l", str(log), "-o", options, "-w", "start")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists() and _accepts(self.admin_dsn)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _accepts(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def _ts(days: list[str], t: int) -> str:
    d, s = divmod(t, 86_400)
    return f"{days[d]} {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00"


def _day_names() -> list[str]:
    """Dates by day since the unix epoch: COPY text gets one strftime per day, not per row."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return [(epoch + dt.timedelta(days=d)).strftime("%Y-%m-%d") for d in range(25_000)]


def _text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


class PostgresStore:
    """One connection for loads and reads; background writers open their own."""

    name = "postgresql"

    def __init__(self, dsn: str, admin_dsn: str) -> None:
        self.dsn = dsn
        self.admin_dsn = admin_dsn

    def reset(self) -> None:
        """A new empty database with the service's schema."""
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f"drop database if exists {DATABASE} with (force)")
            conn.execute(f"create database {DATABASE}")
        asyncio.run(self._migrate())

    async def _migrate(self) -> None:
        async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as conn:
            await movies_migrations.migrate(
                conn, MIGRATIONS, schema=SCHEMA, lock_key=MIGRATION_LOCK_KEY
            )

    def _copy(self, statement: str, lines: Iterable[str]) -> int:
        rows = 0
        with psycopg.connect(self.dsn) as conn, conn.cursor() as cur:
            with cur.copy(statement.encode()) as copy:
                buf: list[str] = []
                size = 0
                for line in lines:
                    buf.append(line)
                    size += len(line)
                    rows += 1
                    if size >= COPY_FLUSH_BYTES:
                        copy.write("".join(buf).encode())
                        buf, size = [], 0
                copy.write("".join(buf).encode())
            conn.commit()
        return rows

    def load(self, workload: Workload, timed: Callable[[str, Callable[[], int]], None]) -> None:
        """Loads every table by COPY (timed per table), then vacuums and analyzes."""
        days = _day_names()
        summaries: list[tuple[int, list[int]]] = []

        def ratings() -> Iterator[str]:
            for chunk in workload.ratings():
                film = uuid_hex(FILM, chunk.film)
                dist = [0] * 11
                for user, score, t in zip(chunk.users, chunk.scores, chunk.times, strict=True):
                    dist[score] += 1
                    ts = _ts(days, t)
                    yield f"{film}\t{uuid_hex(USER, user)}\t{score}\t{ts}\t{ts}\n"
                summaries.append((chunk.film, dist))

        def film_ratings() -> Iterator[str]:
            for film, dist in summaries:
                total = sum(s * n for s, n in enumerate(dist))
                counts = "\t".join(map(str, dist))
                yield f"{uuid_hex(FILM, film)}\t0\t{total}\t{sum(dist)}\t{counts}\n"

        def reviews() -> Iterator[str]:
            for c in workload.reviews():
                film = uuid_hex(FILM, c.film)
                for i in range(len(c.ids)):
                    score = "\\N" if c.scores[i] is None else str(c.scores[i])
                    yield (
                        f"{uuid_hex(REVIEW, c.ids[i])}\t{film}\t{uuid_hex(USER, c.authors[i])}\t"
                        f"{_text(c.bodies[i])}\t{score}\t{'t' if c.spoilers[i] else 'f'}\t"
                        f"{_ts(days, c.times[i])}\t{c.up[i]}\t{c.down[i]}\n"
                    )

        def votes() -> Iterator[str]:
            for c in workload.votes():
                review = uuid_hex(REVIEW, c.review)
                for user, value, t in zip(c.users, c.values, c.times, strict=True):
                    yield f"{review}\t{uuid_hex(USER, user)}\t{value}\t{_ts(days, t)}\n"

        def bookmarks() -> Iterator[str]:
            for c in workload.bookmarks():
                user = uuid_hex(USER, c.user)
                for film, t in zip(c.films, c.times, strict=True):
                    yield f"{user}\t{uuid_hex(FILM, film)}\t{_ts(days, t)}\n"

        dist_cols = ", ".join(f"d{s}" for s in range(11))
        steps: list[tuple[str, str, Callable[[], Iterator[str]]]] = [
            (
                "ratings",
                "copy ugc.ratings (film_id, user_id, score, created_at, updated_at) from stdin",
                ratings,
            ),
            (
                "film_ratings",
                f"copy ugc.film_ratings (film_id, shard, score_sum, score_count, {dist_cols})"
                " from stdin",
                film_ratings,
            ),
            (
                "reviews",
                "copy ugc.reviews (id, film_id, user_id, body, score, spoiler, created_at,"
                " votes_up, votes_down) from stdin",
                reviews,
            ),
            (
                "review_votes",
                "copy ugc.review_votes (review_id, user_id, value, created_at) from stdin",
                votes,
            ),
            (
                "bookmarks",
                "copy ugc.bookmarks (user_id, film_id, created_at) from stdin",
                bookmarks,
            ),
        ]
        for table, statement, lines in steps:
            timed(table, lambda s=statement, g=lines: self._copy(s, g()))  # type: ignore[misc]
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute("vacuum (analyze) ")
            conn.execute("checkpoint")

    def disk_bytes(self) -> dict[str, int]:
        """Each table with its indexes and TOAST (pg_total_relation_size)."""
        with psycopg.connect(self.dsn) as conn:
            return {
                t: int(
                    conn.execute(  # type: ignore[index]
                        "select pg_total_relation_size(%s)", (f"ugc.{t}",)
                    ).fetchone()[0]
                )
                for t in TABLES
            }

    def reader(self) -> PostgresReader:
        return PostgresReader(self.dsn)


class PostgresReader:
    """The three reads, as the service makes them, on one prepared connection."""

    def __init__(self, dsn: str) -> None:
        self.conn = psycopg.connect(dsn, autocommit=True, prepare_threshold=0)

    def rating_summary(self, film: int, user: int) -> Any:
        f = uuid_hex(FILM, film)
        return self.conn.execute(SUMMARY_SQL, (f, uuid_hex(USER, user), f)).fetchone()

    def rating_summary_from_partition(self, film: int) -> Any:
        """Without the summary table: count and sum over the film's rows (its primary key range)."""
        return self.conn.execute(
            "select count(*), sum(score) from ugc.ratings where film_id = %s",
            (uuid_hex(FILM, film),),
        ).fetchone()

    def bookmarks_page(self, user: int) -> list[Any]:
        return self.conn.execute(BOOKMARKS_SQL, (uuid_hex(USER, user), PAGE)).fetchall()

    def reviews_page(self, film: int) -> list[Any]:
        return self.conn.execute(REVIEWS_SQL, (uuid_hex(FILM, film), PAGE)).fetchall()

    def ping(self) -> Any:
        """The floor: one round trip through the driver and the server's protocol."""
        return self.conn.execute("select 1").fetchone()

    def summary_numbers(self, film: int) -> list[int]:
        """sum, count and the 11 score counts, for the study's check against the generator."""
        return [int(v) for v in self.rating_summary(film, 0)[:13]]

    def bookmark_films(self, user: int) -> list[str]:
        return [row[0].hex for row in self.bookmarks_page(user)]

    def review_ranks(self, film: int) -> list[float]:
        return [round(float(row[10]), 9) for row in self.reviews_page(film)]

    def close(self) -> None:
        self.conn.close()


class PostgresWriter:
    """The service's writes, each in its own transaction: a rating with its summary delta,
    a vote with its review's counters, a bookmark."""

    def __init__(self, dsn: str) -> None:
        self.conn = psycopg.connect(dsn, prepare_threshold=0)

    def rate(self, film: int, user: int, score: int) -> None:
        f, u = uuid_hex(FILM, film), uuid_hex(USER, user)
        with self.conn.transaction():
            row = self.conn.execute(
                "select score from ugc.ratings where film_id = %s and user_id = %s for update",
                (f, u),
            ).fetchone()
            old = None if row is None else int(row[0])
            if old == score:
                return
            self.conn.execute(
                "insert into ugc.ratings (film_id, user_id, score) values (%s, %s, %s)"
                " on conflict (film_id, user_id) do update"
                " set score = excluded.score, updated_at = now()",
                (f, u, score),
            )
            dist = [0] * 11
            dist[score] += 1
            if old is not None:
                dist[old] -= 1
            delta_sum = score - (old or 0)
            delta_count = 0 if old is not None else 1
            cols = ", ".join(f"d{s}" for s in range(11))
            sets = ", ".join(
                f"{c} = film_ratings.{c} + excluded.{c}"
                for c in ["score_sum", "score_count", *(f"d{s}" for s in range(11))]
            )
            self.conn.execute(
                f"insert into ugc.film_ratings (film_id, shard, score_sum, score_count, {cols})"
                f" values (%s, 0, %s, %s, {', '.join(['%s'] * 11)})"
                f" on conflict (film_id, shard) do update set {sets}",
                (f, delta_sum, delta_count, *dist),
            )

    def vote(self, review: int, user: int, value: int) -> None:
        r = uuid_hex(REVIEW, review)
        with self.conn.transaction():
            got = self.conn.execute(
                "insert into ugc.review_votes (review_id, user_id, value) values (%s, %s, %s)"
                " on conflict (review_id, user_id) do nothing returning 1",
                (r, uuid_hex(USER, user), value),
            ).fetchone()
            if got:
                column = "votes_up" if value > 0 else "votes_down"
                self.conn.execute(
                    f"update ugc.reviews set {column} = {column} + 1 where id = %s", (r,)
                )

    def bookmark(self, user: int, film: int) -> None:
        with self.conn.transaction():
            self.conn.execute(
                "insert into ugc.bookmarks (user_id, film_id) values (%s, %s)"
                " on conflict (user_id, film_id) do update set created_at = bookmarks.created_at",
                (uuid_hex(USER, user), uuid_hex(FILM, film)),
            )

    def close(self) -> None:
        self.conn.close()

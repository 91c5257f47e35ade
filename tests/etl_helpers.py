"""What the ETL's integration tests share: a throwaway database, its own index
prefix, the ETL as a child process, and an independent comparison of the indices
with the database.

The tests never touch the dev catalogue (`movies`) or the dev indices: they own
the database `movies_test_etl` and the aliases `test_etl_*`.
"""

from __future__ import annotations

import asyncio
import re
import signal
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import async_scan
from psycopg import AsyncConnection, sql

import movies_index as indices
from movies_etl import migrate
from movies_etl.adapters.postgres import connect
from movies_etl.adapters.search import indices_behind_alias
from movies_etl.config import Settings
from movies_etl.generator import generate
from movies_etl.importer import import_sqlite
from tests.support import legacy
from tests.support.procs import ROOT, VENV_BIN, Proc
from tests.support.stack import stack

PG_PORT = stack().pg_port
TEST_DB = "movies_test_etl"
ADMIN_DSN = stack().admin_dsn
TEST_DSN = stack().pg_dsn(TEST_DB)
PREFIX = "test_etl_"
ES_URL = stack().es_url
# The tests' own catalogue: a generated one of about the real catalogue's size
# (its shape: busy and rare people, 1-4 genres, some films without rating or
# plot) plus the hand-made legacy edge cases (tests/support/legacy.py).
GENERATED_FILMS = 1000
GENERATED_SEED = 9
FILMS = GENERATED_FILMS + legacy.FILMS
# The migrations as a reader of the repository sees them: the files, by name.
MIGRATION_FILES = sorted((ROOT / "etl" / "migrations").glob("*.sql"))
MIGRATION_VERSIONS = [path.name.split("_", 1)[0] for path in MIGRATION_FILES]
VERSION_KEY = "test_etl:catalog_version"
CHANNEL = "test_etl:catalog_changed"


def settings(**overrides: Any) -> Settings:
    """Settings of an in-process ETL pointed at the test database and indices."""
    values: dict[str, Any] = {
        "postgres_dsn": TEST_DSN,
        "elasticsearch_url": ES_URL,
        "es_index_prefix": PREFIX,
        "es_old_index_grace_seconds": 0.5,
        "redis_url": "redis://127.0.0.1:1/0",
        "cache_version_key": VERSION_KEY,
        "cache_channel": CHANNEL,
        "etl_batch_size": 500,
        "etl_bulk_size": 500,
        "etl_poll_interval_seconds": 0.5,
        "etl_retry_initial_seconds": 0.1,
        "etl_retry_max_seconds": 1.0,
        "etl_retry_give_up_seconds": 60.0,
        **overrides,
    }
    return Settings(**values)


def env(**overrides: str) -> dict[str, str]:
    """Environment of an ETL child process pointed at the test database and indices."""
    values = {
        "POSTGRES_DSN": TEST_DSN,
        "ELASTICSEARCH_URL": ES_URL,
        "ES_INDEX_PREFIX": PREFIX,
        "ES_OLD_INDEX_GRACE_SECONDS": "0.5",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "CACHE_VERSION_KEY": VERSION_KEY,
        "CACHE_CHANNEL": CHANNEL,
        "ETL_POLL_INTERVAL_SECONDS": "0.5",
        "ETL_RETRY_INITIAL_SECONDS": "0.2",
        "ETL_RETRY_MAX_SECONDS": "2",
        "LOG_LEVEL": "INFO",
    }
    values.update(overrides)
    return values


def etl_process(name: str, *args: str, **env_overrides: str) -> Proc:
    return Proc(name, [str(VENV_BIN / "etl"), *args], env(**env_overrides))


def run_etl(*args: str, timeout: float = 600, **env_overrides: str) -> None:
    """Runs one `etl` command to completion; fails the test with its log otherwise."""
    proc = etl_process(f"etl-{args[0]}", *args, **env_overrides).start()
    assert proc.popen is not None
    try:
        code = proc.popen.wait(timeout)
    except Exception:
        proc.stop(signal.SIGKILL)
        raise
    assert code == 0, f"etl {' '.join(args)} exited {code}:\n{proc.log_text()[-4000:]}"


async def recreate_database(
    migrated: bool = True, *, admin_dsn: str = ADMIN_DSN, dsn: str = TEST_DSN
) -> None:
    """A fresh `movies_test_etl`, migrated as `make up` would leave it (without data).

    On the dev stack's PostgreSQL unless the DSNs name another server.
    """
    async with await AsyncConnection.connect(admin_dsn, autocommit=True) as admin:
        await admin.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s",
            (TEST_DB,),
        )
        await admin.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(TEST_DB)))
        await admin.execute(
            sql.SQL("create database {} owner movies").format(sql.Identifier(TEST_DB))
        )
    if migrated:
        async with await AsyncConnection.connect(dsn, autocommit=True) as conn:
            await migrate.migrate(conn, settings().etl_migrations_dir)


@asynccontextmanager
async def sample_catalogue(
    es: AsyncElasticsearch,
    sqlite: Path | None = None,
    *,
    admin_dsn: str = ADMIN_DSN,
    dsn: str = TEST_DSN,
) -> AsyncIterator[None]:
    """A fresh test database and no test indices yet; the indices are dropped
    again afterwards.

    The catalogue is the generated one plus the legacy edge cases, or, given
    `sqlite`, that legacy file alone (the real catalogue's tier).
    """
    await recreate_database(admin_dsn=admin_dsn, dsn=dsn)
    await drop_test_indices(es)
    conn = await connect(dsn, 5)
    async with conn:
        if sqlite is not None:
            await import_sqlite(conn, sqlite)
        else:
            await generate(conn, GENERATED_FILMS, GENERATED_SEED)
            with tempfile.TemporaryDirectory() as tmp:
                await import_sqlite(conn, legacy.write(Path(tmp) / "legacy.sqlite"))
    try:
        yield
    finally:
        await drop_test_indices(es)


async def drop_test_indices(es: AsyncElasticsearch) -> None:
    # Deleting by wildcard is refused (action.destructive_requires_name): name them.
    found = await es.indices.get(index=f"{PREFIX}*", allow_no_indices=True)
    if found.body:
        await es.indices.delete(index=",".join(found.body), ignore_unavailable=True)


@asynccontextmanager
async def db(dsn: str = TEST_DSN) -> AsyncIterator[AsyncConnection[Any]]:
    async with await AsyncConnection.connect(dsn, autocommit=True) as conn:
        yield conn


async def fetch(query: str, *params: Any, dsn: str = TEST_DSN) -> list[tuple[Any, ...]]:
    async with db(dsn) as conn:
        cur = await conn.execute(query, params or None)
        return await cur.fetchall()


async def execute(query: str, *params: Any, dsn: str = TEST_DSN) -> None:
    async with db(dsn) as conn:
        await conn.execute(query, params or None)


async def pending_changes(dsn: str = TEST_DSN) -> int:
    return int((await fetch("select count(*) from content.etl_change", dsn=dsn))[0][0])


# -- comparing the indices with the database ------------------------------------------


@dataclass(frozen=True)
class Catalogue:
    """Everything the API shows, as comparable sets (order checked separately)."""

    films: dict[str, tuple[Any, ...]]
    persons: dict[str, tuple[Any, ...]]
    genres: dict[str, tuple[Any, ...]]


async def expected_from_database(dsn: str = TEST_DSN) -> Catalogue:
    """Read straight from the tables, independently of the ETL's own queries."""
    films_rows = await fetch(
        "select id::text, title, description, rating, type, creation_date::text"
        " from content.film_work",
        dsn=dsn,
    )
    genre_links = await fetch(
        "select gfw.film_work_id::text, g.id::text, g.name"
        " from content.genre_film_work gfw join content.genre g on g.id = gfw.genre_id",
        dsn=dsn,
    )
    person_links = await fetch(
        "select pfw.film_work_id::text, p.id::text, p.full_name, pfw.role, fw.title"
        " from content.person_film_work pfw join content.person p on p.id = pfw.person_id"
        " join content.film_work fw on fw.id = pfw.film_work_id",
        dsn=dsn,
    )
    genres_of: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)
    for film_id, genre_id, name in genre_links:
        genres_of[film_id].add((genre_id, name))
    people_of: defaultdict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    roles_of: defaultdict[str, defaultdict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    titles = {row[0]: row[1] for row in films_rows}
    for film_id, person_id, full_name, role, _ in person_links:
        people_of[(film_id, role)].add((person_id, full_name))
        roles_of[person_id][film_id].add(role)
    films = {
        fid: (
            title,
            description,
            rating,
            ftype,
            created,
            frozenset(genres_of[fid]),
            frozenset(people_of[(fid, "actor")]),
            frozenset(people_of[(fid, "writer")]),
            frozenset(people_of[(fid, "director")]),
        )
        for fid, title, description, rating, ftype, created in films_rows
    }
    persons = {
        pid: (
            name,
            frozenset(
                (fid, titles[fid], tuple(sorted(roles))) for fid, roles in roles_of[pid].items()
            ),
        )
        for pid, name in await fetch("select id::text, full_name from content.person", dsn=dsn)
    }
    genres = {
        gid: (name, description, count)
        for gid, name, description, count in await fetch(
            "select g.id::text, g.name, g.description, count(gfw.id)"
            " from content.genre g left join content.genre_film_work gfw on gfw.genre_id = g.id"
            " group by g.id",
            dsn=dsn,
        )
    }
    return Catalogue(films, persons, genres)


async def documents(es: AsyncElasticsearch, name: str) -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    async for hit in async_scan(es, index=indices.alias_name(name, PREFIX), size=2000):
        assert hit["_id"] not in docs, f"duplicate {hit['_id']} in {name}"
        docs[hit["_id"]] = hit["_source"]
    return docs


def _people(doc: dict[str, Any], field: str) -> frozenset[tuple[str, str]]:
    return frozenset((p["id"], p["full_name"]) for p in doc[field])


async def actual_from_indices(es: AsyncElasticsearch) -> Catalogue:
    await es.indices.refresh(index=f"{PREFIX}*")
    films = {
        fid: (
            d["title"],
            d["description"],
            d["imdb_rating"],
            d["type"],
            d["creation_date"],
            frozenset((g["id"], g["name"]) for g in d["genres"]),
            _people(d, "actors"),
            _people(d, "writers"),
            _people(d, "directors"),
        )
        for fid, d in (await documents(es, indices.MOVIES)).items()
    }
    persons = {
        pid: (
            d["full_name"],
            frozenset((f["id"], f["title"], tuple(f["roles"])) for f in d["films"]),
        )
        for pid, d in (await documents(es, indices.PERSONS)).items()
    }
    genres = {
        gid: (d["name"], d["description"], d["film_count"])
        for gid, d in (await documents(es, indices.GENRES)).items()
    }
    return Catalogue(films, persons, genres)


async def assert_indices_equal_database(es: AsyncElasticsearch, dsn: str = TEST_DSN) -> Catalogue:
    """The whole read model equals the database; returns it for further checks."""
    expected = await expected_from_database(dsn)
    actual = await actual_from_indices(es)
    for part in ("films", "persons", "genres"):
        want: dict[str, Any] = getattr(expected, part)
        got: dict[str, Any] = getattr(actual, part)
        missing = sorted(set(want) - set(got))[:5]
        extra = sorted(set(got) - set(want))[:5]
        wrong = [k for k in want if k in got and got[k] != want[k]][:3]
        problem = missing or extra or wrong
        assert not problem, (
            f"{part}: {len(set(want) - set(got))} missing {missing}, "
            f"{len(set(got) - set(want))} extra {extra}, "
            f"differing {[(k, want[k], got[k]) for k in wrong]}"
        )
    for name in indices.INDEX_NAMES:
        behind = await indices_behind_alias(es, indices.alias_name(name, PREFIX))
        assert len(behind) == 1, f"alias {name} points to {behind}"
    return expected


def log_count(proc: Proc, pattern: str) -> int:
    return len(re.findall(pattern, proc.log_text()))


async def wait_for_log(proc: Proc, pattern: str, count: int = 1, within: float = 120) -> None:
    """Waits until the process logged `pattern` `count` times (it must stay alive)."""
    deadline = time.monotonic() + within
    while log_count(proc, pattern) < count:
        assert proc.popen is not None
        assert proc.popen.poll() is None, f"etl exited early:\n{proc.log_text()[-3000:]}"
        assert time.monotonic() < deadline, f"no {pattern!r} x{count} in {within}s"
        await asyncio.sleep(0.05)

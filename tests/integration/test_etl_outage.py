"""Backends going away under a running ETL: it retries with backoff, never exits, and
catches up by itself once they are back.

Most tests cut the ETL off through a TCP proxy (refused and dropped connections,
exactly what a stopped server gives a client) so they do not disturb anyone else.
The `disruptive` ones really stop an Elasticsearch or a PostgreSQL: the tests' own
(`own_es`, `own_pg` in tests/conftest.py), never the dev stack's.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from elasticsearch import AsyncElasticsearch

from tests import etl_helpers as h
from tests.support.instances import OwnElasticsearch, OwnPostgres
from tests.support.procs import Proc, eventually, free_port
from tests.support.stack import stack
from tests.support.tcp_proxy import TcpProxy

ES_PORT = stack().es_node_port
# What the ETL logs when a backend fails and it will try again, and when a load is done.
RETRY_LINE = "backend unavailable"
REBUILT = "full rebuild done"
# Retries seen before a backend comes back: it retried, not just failed once.
RETRIES_SEEN = 2
SLOW_LOAD_DELAY_S = 0.05


@pytest_asyncio.fixture(scope="module")
async def sample(es: AsyncElasticsearch) -> AsyncIterator[None]:
    async with h.sample_catalogue(es):
        yield


@pytest.fixture
def es_cut() -> Iterator[TcpProxy]:
    proxy = TcpProxy(free_port(), ES_PORT).start()
    yield proxy
    proxy.close()


def start(name: str, **env: str) -> Proc:
    proc = h.etl_process(name, "run", **env)
    proc.log_path.unlink(missing_ok=True)
    return proc.start()


def alive(proc: Proc) -> bool:
    return proc.popen is not None and proc.popen.poll() is None


async def caught_up(es: AsyncElasticsearch, dsn: str = h.TEST_DSN) -> bool:
    if await h.pending_changes(dsn):
        return False
    await h.assert_indices_equal_database(es, dsn)
    return True


async def make_changes(tag: str, dsn: str = h.TEST_DSN) -> None:
    """A rename, a delete and a new film: each must survive the outage."""
    await h.execute(
        "update content.person set full_name = %s"
        " where id = (select id from content.person order by id limit 1)",
        f"Renamed During {tag}",
        dsn=dsn,
    )
    await h.execute(
        "delete from content.film_work where id = (select id from content.film_work"
        " order by id desc limit 1)",
        dsn=dsn,
    )
    await h.execute(
        "insert into content.film_work (id, title, type) values (%s, %s, 'movie')",
        str(uuid.uuid4()),
        f"Filmed During {tag}",
        dsn=dsn,
    )


async def retried_while_away(proc: Proc, cut: TcpProxy) -> None:
    """Waits until the ETL has tried the lost backend and retried after failing."""
    logged = h.log_count(proc, RETRY_LINE)
    await eventually(lambda: cut.refused > 0, 30, "the ETL reaching for the lost backend")
    await h.wait_for_log(proc, RETRY_LINE, logged + RETRIES_SEEN, within=30)


async def test_elasticsearch_unreachable_then_back(
    sample: None, es: AsyncElasticsearch, es_cut: TcpProxy
) -> None:
    proc = start("etl-outage-es", ELASTICSEARCH_URL=f"http://127.0.0.1:{es_cut.listen_port}")
    try:
        await eventually(lambda: caught_up(es), 120, "initial load")
        es_cut.set_mode("down")
        await make_changes("ES Outage")
        await retried_while_away(proc, es_cut)
        assert alive(proc)
        assert await h.pending_changes() > 0, "nothing may be acknowledged while ES is away"

        es_cut.set_mode("pass")

        await eventually(lambda: caught_up(es), 60, "catching up after the outage")
        assert alive(proc)
        assert "backend unavailable" in proc.log_text()
    finally:
        proc.stop()


async def test_elasticsearch_cut_in_the_middle_of_a_full_load(
    sample: None, es: AsyncElasticsearch, es_cut: TcpProxy
) -> None:
    await h.drop_test_indices(es)
    # Slowed, so the load is still under way when the cut comes.
    es_cut.set_mode("slow", delay=SLOW_LOAD_DELAY_S)
    proc = start(
        "etl-outage-es-rebuild",
        ELASTICSEARCH_URL=f"http://127.0.0.1:{es_cut.listen_port}",
        ETL_BULK_SIZE="100",
        ETL_FETCH_SIZE="100",
    )
    try:
        await h.wait_for_log(proc, "created index", within=60)
        es_cut.set_mode("down")
        assert REBUILT not in proc.log_text(), "the load finished before the cut"
        await retried_while_away(proc, es_cut)
        es_cut.set_mode("pass")

        await eventually(lambda: caught_up(es), 120, "the rebuild finishing after the cut")
        assert alive(proc)
        log = proc.log_text()
        assert log.index(RETRY_LINE) < log.index(REBUILT), "the cut must interrupt the load"
    finally:
        proc.stop()


async def test_postgres_unreachable_then_back(
    sample: None, es: AsyncElasticsearch, pg_cut: TcpProxy
) -> None:
    dsn = pg_cut.reroute(h.TEST_DSN)
    proc = start("etl-outage-pg", POSTGRES_DSN=dsn)
    try:
        await eventually(lambda: caught_up(es), 120, "initial load")
        pg_cut.set_mode("down")
        # Editors keep writing; only the ETL has lost the database.
        await make_changes("PG Outage")
        await retried_while_away(proc, pg_cut)
        assert alive(proc)
        assert await h.pending_changes() > 0, "nothing may be acknowledged while PG is away"

        pg_cut.set_mode("pass")

        await eventually(lambda: caught_up(es), 60, "catching up after the outage")
        assert alive(proc)
        assert "backend unavailable" in proc.log_text()
    finally:
        proc.stop()


# -- the real thing: stopping a server (the tests' own, never the dev stack's) ---------


@dataclass(frozen=True)
class OwnBackends:
    """The sample catalogue on the tests' own PostgreSQL and Elasticsearch."""

    es: AsyncElasticsearch
    dsn: str
    env: dict[str, str]


@pytest_asyncio.fixture(scope="module")
async def own(own_es: OwnElasticsearch, own_pg: OwnPostgres) -> AsyncIterator[OwnBackends]:
    client = AsyncElasticsearch(own_es.url, request_timeout=30)
    dsn = own_pg.dsn(h.TEST_DB)
    try:
        async with h.sample_catalogue(client, admin_dsn=own_pg.admin_dsn, dsn=dsn):
            yield OwnBackends(client, dsn, {"POSTGRES_DSN": dsn, "ELASTICSEARCH_URL": own_es.url})
    finally:
        await client.close()


@pytest.mark.disruptive
async def test_elasticsearch_stopped_then_started(
    own: OwnBackends, own_es: OwnElasticsearch
) -> None:
    proc = start("etl-outage-es-real", **own.env)
    try:
        await eventually(lambda: caught_up(own.es, own.dsn), 120, "initial load")
        logged = h.log_count(proc, RETRY_LINE)
        own_es.stop()
        try:
            await make_changes("ES Stop", own.dsn)
            await h.wait_for_log(proc, RETRY_LINE, logged + RETRIES_SEEN, within=60)
            assert await h.pending_changes(own.dsn) > 0, "acknowledged while ES was stopped"
        finally:
            own_es.start()

        await eventually(lambda: caught_up(own.es, own.dsn), 180, "catching up after the restart")
        assert alive(proc)
    finally:
        proc.stop()


@pytest.mark.disruptive
async def test_postgres_stopped_then_started(own: OwnBackends, own_pg: OwnPostgres) -> None:
    proc = start("etl-outage-pg-real", **own.env)
    try:
        await eventually(lambda: caught_up(own.es, own.dsn), 120, "initial load")
        # Committed just before the stop: maybe processed, maybe not; never lost.
        await make_changes("PG Stop", own.dsn)
        logged = h.log_count(proc, RETRY_LINE)
        own_pg.stop()
        try:
            await h.wait_for_log(proc, RETRY_LINE, logged + RETRIES_SEEN, within=60)
        finally:
            own_pg.start()
        await make_changes("PG Restart", own.dsn)

        await eventually(lambda: caught_up(own.es, own.dsn), 120, "catching up after the restart")
        assert alive(proc)
    finally:
        proc.stop()

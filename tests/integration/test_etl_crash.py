"""`kill -9` of the ETL at several points of a large load: a restart converges on the
database, without duplicates and without losing a change."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from elasticsearch import AsyncElasticsearch

from movies_etl.adapters.postgres import connect
from movies_etl.generator import generate
from tests import etl_helpers as h
from tests.support.procs import Proc, eventually

FILMS = 20_000
pytestmark = pytest.mark.slow


@pytest_asyncio.fixture(scope="module")
async def large_catalogue(es: AsyncElasticsearch) -> AsyncIterator[None]:
    await h.recreate_database()
    await h.drop_test_indices(es)
    h.run_etl("generate", "--films", str(FILMS), "--seed", "7")
    yield
    await h.drop_test_indices(es)


def start(name: str, **env: str) -> Proc:
    proc = h.etl_process(name, "run", ETL_PROGRESS_EVERY="2000", **env)
    proc.log_path.unlink(missing_ok=True)
    return proc.start()


def kill_9(proc: Proc) -> None:
    assert proc.popen is not None
    assert proc.popen.poll() is None, f"etl died before the kill:\n{proc.log_text()[-3000:]}"
    proc.popen.send_signal(signal.SIGKILL)
    proc.popen.wait(10)


async def converge(es: AsyncElasticsearch, name: str) -> None:
    """A last restart, left alone: the indices end equal to the database."""
    proc = start(name)
    try:

        async def caught_up() -> bool:
            if await h.pending_changes():
                return False
            await h.assert_indices_equal_database(es)
            # The generations interrupted by the kills are gone too.
            found = await es.indices.get(index=f"{h.PREFIX}*_v*")
            return len(found.body) == 3

        await eventually(caught_up, 180, "indices equal to the database", interval=1.0)
    finally:
        proc.stop()


async def test_kill_9_during_the_initial_full_load(
    large_catalogue: None, es: AsyncElasticsearch
) -> None:
    # Early (indices being created), mid-films, and mid-persons.
    for step, (pattern, count) in enumerate(
        [(r"full rebuild: ", 1), (r"movies_v\d+: \d+ documents", 3), (r"persons_v\d+: \d+ doc", 1)]
    ):
        proc = start(f"etl-crash-full-{step}")
        await h.wait_for_log(proc, pattern, count)
        kill_9(proc)
        assert "full rebuild done" not in proc.log_text()

    await converge(es, "etl-crash-full-final")


async def test_kill_9_during_incremental_batches(
    large_catalogue: None, es: AsyncElasticsearch
) -> None:
    # Replay everything change by change, however large the backlog.
    incremental = {"ETL_REINDEX_BACKLOG": "100000000", "ETL_BATCH_SIZE": "300"}
    conn = await connect(h.TEST_DSN, 5)
    async with conn:
        await generate(conn, 3000, seed=99, chunk_size=500)
    await h.execute(
        "update content.person set full_name = full_name || ' Jr.'"
        " where id in (select id from content.person order by id limit 500)"
    )
    await h.execute(
        "delete from content.film_work where id in"
        " (select id from content.film_work order by id desc limit 300)"
    )
    (target,) = (await h.fetch("select id from content.genre order by name limit 1"))[0]
    await h.execute(
        "update content.genre_film_work set genre_id = %s where id in ("
        " select distinct on (gfw.film_work_id) gfw.id from content.genre_film_work gfw"
        " where not exists (select 1 from content.genre_film_work o"
        "   where o.film_work_id = gfw.film_work_id and o.genre_id = %s)"
        " order by gfw.film_work_id, gfw.id limit 400)",
        target,
        target,
    )
    pending = await h.pending_changes()
    assert pending > 3000

    for step, batches in enumerate((2, 5, 9)):
        proc = start(f"etl-crash-incremental-{step}", **incremental)
        await h.wait_for_log(proc, r"batch: \d+ changes", batches)
        kill_9(proc)
        remaining = await h.pending_changes()
        assert 0 < remaining < pending, "each run must make progress, and be killed mid-way"
        pending = remaining

    await converge(es, "etl-crash-incremental-final")

"""The ETL checks itself: documents lost behind its back come back without a queue row
(issue 14 §1), and `etl status` shows what the last check found."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import async_bulk, async_scan

import movies_index as indices
from movies_etl import bootstrap
from tests import etl_helpers as h
from tests.support.procs import Proc, eventually

MOVIES = indices.alias_name(indices.MOVIES, h.PREFIX)
PERSONS = indices.alias_name(indices.PERSONS, h.PREFIX)
VERIFY_INTERVAL_SECONDS = 1


@pytest_asyncio.fixture(scope="module")
async def sample(es: AsyncElasticsearch) -> AsyncIterator[None]:
    async with h.sample_catalogue(es):
        yield


@pytest.fixture(scope="module")
def etl(sample: None) -> Iterator[Proc]:
    """`etl run` as `make up` starts it, checking itself every second."""
    proc = h.etl_process(
        "etl-run-verify", "run", ETL_VERIFY_INTERVAL_SECONDS=str(VERIFY_INTERVAL_SECONDS)
    )
    # The log is appended across runs; this test counts lines of this run only.
    proc.log_path.unlink(missing_ok=True)
    proc.start()
    yield proc
    proc.stop()


async def _count(es: AsyncElasticsearch, alias: str) -> int:
    await es.indices.refresh(index=alias)
    return int((await es.count(index=alias))["count"])


async def _status() -> dict[str, object]:
    async with bootstrap.app(h.settings()) as app:
        return await app.status.report()


async def test_documents_deleted_behind_its_back_come_back(
    etl: Proc, es: AsyncElasticsearch
) -> None:
    await h.wait_for_log(etl, r"verification consistent", within=120)
    films = await h.fetch("select id::text from content.film_work order by id limit 5")
    people = await h.fetch("select id::text from content.person order by id limit 3")
    lost = [(MOVIES, fid) for (fid,) in films] + [(PERSONS, pid) for (pid,) in people]
    for alias, doc_id in lost:
        await es.delete(index=alias, id=doc_id, refresh=True)
    assert await _count(es, MOVIES) == h.FILMS - len(films)
    before = h.log_count(etl, r"verification repaired")

    async def all_back() -> bool:
        found = await es.mget(index=MOVIES, ids=[fid for (fid,) in films])
        persons = await es.mget(index=PERSONS, ids=[pid for (pid,) in people])
        return all(d["found"] for d in [*found["docs"], *persons["docs"]])

    await eventually(all_back, 30, "deleted documents back through the verifier", interval=0.2)
    await h.wait_for_log(etl, r"verification repaired", count=before + 1, within=30)
    await h.assert_indices_equal_database(es)
    status = await _status()
    last = status["last_verification"]
    assert isinstance(last, dict)
    assert last["outcome"] in ("repaired", "consistent"), last
    assert "updated_at" in last


async def test_an_index_emptied_behind_its_back_is_rebuilt(
    etl: Proc, es: AsyncElasticsearch
) -> None:
    await h.wait_for_log(etl, r"verification (consistent|repaired)", within=120)
    rebuilds = h.log_count(etl, r"full rebuild: verification")
    # What a node that died before a flush leaves: the index and alias, no documents.
    ids = [hit["_id"] async for hit in async_scan(es, index=MOVIES, _source=False)]
    await async_bulk(
        es, ({"_op_type": "delete", "_index": MOVIES, "_id": i} for i in ids), refresh=True
    )

    await h.wait_for_log(etl, r"full rebuild: verification", count=rebuilds + 1, within=60)

    async def refilled() -> bool:
        return await _count(es, MOVIES) == h.FILMS

    await eventually(refilled, 60, "the movies index refilled by a rebuild", interval=0.2)
    await h.assert_indices_equal_database(es)


async def test_etl_verify_checks_now(etl: Proc, es: AsyncElasticsearch) -> None:
    """`etl verify` beside a running `etl run`: it waits for the lock, checks, exits 0."""
    (film_id,) = (await h.fetch("select id::text from content.film_work order by id limit 1"))[0]
    await es.delete(index=MOVIES, id=film_id, refresh=True)

    h.run_etl("verify", timeout=120)

    assert (await es.get(index=MOVIES, id=film_id))["found"]
    status = await _status()
    last = status["last_verification"]
    assert isinstance(last, dict)
    assert last["outcome"] in ("repaired", "consistent"), last

"""Change capture: every committed change reaches the indices in one pass, none is lost."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest_asyncio
import redis.asyncio as aioredis
from elasticsearch import AsyncElasticsearch

import movies_index as indices
from movies_etl import bootstrap
from tests import etl_helpers as h
from tests.support.procs import Proc


async def one_pass(**overrides: object) -> int:
    async with bootstrap.app(h.settings(**overrides)) as app:
        return await app.sync.run_once()


@pytest_asyncio.fixture(scope="module", autouse=True)
async def sample(es: AsyncElasticsearch) -> AsyncIterator[None]:
    async with h.sample_catalogue(es):
        await one_pass()
        yield


async def film_docs(es: AsyncElasticsearch) -> dict[str, dict[str, object]]:
    await es.indices.refresh(index=f"{h.PREFIX}*")
    return await h.documents(es, indices.MOVIES)


async def test_renamed_person_shows_in_every_film_that_lists_them(
    es: AsyncElasticsearch,
) -> None:
    (person_id, films) = (
        await h.fetch(
            "select person_id::text, count(distinct film_work_id) from content.person_film_work"
            " group by person_id order by 2 desc, 1 limit 1"
        )
    )[0]
    assert films > 5
    await h.execute(
        "update content.person set full_name = 'Renamed Person' where id = %s", person_id
    )

    assert await one_pass() == 1

    docs = await film_docs(es)
    showing = [
        d
        for d in docs.values()
        for role in ("actors", "writers", "directors")
        for p in d[role]  # type: ignore[attr-defined]
        if p["id"] == person_id
    ]
    assert len({d["id"] for d in showing}) == films
    assert all(
        p["full_name"] == "Renamed Person"
        for d in showing
        for role in ("actors", "writers", "directors")
        for p in d[role]  # type: ignore[attr-defined]
        if p["id"] == person_id
    )
    await h.assert_indices_equal_database(es)


async def test_deleted_film_disappears_everywhere(es: AsyncElasticsearch) -> None:
    film_id, _title = (
        await h.fetch(
            "select fw.id::text, fw.title from content.film_work fw"
            " where exists (select 1 from content.person_film_work where film_work_id = fw.id)"
            " and exists (select 1 from content.genre_film_work where film_work_id = fw.id)"
            " order by fw.title limit 1"
        )
    )[0]
    await h.execute("delete from content.film_work where id = %s", film_id)

    await one_pass()

    assert film_id not in await film_docs(es)
    persons = await h.documents(es, indices.PERSONS)
    assert not [p for p in persons.values() if film_id in {f["id"] for f in p["films"]}]
    await h.assert_indices_equal_database(es)


async def test_relinked_genre_updates_both_films(es: AsyncElasticsearch) -> None:
    link_id, genre_id, old_film = (
        await h.fetch(
            "select id::text, genre_id::text, film_work_id::text from content.genre_film_work"
            " order by id limit 1"
        )
    )[0]
    (new_film,) = (
        await h.fetch(
            "select id::text from content.film_work fw where not exists (select 1 from"
            " content.genre_film_work where film_work_id = fw.id and genre_id = %s)"
            " order by id limit 1",
            genre_id,
        )
    )[0]
    await h.execute(
        "update content.genre_film_work set film_work_id = %s where id = %s", new_film, link_id
    )

    await one_pass()

    docs = await film_docs(es)
    assert genre_id not in {g["id"] for g in docs[old_film]["genres"]}  # type: ignore[attr-defined]
    assert genre_id in {g["id"] for g in docs[new_film]["genres"]}  # type: ignore[attr-defined]
    await h.assert_indices_equal_database(es)


async def test_renamed_and_deleted_genre(es: AsyncElasticsearch) -> None:
    renamed, deleted = (
        row[0] for row in await h.fetch("select id::text from content.genre order by name limit 2")
    )
    await h.execute("update content.genre set name = 'Renamed Genre' where id = %s", renamed)
    await h.execute("delete from content.genre where id = %s", deleted)

    await one_pass()

    genres = await h.documents(es, indices.GENRES)
    assert genres[renamed]["name"] == "Renamed Genre"
    assert deleted not in genres
    await h.assert_indices_equal_database(es)


async def test_deleted_person_and_new_film_with_links(es: AsyncElasticsearch) -> None:
    (person_id,) = (await h.fetch("select id::text from content.person order by id limit 1"))[0]
    film_id, link_id = str(uuid.uuid4()), str(uuid.uuid4())
    async with h.db() as conn, conn.transaction():
        await conn.execute("delete from content.person where id = %s", (person_id,))
        await conn.execute(
            "insert into content.film_work (id, title, rating, type) values (%s, %s, 7.1, 'movie')",
            (film_id, "A Film Added Later"),
        )
        await conn.execute(
            "insert into content.person_film_work (id, person_id, film_work_id, role)"
            " select %s, id, %s, 'director' from content.person order by id desc limit 1",
            (link_id, film_id),
        )

    await one_pass()

    assert person_id not in await h.documents(es, indices.PERSONS)
    assert (await film_docs(es))[film_id]["title"] == "A Film Added Later"
    await h.assert_indices_equal_database(es)


async def test_late_commit_is_not_lost(es: AsyncElasticsearch) -> None:
    """A transaction that began before a pass and commits after it is picked up next."""
    (person_id,) = (await h.fetch("select id::text from content.person order by id limit 1"))[0]
    (film_id,) = (await h.fetch("select id::text from content.film_work order by id limit 1"))[0]
    async with h.db() as slow:
        await slow.execute("begin")
        # Takes its queue sequence number now, before the change below...
        await slow.execute(
            "update content.person set full_name = 'Late Committer' where id = %s", (person_id,)
        )
        # ...which commits first, with a higher sequence number, and is processed.
        await h.execute("update content.film_work set title = 'Early Bird' where id = %s", film_id)
        await one_pass()
        assert (await film_docs(es))[film_id]["title"] == "Early Bird"
        await slow.execute("commit")

    await one_pass()

    assert (await h.documents(es, indices.PERSONS))[person_id]["full_name"] == "Late Committer"
    await h.assert_indices_equal_database(es)


async def test_commit_during_a_rebuild_is_not_lost(es: AsyncElasticsearch) -> None:
    """The rebuild's snapshot cannot see an uncommitted change: its queue row must survive."""
    (person_id,) = (await h.fetch("select id::text from content.person order by id limit 1"))[0]
    async with h.db() as slow:
        await slow.execute("begin")
        await slow.execute(
            "update content.person set full_name = 'Committed Mid-Rebuild' where id = %s",
            (person_id,),
        )
        async with bootstrap.app(h.settings()) as app:
            await app.rebuild.reindex()
        await slow.execute("commit")

    assert await h.pending_changes() >= 1
    await one_pass()

    assert (await h.documents(es, indices.PERSONS))[person_id]["full_name"] == (
        "Committed Mid-Rebuild"
    )
    await h.assert_indices_equal_database(es)


async def test_truncate_triggers_a_full_rebuild(es: AsyncElasticsearch) -> None:
    before = await h.documents(es, indices.MOVIES)
    assert any(d["actors"] for d in before.values())
    await h.execute("truncate content.person_film_work")

    await one_pass()

    assert not any(d["actors"] for d in (await film_docs(es)).values())
    await h.assert_indices_equal_database(es)


async def test_each_batch_signals_the_api_cache(
    es: AsyncElasticsearch, test_redis: Proc, redis_client: aioredis.Redis
) -> None:
    url = f"redis://127.0.0.1:{test_redis.port}/0"  # type: ignore[attr-defined]
    await redis_client.delete(h.VERSION_KEY)
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(h.CHANNEL)
    await pubsub.get_message(timeout=1)  # the subscription confirmation
    (film_id,) = (await h.fetch("select id::text from content.film_work order by id limit 1"))[0]

    await h.execute("update content.film_work set title = 'Signalled' where id = %s", film_id)
    await one_pass(redis_url=url)

    version = await redis_client.get(h.VERSION_KEY)
    # Versions only grow, from the clock: a deleted key starts at microseconds since 1970.
    assert version is not None
    assert int(version) > 1_700_000_000 * 10**6
    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
    assert message is not None
    assert message["data"] == version
    await pubsub.unsubscribe(h.CHANNEL)
    await pubsub.aclose()  # type: ignore[no-untyped-call]


async def test_redis_down_does_not_stop_the_etl(es: AsyncElasticsearch) -> None:
    (film_id,) = (await h.fetch("select id::text from content.film_work order by id limit 1"))[0]
    await h.execute("update content.film_work set title = 'No Redis' where id = %s", film_id)

    await asyncio.wait_for(one_pass(redis_url="redis://127.0.0.1:1/0"), 30)

    assert (await film_docs(es))[film_id]["title"] == "No Redis"


async def test_an_update_no_film_shows_rewrites_no_film(es: AsyncElasticsearch) -> None:
    """A genre's description is not in film documents: its films are left alone."""
    (genre_id,) = (
        await h.fetch(
            "select genre_id::text from content.genre_film_work"
            " group by genre_id order by count(*) desc limit 1"
        )
    )[0]
    await h.execute(
        "update content.genre set description = 'Stories of conflict.' where id = %s", genre_id
    )

    await one_pass()

    (state,) = (await h.fetch("select value from content.etl_state where key = 'last_batch'"))[0]
    assert (state["films"], state["genres"]) == (0, 1)
    genres = await h.documents(es, indices.GENRES)
    assert genres[genre_id]["description"] == "Stories of conflict."

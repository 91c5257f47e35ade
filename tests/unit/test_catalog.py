"""The service layer with in-memory fakes: caching, versioning, error mapping."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from content_api.adapters.search import Hits
from content_api.domain.errors import NotFoundError
from content_api.domain.models import FilmSort, Page, PageLimits
from content_api.service_layer.catalog import CatalogService
from movies.v1 import film_service_pb2, person_service_pb2

# The fakes hand back whatever a test stored, shaped or not.
Doc = Any

FILM_ID = "3d825f60-9fff-4dfe-b294-1a45fa1e115d"


class FakeSearch:
    def __init__(self) -> None:
        self.films: dict[str, Doc] = {}
        self.persons: dict[str, Doc] = {}
        self.calls = 0

    async def get_film(self, film_id: str) -> Doc | None:
        self.calls += 1
        return self.films.get(film_id)

    async def list_films(self, sort: FilmSort, genre_id: str | None, page: Page) -> Hits[Any]:
        self.calls += 1
        docs = list(self.films.values())
        return Hits(len(docs), docs[page.offset : page.offset + page.size])

    async def search_films(self, query: str, page: Page) -> Hits[Any]:
        return Hits(0, [])

    async def get_genre(self, genre_id: str) -> Doc | None:
        return None

    async def list_genres(self, page: Page) -> Hits[Any]:
        return Hits(0, [])

    async def get_person(self, person_id: str) -> Doc | None:
        return self.persons.get(person_id)

    async def search_persons(self, query: str, page: Page) -> Hits[Any]:
        return Hits(0, [])

    async def list_person_films(self, person_id: str, page: Page) -> Hits[Any]:
        return Hits(0, [])


class FakeCache:
    def __init__(self, version: str | None = "1") -> None:
        self.data: dict[str, bytes] = {}
        self.current: str | None = version

    def version(self) -> str | None:
        return self.current

    async def get(self, key: str) -> bytes | None:
        return self.data.get(key)

    async def set(self, key: str, value: bytes) -> None:
        self.data[key] = value


def make(cache: FakeCache | None = None) -> tuple[CatalogService, FakeSearch, FakeCache]:
    search, cache = FakeSearch(), cache or FakeCache()
    service = CatalogService(search, cache, PageLimits(50, 100, 10_000), 256, "t")
    return service, search, cache


def film_doc(title: str = "A New Hope", rating: float | None = 8.6) -> Doc:
    return {
        "id": FILM_ID,
        "title": title,
        "imdb_rating": rating,
        "description": None,
        "genres": [],
        "actors": [{"id": "p", "full_name": "Mark Hamill"}],
        "writers": [],
        "directors": [],
    }


async def test_get_film_is_cached_until_the_version_changes() -> None:
    service, search, cache = make()
    search.films[FILM_ID] = film_doc()
    first = film_service_pb2.Film.FromString(await service.get_film(FILM_ID))
    assert first.title == "A New Hope"
    search.films[FILM_ID] = film_doc(title="Renamed")
    assert film_service_pb2.Film.FromString(await service.get_film(FILM_ID)).title == "A New Hope"
    assert search.calls == 1
    cache.current = "2"
    assert film_service_pb2.Film.FromString(await service.get_film(FILM_ID)).title == "Renamed"


async def test_no_version_means_no_cache() -> None:
    service, search, cache = make(FakeCache(version=None))
    search.films[FILM_ID] = film_doc()
    await service.get_film(FILM_ID)
    await service.get_film(FILM_ID)
    assert search.calls == 2
    assert cache.data == {}


async def test_missing_rating_and_description_are_absent() -> None:
    service, search, _ = make()
    search.films[FILM_ID] = film_doc(rating=None)
    film = film_service_pb2.Film.FromString(await service.get_film(FILM_ID))
    assert not film.HasField("imdb_rating")
    assert not film.HasField("description")
    assert [p.full_name for p in film.actors] == ["Mark Hamill"]


async def test_unknown_film_is_not_found_and_not_cached() -> None:
    service, _, cache = make()
    with pytest.raises(NotFoundError, match="not found"):
        await service.get_film(FILM_ID)
    assert cache.data == {}


async def test_person_films_of_unknown_person_is_not_found() -> None:
    service, _, _ = make()
    with pytest.raises(NotFoundError):
        await service.list_person_films(FILM_ID, None, None)


async def test_list_reports_paging() -> None:
    service, search, _ = make()
    search.films[FILM_ID] = film_doc()
    resp = film_service_pb2.ListFilmsResponse.FromString(await service.list_films("", "", 1, 10))
    assert (resp.total, resp.page_number, resp.page_size) == (1, 1, 10)
    assert resp.films[0].imdb_rating == pytest.approx(8.6)


async def test_person_roles_are_kept() -> None:
    service, search, _ = make()
    search.persons[FILM_ID] = {
        "id": FILM_ID,
        "full_name": "George Lucas",
        "films": [{"id": "f", "title": "T", "roles": ["director", "writer"]}],
    }
    person = person_service_pb2.Person.FromString(await service.get_person(FILM_ID))
    assert list(person.films[0].roles) == ["director", "writer"]


class GatedSearch(FakeSearch):
    """A search engine that says when a call arrives and answers only when the
    test opens the gate.

    The flight's build runs after every caller created before it has taken its
    first step (asyncio runs ready tasks in order), so once a call has arrived
    here, all those callers wait on the flight or have started their own.
    """

    def __init__(self) -> None:
        super().__init__()
        self.arrived = asyncio.Event()
        self.gate = asyncio.Event()

    async def get_film(self, film_id: str) -> Doc | None:
        self.calls += 1
        self.arrived.set()
        await self.gate.wait()
        return self.films.get(film_id)


def gated(cache: FakeCache | None = None) -> tuple[CatalogService, GatedSearch, FakeCache]:
    search, cache = GatedSearch(), cache or FakeCache()
    return CatalogService(search, cache, PageLimits(50, 100, 10_000), 256, "t"), search, cache


@pytest.mark.parametrize("version", ["1", None])
async def test_concurrent_misses_share_one_search(version: str | None) -> None:
    service, search, _ = gated(FakeCache(version))
    search.films[FILM_ID] = film_doc()
    calls = [asyncio.ensure_future(service.get_film(FILM_ID)) for _ in range(20)]
    await search.arrived.wait()
    search.gate.set()
    answers = await asyncio.gather(*calls)
    assert search.calls == 1
    assert len(set(answers)) == 1
    assert film_service_pb2.Film.FromString(answers[0]).title == "A New Hope"
    # Once the flight has landed, the next miss searches again (no stale sharing).
    if version is None:
        await service.get_film(FILM_ID)
        assert search.calls == 2


async def test_a_shared_failure_reaches_every_caller_and_is_not_kept() -> None:
    service, search, cache = gated()
    calls = [asyncio.ensure_future(service.get_film(FILM_ID)) for _ in range(5)]
    await search.arrived.wait()
    search.gate.set()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(r, NotFoundError) for r in results)
    assert search.calls == 1
    search.films[FILM_ID] = film_doc()
    assert film_service_pb2.Film.FromString(await service.get_film(FILM_ID)).title
    assert search.calls == 2
    assert len(cache.data) == 1


async def test_a_caller_that_gives_up_does_not_cancel_the_others() -> None:
    service, search, _ = gated()
    search.films[FILM_ID] = film_doc()
    impatient = asyncio.ensure_future(service.get_film(FILM_ID))
    patient = asyncio.ensure_future(service.get_film(FILM_ID))
    await search.arrived.wait()
    impatient.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await impatient
    search.gate.set()
    assert film_service_pb2.Film.FromString(await patient).title == "A New Hope"
    assert impatient.cancelled()
    assert search.calls == 1

"""The catalogue use cases: validate, read through the cache, shape responses.

Responses leave this layer as serialized protobuf bytes. A cache hit is then
served without parsing or re-encoding anything: the bytes from Redis are the
bytes that go on the wire.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from google.protobuf.message import Message

from content_api.adapters.cache import CachePort
from content_api.adapters.search import Hits, SearchPort
from content_api.domain.errors import NotFoundError
from content_api.domain.models import FilmSort, Page, PageLimits, parse_query, parse_uuid
from movies.v1 import common_pb2, film_service_pb2, genre_service_pb2, person_service_pb2
from movies_index import ROLE_LISTS, FilmDocument, FilmSummary, GenreDocument, PersonDocument

D = TypeVar("D")


class CatalogService:
    """One method per RPC; each returns the serialized response message."""

    def __init__(
        self,
        search: SearchPort,
        cache: CachePort,
        limits: PageLimits,
        max_query_length: int,
        key_prefix: str,
    ) -> None:
        self._search = search
        self._cache = cache
        self._limits = limits
        self._max_query = max_query_length
        self._prefix = key_prefix
        # One build per key at a time: callers that miss while it runs await it.
        self._inflight: dict[str, asyncio.Future[bytes]] = {}

    async def get_film(self, film_id: str) -> bytes:
        fid = parse_uuid(film_id, "film_id")

        async def build() -> Message:
            return film_from_doc(found(await self._search.get_film(fid), "film", fid))

        return await self._cached(("film", fid), build)

    async def list_films(
        self, sort: str, genre_id: str, page_number: int | None, page_size: int | None
    ) -> bytes:
        order = FilmSort.parse(sort)
        gid = parse_uuid(genre_id, "genre_id") if genre_id else None
        page = self._limits.parse(page_number, page_size)

        async def build() -> Message:
            hits = await self._search.list_films(order, gid, page)
            return film_service_pb2.ListFilmsResponse(
                films=summaries(hits),
                **paging(hits, page),
            )

        return await self._cached(("films", order.value, gid or "", page.number, page.size), build)

    async def search_films(
        self, query: str, page_number: int | None, page_size: int | None
    ) -> bytes:
        text = parse_query(query, self._max_query)
        page = self._limits.parse(page_number, page_size)

        async def build() -> Message:
            hits = await self._search.search_films(text, page)
            return film_service_pb2.SearchFilmsResponse(
                films=summaries(hits),
                **paging(hits, page),
            )

        return await self._cached(("film_search", text, page.number, page.size), build)

    async def get_genre(self, genre_id: str) -> bytes:
        gid = parse_uuid(genre_id, "genre_id")

        async def build() -> Message:
            return genre_from_doc(found(await self._search.get_genre(gid), "genre", gid))

        return await self._cached(("genre", gid), build)

    async def list_genres(self, page_number: int | None, page_size: int | None) -> bytes:
        page = self._limits.parse(page_number, page_size)

        async def build() -> Message:
            hits = await self._search.list_genres(page)
            return genre_service_pb2.ListGenresResponse(
                genres=[genre_from_doc(d) for d in hits.docs],
                **paging(hits, page),
            )

        return await self._cached(("genres", page.number, page.size), build)

    async def get_person(self, person_id: str) -> bytes:
        pid = parse_uuid(person_id, "person_id")

        async def build() -> Message:
            return person_from_doc(found(await self._search.get_person(pid), "person", pid))

        return await self._cached(("person", pid), build)

    async def search_persons(
        self, query: str, page_number: int | None, page_size: int | None
    ) -> bytes:
        text = parse_query(query, self._max_query)
        page = self._limits.parse(page_number, page_size)

        async def build() -> Message:
            hits = await self._search.search_persons(text, page)
            return person_service_pb2.SearchPersonsResponse(
                persons=[person_from_doc(d) for d in hits.docs],
                **paging(hits, page),
            )

        return await self._cached(("person_search", text, page.number, page.size), build)

    async def list_person_films(
        self, person_id: str, page_number: int | None, page_size: int | None
    ) -> bytes:
        pid = parse_uuid(person_id, "person_id")
        page = self._limits.parse(page_number, page_size)

        async def build() -> Message:
            person = found(await self._search.get_person(pid), "person", pid)
            roles = {f["id"]: f.get("roles") or [] for f in person.get("films") or []}
            hits = await self._search.list_person_films(pid, page)
            return person_service_pb2.ListPersonFilmsResponse(
                films=[
                    person_service_pb2.PersonFilmSummary(
                        uuid=d["id"],
                        title=d["title"],
                        imdb_rating=d.get("imdb_rating"),
                        roles=roles.get(d["id"], []),
                    )
                    for d in hits.docs
                ],
                **paging(hits, page),
            )

        return await self._cached(("person_films", pid, page.number, page.size), build)

    async def _cached(
        self, parts: tuple[Any, ...], build: Callable[[], Awaitable[Message]]
    ) -> bytes:
        """Cache, then a single flight per key, then the search engine.

        A version bump (every ETL batch) or an edge-cache expiry sends many
        concurrent requests for the same key at once; without the single flight
        each of them would query Elasticsearch, and the slowest would time out.
        """
        # The version is read before the search so an entry is never stored
        # under a version newer than the data it was built from.
        version = self._cache.version()
        tail = ":".join(map(str, parts))
        key = f"{self._prefix}:{version}:{tail}" if version is not None else None
        flight_key = key or f"{self._prefix}:-:{tail}"
        flight = self._inflight.get(flight_key)
        if flight is None:
            if key is not None and (hit := await self._cache.get(key)) is not None:
                return hit
            # Another caller may have started the build while we asked the cache.
            flight = self._inflight.get(flight_key) or self._start(flight_key, key, build)
        # Shielded: a caller that gives up (deadline, disconnect) leaves the
        # build running for the others.
        return await asyncio.shield(flight)

    def _start(
        self, flight_key: str, key: str | None, build: Callable[[], Awaitable[Message]]
    ) -> asyncio.Future[bytes]:
        async def fill() -> bytes:
            payload = (await build()).SerializeToString()
            if key is not None:
                await self._cache.set(key, payload)
            return payload

        flight = asyncio.ensure_future(fill())
        self._inflight[flight_key] = flight

        def done(f: asyncio.Future[bytes]) -> None:
            if self._inflight.get(flight_key) is f:
                del self._inflight[flight_key]
            if not f.cancelled():
                f.exception()  # retrieved here, so no waiter-less warning is logged

        flight.add_done_callback(done)
        return flight


def found(doc: D | None, kind: str, ident: str) -> D:
    """The document, or NOT_FOUND naming what was looked for."""
    if doc is None:
        raise NotFoundError(f"{kind} {ident} not found", f"{kind.upper()}_NOT_FOUND")
    return doc


def paging(hits: Hits[Any], page: Page) -> dict[str, int]:
    """The paging fields every list response carries."""
    return {"total": hits.total, "page_number": page.number, "page_size": page.size}


def summaries(hits: Hits[FilmSummary]) -> list[common_pb2.FilmSummary]:
    return [
        common_pb2.FilmSummary(uuid=d["id"], title=d["title"], imdb_rating=d.get("imdb_rating"))
        for d in hits.docs
    ]


def film_from_doc(doc: FilmDocument) -> film_service_pb2.Film:
    people = {
        field: [
            film_service_pb2.FilmPerson(uuid=p["id"], full_name=p["full_name"])
            for p in doc.get(field) or []
        ]
        for field in ROLE_LISTS.values()
    }
    return film_service_pb2.Film(
        uuid=doc["id"],
        title=doc["title"],
        imdb_rating=doc.get("imdb_rating"),
        description=doc.get("description") or None,
        genres=[
            film_service_pb2.FilmGenre(uuid=g["id"], name=g["name"])
            for g in doc.get("genres") or []
        ],
        **people,
    )


def genre_from_doc(doc: GenreDocument) -> genre_service_pb2.Genre:
    return genre_service_pb2.Genre(
        uuid=doc["id"],
        name=doc["name"],
        film_count=int(doc.get("film_count") or 0),
        description=doc.get("description") or None,
    )


def person_from_doc(doc: PersonDocument) -> person_service_pb2.Person:
    return person_service_pb2.Person(
        uuid=doc["id"],
        full_name=doc["full_name"],
        films=[
            person_service_pb2.PersonFilm(
                uuid=f["id"], title=f["title"], roles=f.get("roles") or []
            )
            for f in doc.get("films") or []
        ],
    )

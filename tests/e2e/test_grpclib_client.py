"""The grpclib client other Python services use, against the real server."""

from __future__ import annotations

import time
import uuid

import pytest
from grpclib.const import Status
from grpclib.events import RecvTrailingMetadata, SendRequest, listen

from movies_client import InvalidArgumentError, MoviesClient, NotFoundError, UnavailableError
from tests.support import catalog as c
from tests.support.servers import ApiServer
from tests.support.tcp_proxy import TcpProxy


@pytest.fixture
def client(api: ApiServer) -> MoviesClient:
    return MoviesClient("127.0.0.1", api.port, timeout=3.0, attempts=4, backoff_initial=0.2)


async def test_reads_every_service(client: MoviesClient) -> None:
    async with client:
        film = await client.get_film(c.F_NEW_HOPE)
        assert film.title.startswith("Star Wars")
        films = await client.list_films(genre_id=c.G_ACTION, page_size=1)
        assert (films.total, len(films.films)) == (2, 1)
        assert (await client.search_films("solaris")).total == 0  # Cyrillic title only
        assert (await client.get_genre(c.G_DRAMA)).film_count == 3
        assert (await client.list_genres()).total == 5
        assert (await client.get_person(c.P_HAMILL)).full_name == "Mark Hamill"
        assert (await client.search_persons("harrison")).persons[0].uuid == c.P_FORD
        assert (await client.list_person_films(c.P_TARKOVSKY)).films[0].uuid == c.F_SOLARIS


async def test_errors_are_typed(client: MoviesClient) -> None:
    async with client:
        with pytest.raises(NotFoundError):
            await client.get_film(c.MISSING)
        with pytest.raises(InvalidArgumentError, match="page_size"):
            await client.list_films(page_size=500)


async def test_retries_unavailable_until_the_backend_is_back(
    client: MoviesClient, es_proxy: TcpProxy
) -> None:
    """The first attempt meets a lost Elasticsearch; the backend is back for the second."""
    attempts: list[Status] = []

    async def sent(_: SendRequest) -> None:
        attempts.append(Status.UNKNOWN)

    async def answered(event: RecvTrailingMetadata) -> None:
        attempts[-1] = event.status
        if event.status is Status.UNAVAILABLE:
            es_proxy.set_mode("pass")

    # The client's own channel: every attempt it makes is seen here.
    listen(client._channel, SendRequest, sent)
    listen(client._channel, RecvTrailingMetadata, answered)
    es_proxy.set_mode("down")
    try:
        async with client:
            resp = await client.search_films(f"star {uuid.uuid4().hex[:6]}")
        assert resp.page_size == 50
        assert attempts == [Status.UNAVAILABLE, Status.OK]
    finally:
        es_proxy.set_mode("pass")


async def test_gives_up_with_unavailable(api: ApiServer, es_proxy: TcpProxy) -> None:
    es_proxy.set_mode("down")
    try:
        started = time.monotonic()
        async with MoviesClient("127.0.0.1", api.port, attempts=2, backoff_initial=0.05) as cl:
            with pytest.raises(UnavailableError):
                await cl.search_films(uuid.uuid4().hex)
        assert time.monotonic() - started < 5
    finally:
        es_proxy.set_mode("pass")

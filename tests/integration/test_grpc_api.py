"""Every RPC and every error, over gRPC, against the real Elasticsearch."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from movies.v1 import (
    film_service_pb2 as fpb,
)
from movies.v1 import (
    film_service_pb2_grpc as fgrpc,
)
from movies.v1 import (
    genre_service_pb2 as gpb,
)
from movies.v1 import (
    genre_service_pb2_grpc as ggrpc,
)
from movies.v1 import (
    person_service_pb2 as ppb,
)
from movies.v1 import (
    person_service_pb2_grpc as pgrpc,
)
from tests.support import catalog as c

pytestmark = pytest.mark.usefixtures("api")


@pytest.fixture
def films(channel: grpc.aio.Channel) -> fgrpc.FilmServiceAsyncStub:
    return fgrpc.FilmServiceStub(channel)


@pytest.fixture
def genres(channel: grpc.aio.Channel) -> ggrpc.GenreServiceAsyncStub:
    return ggrpc.GenreServiceStub(channel)


@pytest.fixture
def persons(channel: grpc.aio.Channel) -> pgrpc.PersonServiceAsyncStub:
    return pgrpc.PersonServiceStub(channel)


async def expect_code(call: object, code: grpc.StatusCode, fragment: str = "") -> str:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call  # type: ignore[misc]
    assert err.value.code() == code, err.value.details()
    assert fragment in (err.value.details() or "")
    return err.value.details() or ""


async def test_reflection_lists_the_services(channel: grpc.aio.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    names = set()
    async for resp in stub.ServerReflectionInfo(iter([request])):
        names |= {s.name for s in resp.list_services_response.service}
    assert {
        "movies.v1.FilmService",
        "movies.v1.GenreService",
        "movies.v1.PersonService",
        "grpc.health.v1.Health",
    } <= names


async def test_health_is_serving(channel: grpc.aio.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    for service in ("", "movies.v1.FilmService"):
        resp = await stub.Check(health_pb2.HealthCheckRequest(service=service))
        assert resp.status == health_pb2.HealthCheckResponse.SERVING


async def test_get_film(films: fgrpc.FilmServiceAsyncStub) -> None:
    film = await films.GetFilm(fpb.GetFilmRequest(film_id=c.F_NEW_HOPE))
    assert film.title == "Star Wars: Episode IV - A New Hope"
    assert film.imdb_rating == pytest.approx(8.6)
    assert [g.name for g in film.genres] == ["Action", "Sci-Fi"]
    assert [p.full_name for p in film.actors] == ["Harrison Ford", "Mark Hamill"]
    assert [p.uuid for p in film.directors] == [c.P_LUCAS]
    assert [p.uuid for p in film.writers] == [c.P_LUCAS]


async def test_get_film_uppercase_uuid_is_the_same_film(films: fgrpc.FilmServiceAsyncStub) -> None:
    film = await films.GetFilm(fpb.GetFilmRequest(film_id=c.F_NEW_HOPE.upper()))
    assert film.uuid == c.F_NEW_HOPE


async def test_film_without_rating_has_no_rating(films: fgrpc.FilmServiceAsyncStub) -> None:
    film = await films.GetFilm(fpb.GetFilmRequest(film_id=c.F_UNRATED))
    assert not film.HasField("imdb_rating")
    assert not film.HasField("description")


async def test_get_film_errors(films: fgrpc.FilmServiceAsyncStub) -> None:
    await expect_code(
        films.GetFilm(fpb.GetFilmRequest(film_id=c.MISSING)), grpc.StatusCode.NOT_FOUND, "not found"
    )
    await expect_code(
        films.GetFilm(fpb.GetFilmRequest(film_id="42")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "film_id must be a UUID",
    )


async def test_list_films_default_is_best_rated_first_unrated_last(
    films: fgrpc.FilmServiceAsyncStub,
) -> None:
    resp = await films.ListFilms(fpb.ListFilmsRequest())
    assert resp.total == len(c.FILMS)
    assert (resp.page_number, resp.page_size) == (1, 50)
    assert [f.uuid for f in resp.films] == [
        c.F_EMPIRE,
        c.F_NEW_HOPE,
        c.F_SOLARIS,
        c.F_COMEDY,
        c.F_QUIET,
        c.F_UNRATED,
    ]
    assert not resp.films[-1].HasField("imdb_rating")


async def test_list_films_sorts(films: fgrpc.FilmServiceAsyncStub) -> None:
    asc = await films.ListFilms(fpb.ListFilmsRequest(sort="imdb_rating"))
    assert [f.uuid for f in asc.films][:2] == [c.F_QUIET, c.F_COMEDY]
    assert asc.films[-1].uuid == c.F_UNRATED
    by_title = await films.ListFilms(fpb.ListFilmsRequest(sort="title"))
    titles = [f.title for f in by_title.films]
    assert titles == sorted(titles, key=str.lower)
    assert titles[0] == "a quiet drama"  # case-insensitive: not after "Zany Stars"
    desc = await films.ListFilms(fpb.ListFilmsRequest(sort="-title"))
    assert [f.title for f in desc.films] == titles[::-1]


async def test_list_films_by_genre_and_pages(films: fgrpc.FilmServiceAsyncStub) -> None:
    resp = await films.ListFilms(fpb.ListFilmsRequest(genre_id=c.G_DRAMA, page_size=2))
    assert resp.total == 3
    assert [f.uuid for f in resp.films] == [c.F_SOLARIS, c.F_QUIET]
    page2 = await films.ListFilms(
        fpb.ListFilmsRequest(genre_id=c.G_DRAMA, page_size=2, page_number=2)
    )
    assert [f.uuid for f in page2.films] == [c.F_UNRATED]
    empty = await films.ListFilms(fpb.ListFilmsRequest(genre_id=c.MISSING))
    assert (empty.total, list(empty.films)) == (0, [])


@pytest.mark.parametrize(
    ("request_", "fragment"),
    [
        (fpb.ListFilmsRequest(sort="rating"), "sort must be one of"),
        (fpb.ListFilmsRequest(page_number=0), "page_number"),
        (fpb.ListFilmsRequest(page_size=0), "page_size"),
        (fpb.ListFilmsRequest(page_size=101), "page_size"),
        (fpb.ListFilmsRequest(page_number=201, page_size=50), "must not exceed 10000"),
        (fpb.ListFilmsRequest(genre_id="drama"), "genre_id must be a UUID"),
    ],
)
async def test_list_films_rejects(
    films: fgrpc.FilmServiceAsyncStub, request_: fpb.ListFilmsRequest, fragment: str
) -> None:
    await expect_code(films.ListFilms(request_), grpc.StatusCode.INVALID_ARGUMENT, fragment)


async def test_search_films_is_typo_tolerant(films: fgrpc.FilmServiceAsyncStub) -> None:
    resp = await films.SearchFilms(fpb.SearchFilmsRequest(query="empire strikse"))
    assert [f.uuid for f in resp.films] == [c.F_EMPIRE]
    stars = await films.SearchFilms(fpb.SearchFilmsRequest(query="star"))
    assert {f.uuid for f in stars.films} >= {c.F_NEW_HOPE, c.F_EMPIRE}


async def test_search_films_stems_english_and_russian(films: fgrpc.FilmServiceAsyncStub) -> None:
    english = await films.SearchFilms(fpb.SearchFilmsRequest(query="rescuing princesses"))
    assert [f.uuid for f in english.films] == [c.F_NEW_HOPE]
    russian = await films.SearchFilms(fpb.SearchFilmsRequest(query="станции"))
    assert [f.uuid for f in russian.films] == [c.F_SOLARIS]


@pytest.mark.parametrize(
    "query", ["title:* OR _exists_:x", '"unbalanced', "(((", "*", "a\\", 'Star" OR "x', "{]"]
)
async def test_search_syntax_is_text(films: fgrpc.FilmServiceAsyncStub, query: str) -> None:
    resp = await films.SearchFilms(fpb.SearchFilmsRequest(query=query))
    assert resp.total < len(c.FILMS)  # never widened to everything


@pytest.mark.parametrize(
    ("query", "fragment"), [("", "empty"), ("  ", "empty"), ("x" * 257, "at most 256")]
)
async def test_search_rejects(films: fgrpc.FilmServiceAsyncStub, query: str, fragment: str) -> None:
    await expect_code(
        films.SearchFilms(fpb.SearchFilmsRequest(query=query)),
        grpc.StatusCode.INVALID_ARGUMENT,
        fragment,
    )


async def test_genres(genres: ggrpc.GenreServiceAsyncStub) -> None:
    resp = await genres.ListGenres(gpb.ListGenresRequest())
    assert [g.name for g in resp.genres] == ["Action", "Comedy", "Drama", "Sci-Fi", "Western"]
    assert resp.total == 5
    counts = {g.name: g.film_count for g in resp.genres}
    assert counts == {"Action": 2, "Comedy": 1, "Drama": 3, "Sci-Fi": 3, "Western": 0}
    one = await genres.GetGenre(gpb.GetGenreRequest(genre_id=c.G_SCIFI))
    assert (one.name, one.film_count) == ("Sci-Fi", 3)
    await expect_code(
        genres.GetGenre(gpb.GetGenreRequest(genre_id=c.MISSING)), grpc.StatusCode.NOT_FOUND
    )
    await expect_code(
        genres.GetGenre(gpb.GetGenreRequest(genre_id="x")), grpc.StatusCode.INVALID_ARGUMENT
    )
    await expect_code(
        genres.ListGenres(gpb.ListGenresRequest(page_size=1000)), grpc.StatusCode.INVALID_ARGUMENT
    )


async def test_persons(persons: pgrpc.PersonServiceAsyncStub) -> None:
    found = await persons.SearchPersons(ppb.SearchPersonsRequest(query="lucsa"))
    assert [p.uuid for p in found.persons] == [c.P_LUCAS]
    lucas = found.persons[0]
    assert {f.uuid: list(f.roles) for f in lucas.films} == {
        c.F_NEW_HOPE: ["director", "writer"],
        c.F_EMPIRE: ["writer"],
    }
    one = await persons.GetPerson(ppb.GetPersonRequest(person_id=c.P_TARKOVSKY))
    assert one.full_name == "Андрей Тарковский"
    films = await persons.ListPersonFilms(ppb.ListPersonFilmsRequest(person_id=c.P_FORD))
    assert [f.uuid for f in films.films] == [c.F_EMPIRE, c.F_NEW_HOPE, c.F_COMEDY]
    assert films.total == 3
    await expect_code(
        persons.GetPerson(ppb.GetPersonRequest(person_id=c.MISSING)), grpc.StatusCode.NOT_FOUND
    )
    await expect_code(
        persons.ListPersonFilms(ppb.ListPersonFilmsRequest(person_id=c.MISSING)),
        grpc.StatusCode.NOT_FOUND,
    )
    await expect_code(
        persons.SearchPersons(ppb.SearchPersonsRequest(query="")), grpc.StatusCode.INVALID_ARGUMENT
    )

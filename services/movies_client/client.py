"""The client itself; see the package docstring for why it exists."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar

from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from movies.v1 import film_service_pb2 as f
from movies.v1 import genre_service_pb2 as g
from movies.v1 import person_service_pb2 as p
from movies.v1.film_service_grpc import FilmServiceStub
from movies.v1.genre_service_grpc import GenreServiceStub
from movies.v1.person_service_grpc import PersonServiceStub

T = TypeVar("T")
_RETRYABLE = frozenset({Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED})


class ClientError(Exception):
    """A call failed; `status` and `message` are the server's."""

    def __init__(self, status: Status, message: str | None) -> None:
        super().__init__(f"{status.name}: {message or ''}")
        self.status = status
        self.message = message or ""


class NotFoundError(ClientError):
    """The film, genre or person does not exist."""


class InvalidArgumentError(ClientError):
    """The request was malformed; the message says what to fix."""


class UnavailableError(ClientError):
    """The catalogue stayed unavailable through every retry."""


_ERRORS: dict[Status, type[ClientError]] = {
    Status.NOT_FOUND: NotFoundError,
    Status.INVALID_ARGUMENT: InvalidArgumentError,
    Status.UNAVAILABLE: UnavailableError,
    Status.DEADLINE_EXCEEDED: UnavailableError,
}


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, GRPCError) and exc.status in _RETRYABLE


class MoviesClient:
    """One HTTP/2 connection to the content API, shared by the three services."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 50051,
        *,
        timeout: float = 2.0,
        attempts: int = 3,
        backoff_initial: float = 0.1,
        backoff_max: float = 1.0,
    ) -> None:
        self._channel = Channel(host, port)
        self._films = FilmServiceStub(self._channel)
        self._genres = GenreServiceStub(self._channel)
        self._persons = PersonServiceStub(self._channel)
        self._timeout = timeout
        self._attempts = attempts
        self._backoff = (backoff_initial, backoff_max)

    async def __aenter__(self) -> MoviesClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    async def get_film(self, film_id: str) -> f.Film:
        return await self._call(self._films.GetFilm, f.GetFilmRequest(film_id=film_id))

    async def list_films(
        self,
        *,
        sort: str = "",
        genre_id: str = "",
        page_number: int | None = None,
        page_size: int | None = None,
    ) -> f.ListFilmsResponse:
        request = f.ListFilmsRequest(
            sort=sort, genre_id=genre_id, page_number=page_number, page_size=page_size
        )
        return await self._call(self._films.ListFilms, request)

    async def search_films(
        self, query: str, *, page_number: int | None = None, page_size: int | None = None
    ) -> f.SearchFilmsResponse:
        request = f.SearchFilmsRequest(query=query, page_number=page_number, page_size=page_size)
        return await self._call(self._films.SearchFilms, request)

    async def get_genre(self, genre_id: str) -> g.Genre:
        return await self._call(self._genres.GetGenre, g.GetGenreRequest(genre_id=genre_id))

    async def list_genres(
        self, *, page_number: int | None = None, page_size: int | None = None
    ) -> g.ListGenresResponse:
        request = g.ListGenresRequest(page_number=page_number, page_size=page_size)
        return await self._call(self._genres.ListGenres, request)

    async def get_person(self, person_id: str) -> p.Person:
        return await self._call(self._persons.GetPerson, p.GetPersonRequest(person_id=person_id))

    async def search_persons(
        self, query: str, *, page_number: int | None = None, page_size: int | None = None
    ) -> p.SearchPersonsResponse:
        request = p.SearchPersonsRequest(query=query, page_number=page_number, page_size=page_size)
        return await self._call(self._persons.SearchPersons, request)

    async def list_person_films(
        self, person_id: str, *, page_number: int | None = None, page_size: int | None = None
    ) -> p.ListPersonFilmsResponse:
        request = p.ListPersonFilmsRequest(
            person_id=person_id, page_number=page_number, page_size=page_size
        )
        return await self._call(self._persons.ListPersonFilms, request)

    async def _call(self, method: Callable[..., Awaitable[T]], request: Any) -> T:
        """Each attempt gets the full deadline; only transient statuses are retried."""
        retrying = AsyncRetrying(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential_jitter(multiplier=self._backoff[0], max=self._backoff[1]),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await method(request, timeout=self._timeout)
        except GRPCError as exc:
            raise _ERRORS.get(exc.status, ClientError)(exc.status, exc.message) from exc
        raise AssertionError("unreachable: tenacity re-raises the last error")

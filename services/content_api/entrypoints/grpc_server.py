"""gRPC entrypoint: thin handlers and the error table; movies_grpc wraps them
(request id, deadline, errors → codes) and serves health and reflection.

Handlers are registered by hand rather than through the generated servicer
base classes so that responses can be the cached bytes themselves (identity
serializer): a cache hit never re-encodes a message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

import grpc
from google.protobuf import message_factory
from google.protobuf.message import Message

from content_api.domain.errors import (
    BackendUnavailableError,
    DomainError,
    InvalidArgumentError,
    NotFoundError,
)
from content_api.service_layer.catalog import CatalogService
from movies.v1 import film_service_pb2, genre_service_pb2, person_service_pb2
from movies_grpc import Failure, RpcRunner, lenient_parser

Call = Callable[[Any], Awaitable[bytes]]
Handler = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[bytes]]

_STATUS: Final[dict[type[BaseException], grpc.StatusCode]] = {
    InvalidArgumentError: grpc.StatusCode.INVALID_ARGUMENT,
    NotFoundError: grpc.StatusCode.NOT_FOUND,
    BackendUnavailableError: grpc.StatusCode.UNAVAILABLE,
}

ERROR_DOMAIN: Final = "movies.v1"
_TIMEOUT: Final = Failure(
    grpc.StatusCode.UNAVAILABLE,
    "the catalogue did not answer in time; retry later",
    "BACKEND_TIMEOUT",
)


def rpc_runner(deadline_seconds: float) -> RpcRunner:
    """Request id, deadline, domain error → the code of its nearest mapped class."""
    return RpcRunner(
        deadline_seconds=deadline_seconds,
        error_domain=ERROR_DOMAIN,
        domain_error=DomainError,
        statuses=_STATUS,
        on_timeout=_TIMEOUT,
    )


SERVICES = (
    film_service_pb2.DESCRIPTOR.services_by_name["FilmService"],
    genre_service_pb2.DESCRIPTOR.services_by_name["GenreService"],
    person_service_pb2.DESCRIPTOR.services_by_name["PersonService"],
)
SERVICE_NAMES = tuple(s.full_name for s in SERVICES)


def _opt(msg: Message, field: str) -> int | None:
    """proto3 `optional`: None when the client did not send the field."""
    return getattr(msg, field) if msg.HasField(field) else None


def _unary(handler: Handler, request_type: type[Message]) -> grpc.RpcMethodHandler[Any, Any]:
    return grpc.unary_unary_rpc_method_handler(
        handler,
        request_deserializer=lenient_parser(request_type),
        response_serializer=bytes,
    )


def _request_only(call: Call) -> Handler:
    """The catalogue's calls need the request alone, not the context."""
    return lambda request, _context: call(request)


def _paging(r: Any) -> tuple[int | None, int | None]:
    return _opt(r, "page_number"), _opt(r, "page_size")


def generic_handlers(catalog: CatalogService, runner: RpcRunner) -> list[grpc.GenericRpcHandler]:
    """The three services, each method a thin call into the service layer."""
    calls: dict[str, dict[str, Call]] = {
        "FilmService": {
            "ListFilms": lambda r: catalog.list_films(r.sort, r.genre_id, *_paging(r)),
            "SearchFilms": lambda r: catalog.search_films(r.query, *_paging(r)),
            "GetFilm": lambda r: catalog.get_film(r.film_id),
        },
        "GenreService": {
            "ListGenres": lambda r: catalog.list_genres(*_paging(r)),
            "GetGenre": lambda r: catalog.get_genre(r.genre_id),
        },
        "PersonService": {
            "SearchPersons": lambda r: catalog.search_persons(r.query, *_paging(r)),
            "GetPerson": lambda r: catalog.get_person(r.person_id),
            "ListPersonFilms": lambda r: catalog.list_person_films(r.person_id, *_paging(r)),
        },
    }
    handlers = []
    for service in SERVICES:
        methods = {
            name: _unary(
                runner.wrap(name, _request_only(call)),
                message_factory.GetMessageClass(service.methods_by_name[name].input_type),
            )
            for name, call in calls[service.name].items()
        }
        if set(methods) != set(service.methods_by_name):
            raise RuntimeError(f"{service.full_name}: an RPC of the contract has no handler")
        handlers.append(grpc.method_handlers_generic_handler(service.full_name, methods))
    return handlers

"""gRPC entrypoint: thin handlers, error mapping, health and reflection.

Handlers are registered by hand rather than through the generated servicer
base classes so that responses can be the cached bytes themselves (identity
serializer): a cache hit never re-encodes a message.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError, Message
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2

from content_api.domain.errors import (
    BackendUnavailableError,
    DomainError,
    InvalidArgumentError,
    NotFoundError,
)
from content_api.service_layer.catalog import CatalogService
from movies.v1 import film_service_pb2, genre_service_pb2, person_service_pb2
from movies_logging import request_id

log = logging.getLogger(__name__)

Req = TypeVar("Req", bound=Message)
Handler = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[bytes]]

_STATUS: dict[type[DomainError], grpc.StatusCode] = {
    InvalidArgumentError: grpc.StatusCode.INVALID_ARGUMENT,
    NotFoundError: grpc.StatusCode.NOT_FOUND,
    BackendUnavailableError: grpc.StatusCode.UNAVAILABLE,
}

ERROR_DOMAIN = "movies.v1"


def status_for(error: type[DomainError]) -> grpc.StatusCode | None:
    """The code of the nearest mapped class in the error's hierarchy, so a new
    subclass (say, of NotFoundError) reaches clients with its parent's code."""
    for cls in error.__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return None


SERVICES = (
    film_service_pb2.DESCRIPTOR.services_by_name["FilmService"],
    genre_service_pb2.DESCRIPTOR.services_by_name["GenreService"],
    person_service_pb2.DESCRIPTOR.services_by_name["PersonService"],
)
SERVICE_NAMES = tuple(s.full_name for s in SERVICES)


def _opt(msg: Message, field: str) -> int | None:
    """proto3 `optional`: None when the client did not send the field."""
    return getattr(msg, field) if msg.HasField(field) else None


class UndecodableRequest:
    """What the deserializer returns for bytes that are not a valid request (in
    practice: a string parameter that is not UTF-8, which the transcoder passes
    through). Returned rather than raised: grpcio answers a raising deserializer
    with UNKNOWN naming the exception class, and logs a traceback per request."""

    __slots__ = ()


UNDECODABLE = UndecodableRequest()
BAD_ENCODING_MESSAGE = "a text parameter is not valid UTF-8; percent-encode UTF-8 text"
BAD_ENCODING_REASON = "INVALID_ENCODING"


def lenient_parser(request_type: type[Message]) -> Callable[[bytes], Message | UndecodableRequest]:
    def parse(data: bytes) -> Message | UndecodableRequest:
        try:
            return request_type.FromString(data)
        except DecodeError:
            return UNDECODABLE

    return parse


class RpcRunner:
    """Wraps every handler: request id, deadline, domain error → status code."""

    def __init__(self, deadline_seconds: float) -> None:
        self._deadline = deadline_seconds

    def wrap(self, name: str, call: Callable[[Any], Awaitable[bytes]]) -> Handler:
        async def handler(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
            rid = dict(context.invocation_metadata() or ()).get("x-request-id", "-")
            if isinstance(request, UndecodableRequest):
                log.info("rpc refused", extra={"rpc": name, "why": BAD_ENCODING_MESSAGE})
                await _abort(
                    context,
                    grpc.StatusCode.INVALID_ARGUMENT,
                    BAD_ENCODING_MESSAGE,
                    BAD_ENCODING_REASON,
                )
            token = request_id.set(str(rid))
            started = time.perf_counter()
            remaining = context.time_remaining()
            timeout = self._deadline if remaining is None else min(self._deadline, remaining)
            try:
                async with asyncio.timeout(timeout):
                    payload = await call(request)
            except DomainError as exc:
                code = status_for(type(exc))
                if code is None:
                    log.error(
                        "domain error without a status code",
                        extra={"rpc": name, "error": type(exc).__name__},
                    )
                    await _abort(context, grpc.StatusCode.INTERNAL, "internal error", "INTERNAL")
                log.info("rpc failed", extra={"rpc": name, "code": code.name, "why": exc.message})
                await _abort(context, code, exc.message, exc.reason)
            except grpc.aio.AbortError:
                raise
            except TimeoutError:
                log.warning("rpc deadline exceeded", extra={"rpc": name, "timeout_s": timeout})
                await _abort(
                    context,
                    grpc.StatusCode.UNAVAILABLE,
                    "the catalogue did not answer in time; retry later",
                    "BACKEND_TIMEOUT",
                )
            except Exception:
                log.exception("rpc crashed", extra={"rpc": name})
                await _abort(context, grpc.StatusCode.INTERNAL, "internal error", "INTERNAL")
            finally:
                request_id.reset(token)
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "rpc ok",
                    extra={"rpc": name, "ms": round((time.perf_counter() - started) * 1000, 2)},
                )
            return payload

        return handler


async def _abort(
    context: grpc.aio.ServicerContext[Any, Any], code: grpc.StatusCode, message: str, reason: str
) -> NoReturn:
    """AIP-193: a standard code, a message saying what to fix, and an ErrorInfo
    whose reason a program can branch on (the transcoder renders it as JSON)."""
    status = status_pb2.Status(code=code.value[0], message=message)
    status.details.add().Pack(error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN))
    await context.abort(
        code, message, trailing_metadata=(("grpc-status-details-bin", status.SerializeToString()),)
    )


def _unary(handler: Handler, request_type: type[Message]) -> grpc.RpcMethodHandler[Any, Any]:
    return grpc.unary_unary_rpc_method_handler(
        handler,
        request_deserializer=lenient_parser(request_type),
        response_serializer=bytes,
    )


def _paging(r: Any) -> tuple[int | None, int | None]:
    return _opt(r, "page_number"), _opt(r, "page_size")


def generic_handlers(catalog: CatalogService, runner: RpcRunner) -> list[grpc.GenericRpcHandler]:
    """The three services, each method a thin call into the service layer."""
    calls: dict[str, dict[str, Callable[[Any], Awaitable[bytes]]]] = {
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
                runner.wrap(name, call),
                message_factory.GetMessageClass(service.methods_by_name[name].input_type),
            )
            for name, call in calls[service.name].items()
        }
        if set(methods) != set(service.methods_by_name):
            raise RuntimeError(f"{service.full_name}: an RPC of the contract has no handler")
        handlers.append(grpc.method_handlers_generic_handler(service.full_name, methods))
    return handlers


# grpcio-reflection ships only v1alpha (grpc/grpc#38576); v1 is the same protocol
# under a new package (same messages, same field numbers), and current clients
# (grpcurl, Postman, grpc-java's) ask for v1 first.
REFLECTION_V1_PACKAGE = "grpc.reflection.v1"
REFLECTION_V1 = f"{REFLECTION_V1_PACKAGE}.ServerReflection"


@functools.cache
def _register_reflection_v1() -> None:
    """Adds grpc/reflection/v1/reflection.proto to the descriptor pool, copied from
    v1alpha with the package renamed, so clients can also describe the v1 service."""
    proto = descriptor_pb2.FileDescriptorProto.FromString(reflection_pb2.DESCRIPTOR.serialized_pb)
    old, new = f".{proto.package}.", f".{REFLECTION_V1_PACKAGE}."
    proto.name = "grpc/reflection/v1/reflection.proto"
    proto.package = REFLECTION_V1_PACKAGE
    proto.ClearField("options")  # v1alpha's are deprecated and name v1alpha packages
    for message in proto.message_type:
        for field in message.field:
            if field.HasField("type_name"):  # set only on message and enum fields
                field.type_name = field.type_name.replace(old, new)
    for method in (m for service in proto.service for m in service.method):
        method.input_type = method.input_type.replace(old, new)
        method.output_type = method.output_type.replace(old, new)
    descriptor_pool.Default().AddSerializedFile(proto.SerializeToString())


def add_health_and_reflection(server: grpc.aio.Server) -> health.aio.HealthServicer:
    """grpcurl and load balancers work without the proto files."""
    _register_reflection_v1()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    names = (
        *SERVICE_NAMES,
        health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
        REFLECTION_V1,
        reflection.SERVICE_NAME,
    )
    reflection.enable_server_reflection(names, server)
    v1 = reflection.aio.ReflectionServicer(names)
    info = grpc.stream_stream_rpc_method_handler(
        v1.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(REFLECTION_V1, {"ServerReflectionInfo": info}),)
    )
    return servicer


async def set_serving(servicer: health.aio.HealthServicer, serving: bool) -> None:
    status = (
        health_pb2.HealthCheckResponse.SERVING
        if serving
        else health_pb2.HealthCheckResponse.NOT_SERVING
    )
    for name in ("", *SERVICE_NAMES):
        await servicer.set(name, status)

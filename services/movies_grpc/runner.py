"""The per-RPC wrapper every service puts around its handlers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final, NoReturn, Protocol, TypeVar, cast

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import DecodeError, Message

from movies_grpc.errors import INTERNAL, Failure, Metadata, abort, nearest
from movies_logging import request_id

log = logging.getLogger(__name__)

Req = TypeVar("Req")
Resp = TypeVar("Resp")
Context = grpc.aio.ServicerContext[Any, Any]
Handler = Callable[[Req, Context], Awaitable[Resp]]


class DomainErrorLike(Protocol):
    """What a service's base domain error carries: a message safe to show that
    says what to fix, and an UPPER_SNAKE reason a program can branch on."""

    message: str
    reason: str


def _no_trailing(_: BaseException) -> Metadata:
    return ()


class UndecodableRequest:
    """What `lenient_parser` returns for bytes that are not a valid request (in
    practice: a string parameter that is not UTF-8, which the transcoder passes
    through). Returned rather than raised: grpcio answers a raising deserializer
    with UNKNOWN naming the exception class, and logs a traceback per request."""

    __slots__ = ()


UNDECODABLE: Final = UndecodableRequest()
BAD_ENCODING: Final = Failure(
    grpc.StatusCode.INVALID_ARGUMENT,
    "a text parameter is not valid UTF-8; percent-encode UTF-8 text",
    "INVALID_ENCODING",
)


def lenient_parser(request_type: type[Message]) -> Callable[[bytes], Message | UndecodableRequest]:
    """A request deserializer whose failure `RpcRunner.wrap` answers INVALID_ARGUMENT."""

    def parse(data: bytes) -> Message | UndecodableRequest:
        try:
            return request_type.FromString(data)
        except DecodeError:
            return UNDECODABLE

    return parse


class RpcRunner:
    """Wraps every handler: request id, deadline, and errors → status codes.

    A request `lenient_parser` could not decode is INVALID_ARGUMENT (BAD_ENCODING).

    Domain errors (instances of `domain_error`) get the code of their nearest
    class in `statuses` and keep their own message and reason; one under no
    mapped class is a gap in the table, answered INTERNAL without its message.
    Exceptions of `backend_errors` (a driver's connection errors) and the
    deadline get fixed answers; anything else is INTERNAL with a traceback logged.
    """

    def __init__(
        self,
        *,
        deadline_seconds: float,
        error_domain: str,
        domain_error: type[Exception],
        statuses: Mapping[type[BaseException], grpc.StatusCode],
        on_timeout: Failure,
        backend_errors: Mapping[type[BaseException], Failure] = MappingProxyType({}),
        trailing: Callable[[BaseException], Metadata] = _no_trailing,
    ) -> None:
        self._deadline = deadline_seconds
        self._domain = error_domain
        self._domain_error = domain_error
        self._statuses = statuses
        self._on_timeout = on_timeout
        self._backend_errors = backend_errors
        self._trailing = trailing

    def wrap(self, name: str, call: Handler[Req, Resp]) -> Handler[Req, Resp]:
        async def handler(request: Req, context: Context) -> Resp:
            rid = dict(context.invocation_metadata() or ()).get("x-request-id", "-")
            if isinstance(request, UndecodableRequest):
                log.info("rpc refused", extra={"rpc": name, "why": BAD_ENCODING.message})
                await self.fail(context, BAD_ENCODING)
            token = request_id.set(str(rid))
            started = time.perf_counter()
            remaining = context.time_remaining()
            timeout = self._deadline if remaining is None else min(self._deadline, remaining)
            try:
                async with asyncio.timeout(timeout):
                    response = await call(request, context)
            except grpc.aio.AbortError:
                raise
            except TimeoutError:
                log.warning("rpc deadline exceeded", extra={"rpc": name, "timeout_s": timeout})
                await self.fail(context, self._on_timeout)
            except Exception as exc:
                await self._answer(name, context, exc)
            finally:
                request_id.reset(token)
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "rpc ok",
                    extra={"rpc": name, "ms": round((time.perf_counter() - started) * 1000, 2)},
                )
            return response

        return handler

    async def fail(self, context: Context, failure: Failure, trailing: Metadata = ()) -> NoReturn:
        """Aborts the call with a fixed answer in this service's error domain."""
        await abort(
            context,
            failure.code,
            failure.message,
            failure.reason,
            domain=self._domain,
            trailing=trailing,
        )

    async def _answer(self, name: str, context: Context, exc: Exception) -> NoReturn:
        if isinstance(exc, self._domain_error):
            error = cast(DomainErrorLike, exc)
            code = nearest(type(exc), self._statuses)
            if code is None:
                log.error(
                    "domain error without a status code",
                    extra={"rpc": name, "error": type(exc).__name__},
                )
                await self.fail(context, INTERNAL)
            log.info(
                "rpc failed",
                extra={
                    "rpc": name,
                    "code": code.name,
                    "why": error.message,
                    "reason": error.reason,
                },
            )
            await self.fail(
                context, Failure(code, error.message, error.reason), self._trailing(exc)
            )
        backend = nearest(type(exc), self._backend_errors)
        if backend is not None:
            log.exception("backend unavailable", extra={"rpc": name})
            await self.fail(context, backend)
        log.exception("rpc crashed", extra={"rpc": name})
        await self.fail(context, INTERNAL)


def method_handlers(
    services: Iterable[ServiceDescriptor],
    table: Mapping[str, Mapping[str, Handler[Any, Message]]],
    runner: RpcRunner,
) -> list[grpc.GenericRpcHandler]:
    """One generic handler per service of the contract (`table[service.name]`
    maps each RPC name to its handler), every call wrapped by `runner` and read
    with `lenient_parser`. Refuses to build a server that would answer
    UNIMPLEMENTED to an RPC of its own contract."""
    handlers = []
    for service in services:
        methods: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
        for name, call in table[service.name].items():
            method = service.methods_by_name[name]
            methods[name] = grpc.unary_unary_rpc_method_handler(
                runner.wrap(name, call),
                request_deserializer=lenient_parser(
                    message_factory.GetMessageClass(method.input_type)
                ),
                response_serializer=lambda m: m.SerializeToString(),
            )
        if set(methods) != set(service.methods_by_name):
            raise RuntimeError(f"{service.full_name}: an RPC of the contract has no handler")
        handlers.append(grpc.method_handlers_generic_handler(service.full_name, methods))
    return handlers

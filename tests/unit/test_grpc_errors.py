"""movies_grpc's wrapper: errors reach clients with the status code of their class
hierarchy, an AIP-193 ErrorInfo, and nothing private."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import grpc
import psycopg
import pytest
from google.protobuf import wrappers_pb2
from google.rpc import error_details_pb2, status_pb2

from auth_service.domain.errors import AlreadyExistsError, NotFoundError, TooManyAttemptsError
from auth_service.entrypoints.grpc_server import rpc_runner as auth_runner
from movies_grpc import (
    BAD_ENCODING,
    Failure,
    RpcRunner,
    UndecodableRequest,
    lenient_parser,
    nearest,
)

DEADLINE_S = 1.0
DOMAIN = "test.v1"
TIMEOUT = Failure(grpc.StatusCode.UNAVAILABLE, "too slow; retry later", "BACKEND_TIMEOUT")
BACKEND = Failure(grpc.StatusCode.UNAVAILABLE, "the store is down", "BACKEND_UNAVAILABLE")


class DomainError(Exception):
    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.message, self.reason = message, reason


class InvalidArgumentError(DomainError):
    pass


class MissingError(DomainError):
    pass


class BackendDownError(DomainError):
    pass


class TitleTooLongError(InvalidArgumentError):
    """A subclass the table has never heard of."""


class WithdrawnError(MissingError):
    pass


class UnmappedError(DomainError):
    """A domain error under no mapped class: a gap in the table, not the caller's fault."""


class StoreDownError(ConnectionError):
    """A driver's own error, subclassing one the backend table names."""


STATUSES: dict[type[BaseException], grpc.StatusCode] = {
    InvalidArgumentError: grpc.StatusCode.INVALID_ARGUMENT,
    MissingError: grpc.StatusCode.NOT_FOUND,
    BackendDownError: grpc.StatusCode.UNAVAILABLE,
}


def runner() -> RpcRunner:
    return RpcRunner(
        deadline_seconds=DEADLINE_S,
        error_domain=DOMAIN,
        domain_error=DomainError,
        statuses=STATUSES,
        on_timeout=TIMEOUT,
        backend_errors={ConnectionError: BACKEND},
    )


class AbortedError(Exception):
    pass


class FakeContext:
    """Records what the handler aborts with, as grpc.aio's context would send it."""

    code: grpc.StatusCode
    details: str
    trailing: Sequence[tuple[str, bytes | str]]

    def invocation_metadata(self) -> tuple[()]:
        return ()

    def time_remaining(self) -> float | None:
        return None

    async def abort(
        self,
        code: grpc.StatusCode,
        details: str,
        trailing_metadata: Sequence[tuple[str, bytes | str]],
    ) -> None:
        self.code, self.details, self.trailing = code, details, trailing_metadata
        raise AbortedError

    def info(self) -> error_details_pb2.ErrorInfo:
        raw = dict(self.trailing)["grpc-status-details-bin"]
        status = status_pb2.Status.FromString(cast(bytes, raw))
        info = error_details_pb2.ErrorInfo()
        assert status.details[0].Unpack(info)
        return info

    def answer(self) -> tuple[grpc.StatusCode, str, str]:
        return self.code, self.details, str(self.info().reason)


async def answer(error: BaseException, wrapper: RpcRunner | None = None) -> FakeContext:
    async def call(_request: object, _context: object) -> bytes:
        raise error

    context = FakeContext()
    handler = (wrapper or runner()).wrap("GetFilm", call)
    with pytest.raises(AbortedError):
        await handler(object(), cast(Any, context))
    return context


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (
            InvalidArgumentError("page_size must be positive", "BAD"),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (MissingError("no such film", "NOT_FOUND"), grpc.StatusCode.NOT_FOUND),
        (BackendDownError("down", "DOWN"), grpc.StatusCode.UNAVAILABLE),
        (
            TitleTooLongError("the title is too long", "TITLE_TOO_LONG"),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (WithdrawnError("the film was withdrawn", "FILM_WITHDRAWN"), grpc.StatusCode.NOT_FOUND),
    ],
)
async def test_a_domain_error_gets_the_code_of_its_nearest_mapped_class(
    error: DomainError, code: grpc.StatusCode
) -> None:
    context = await answer(error)
    assert context.answer() == (code, error.message, error.reason)
    assert context.info().domain == DOMAIN


async def test_a_domain_error_under_no_mapped_class_is_internal_and_hides_its_message() -> None:
    context = await answer(UnmappedError("private detail of the service", "UNMAPPED"))
    assert context.answer() == (grpc.StatusCode.INTERNAL, "internal error", "INTERNAL")


async def test_a_backend_error_gets_its_fixed_answer_by_hierarchy() -> None:
    context = await answer(StoreDownError("connection refused by db:5432"))
    assert context.answer() == (BACKEND.code, BACKEND.message, BACKEND.reason)


async def test_any_other_exception_is_internal_and_hides_its_text() -> None:
    context = await answer(KeyError("secret"))
    assert context.answer() == (grpc.StatusCode.INTERNAL, "internal error", "INTERNAL")


async def test_the_deadline_gets_the_services_timeout_answer() -> None:
    context = await answer(TimeoutError())
    assert context.answer() == (TIMEOUT.code, TIMEOUT.message, TIMEOUT.reason)


def test_the_nearest_class_wins_over_a_farther_one() -> None:
    class WithdrawnWhileDownError(WithdrawnError, BackendDownError):
        pass

    assert nearest(WithdrawnWhileDownError, STATUSES) is grpc.StatusCode.NOT_FOUND
    assert nearest(UnmappedError, STATUSES) is None


class EmailTakenError(AlreadyExistsError):
    """A subclass auth's table has never heard of: before, an exact-type lookup
    raised KeyError and the client saw UNKNOWN."""

    def __init__(self) -> None:
        super().__init__("this email is registered", "EMAIL_TAKEN")


class SessionGoneError(NotFoundError):
    def __init__(self) -> None:
        super().__init__("no such session", "SESSION_NOT_FOUND")


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (EmailTakenError(), grpc.StatusCode.ALREADY_EXISTS),
        (SessionGoneError(), grpc.StatusCode.NOT_FOUND),
    ],
)
async def test_an_auth_domain_error_subclass_maps_by_hierarchy(
    error: AlreadyExistsError | NotFoundError, code: grpc.StatusCode
) -> None:
    context = await answer(error, auth_runner(DEADLINE_S))
    assert context.answer() == (code, error.message, error.reason)
    assert context.info().domain == "auth.v1"


async def test_auth_throttling_says_when_to_retry_and_a_dead_store_is_unavailable() -> None:
    class LockedOutError(TooManyAttemptsError):
        pass

    throttled = await answer(LockedOutError("too many attempts", "THROTTLED", 2.6), auth_runner(1))
    assert throttled.code is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert ("retry-after", "3") in throttled.trailing
    down = await answer(psycopg.errors.ConnectionTimeout("server at db:5432"), auth_runner(1))
    assert down.answer() == (
        grpc.StatusCode.UNAVAILABLE,
        "the account store is unavailable; retry later",
        "BACKEND_UNAVAILABLE",
    )


async def test_a_string_that_is_not_utf8_is_invalid_argument_not_unknown() -> None:
    # Field 1 (a string), one byte long: 0xFF, which no UTF-8 text contains.
    request = lenient_parser(wrappers_pb2.StringValue)(b"\x0a\x01\xff")
    assert isinstance(request, UndecodableRequest)
    assert lenient_parser(wrappers_pb2.StringValue)(b"\x0a\x01a") == wrappers_pb2.StringValue(
        value="a"
    )

    async def call(_request: object, _context: object) -> bytes:
        raise AssertionError("an undecodable request reached the handler")

    context = FakeContext()
    with pytest.raises(AbortedError):
        await runner().wrap("GetFilm", call)(request, cast(Any, context))
    assert context.answer() == (BAD_ENCODING.code, BAD_ENCODING.message, BAD_ENCODING.reason)

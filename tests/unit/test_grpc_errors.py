"""movies_grpc's wrapper: errors reach clients with the status code of their class
hierarchy, an AIP-193 ErrorInfo in the service's domain, and nothing private."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import wrappers_pb2

from movies_grpc import (
    BAD_ENCODING,
    Failure,
    RpcRunner,
    UndecodableRequest,
    lenient_parser,
    nearest,
)
from tests.support.grpc_context import aborted_with, answer

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

RUNNER = RpcRunner(
    deadline_seconds=1.0,
    error_domain=DOMAIN,
    domain_error=DomainError,
    statuses=STATUSES,
    on_timeout=TIMEOUT,
    backend_errors={ConnectionError: BACKEND},
)


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
    context = await answer(RUNNER, error)
    assert context.answer() == (code, error.message, error.reason)
    assert context.info().domain == DOMAIN


async def test_a_domain_error_under_no_mapped_class_is_internal_and_hides_its_message() -> None:
    context = await answer(RUNNER, UnmappedError("private detail of the service", "UNMAPPED"))
    assert context.answer() == (grpc.StatusCode.INTERNAL, "internal error", "INTERNAL")


async def test_a_backend_error_gets_its_fixed_answer_by_hierarchy() -> None:
    context = await answer(RUNNER, StoreDownError("connection refused by db:5432"))
    assert context.answer() == (BACKEND.code, BACKEND.message, BACKEND.reason)


async def test_any_other_exception_is_internal_and_hides_its_text() -> None:
    context = await answer(RUNNER, KeyError("secret"))
    assert context.answer() == (grpc.StatusCode.INTERNAL, "internal error", "INTERNAL")


async def test_the_deadline_gets_the_services_timeout_answer() -> None:
    context = await answer(RUNNER, TimeoutError())
    assert context.answer() == (TIMEOUT.code, TIMEOUT.message, TIMEOUT.reason)


def test_the_nearest_class_wins_over_a_farther_one() -> None:
    class WithdrawnWhileDownError(WithdrawnError, BackendDownError):
        pass

    assert nearest(WithdrawnWhileDownError, STATUSES) is grpc.StatusCode.NOT_FOUND
    assert nearest(UnmappedError, STATUSES) is None


async def test_a_string_that_is_not_utf8_is_invalid_argument_not_unknown() -> None:
    parse = lenient_parser(wrappers_pb2.StringValue)
    # Field 1 (a string), one byte long: 0xFF, which no UTF-8 text contains.
    request = parse(b"\x0a\x01\xff")
    assert isinstance(request, UndecodableRequest)
    assert parse(b"\x0a\x01a") == wrappers_pb2.StringValue(value="a")

    async def call(_request: object, _context: object) -> bytes:
        raise AssertionError("an undecodable request reached the handler")

    context = await aborted_with(RUNNER, request, call)
    assert context.answer() == (BAD_ENCODING.code, BAD_ENCODING.message, BAD_ENCODING.reason)

"""Each service's table: its domain errors, and subclasses it has never heard of,
reach clients with the status code of their class hierarchy (movies_grpc)."""

from __future__ import annotations

import asyncpg
import grpc
import pytest

from auth_service.domain.errors import AlreadyExistsError, TooManyAttemptsError
from auth_service.domain.errors import DomainError as AuthError
from auth_service.domain.errors import NotFoundError as AuthNotFoundError
from auth_service.entrypoints.grpc_server import rpc_runner as auth_runner
from content_api.domain.errors import (
    BackendUnavailableError,
    DomainError,
    InvalidArgumentError,
    NotFoundError,
)
from content_api.entrypoints.grpc_server import rpc_runner as content_runner
from tests.support.grpc_context import answer

DEADLINE_S = 1.0


class TitleTooLongError(InvalidArgumentError):
    """A subclass the mapping has never heard of."""

    def __init__(self) -> None:
        super().__init__("the title is too long", "TITLE_TOO_LONG")


class FilmWithdrawnError(NotFoundError):
    def __init__(self) -> None:
        super().__init__("the film was withdrawn", "FILM_WITHDRAWN")


class ReplicaLaggingError(BackendUnavailableError):
    pass


class UnmappedError(DomainError):
    def __init__(self) -> None:
        super().__init__("private detail of the service", "UNMAPPED")


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidArgumentError("page_size must be positive"), grpc.StatusCode.INVALID_ARGUMENT),
        (NotFoundError("no such film"), grpc.StatusCode.NOT_FOUND),
        (BackendUnavailableError(), grpc.StatusCode.UNAVAILABLE),
        (TitleTooLongError(), grpc.StatusCode.INVALID_ARGUMENT),
        (FilmWithdrawnError(), grpc.StatusCode.NOT_FOUND),
        (ReplicaLaggingError(), grpc.StatusCode.UNAVAILABLE),
    ],
)
async def test_a_content_error_gets_the_code_of_its_nearest_mapped_class(
    error: DomainError, code: grpc.StatusCode
) -> None:
    context = await answer(content_runner(DEADLINE_S), error)
    assert context.answer() == (code, error.message, error.reason)
    assert context.info().domain == "movies.v1"


async def test_a_content_error_under_no_mapped_class_is_internal() -> None:
    context = await answer(content_runner(DEADLINE_S), UnmappedError())
    assert context.answer() == (grpc.StatusCode.INTERNAL, "internal error", "INTERNAL")


async def test_the_content_deadline_is_unavailable_backend_timeout() -> None:
    context = await answer(content_runner(DEADLINE_S), TimeoutError())
    assert context.code is grpc.StatusCode.UNAVAILABLE
    assert context.info().reason == "BACKEND_TIMEOUT"


class EmailTakenError(AlreadyExistsError):
    """A subclass auth's table has never heard of: with the exact-type lookup
    auth had copied, it raised KeyError and the client saw UNKNOWN."""

    def __init__(self) -> None:
        super().__init__("this email is registered", "EMAIL_TAKEN")


class SessionGoneError(AuthNotFoundError):
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
    error: AuthError, code: grpc.StatusCode
) -> None:
    context = await answer(auth_runner(DEADLINE_S), error)
    assert context.answer() == (code, error.message, error.reason)
    assert context.info().domain == "auth.v1"


async def test_auth_throttling_says_when_to_retry_even_from_a_subclass() -> None:
    class LockedOutError(TooManyAttemptsError):
        pass

    context = await answer(
        auth_runner(DEADLINE_S), LockedOutError("too many attempts", "THROTTLED", 2.6)
    )
    assert context.code is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert ("retry-after", "3") in context.trailing


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError("connect call failed ('db', 5432)"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed mid-operation"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating connection: administrator command"),
    ],
)
async def test_auth_store_down_is_unavailable_without_the_drivers_text(error: Exception) -> None:
    context = await answer(auth_runner(DEADLINE_S), error)
    assert context.answer() == (
        grpc.StatusCode.UNAVAILABLE,
        "the account store is unavailable; retry later",
        "BACKEND_UNAVAILABLE",
    )

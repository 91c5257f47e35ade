"""Domain errors reach clients with the status code of their class hierarchy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from content_api.domain.errors import (
    BackendUnavailableError,
    DomainError,
    InvalidArgumentError,
    NotFoundError,
)
from content_api.entrypoints.grpc_server import RpcRunner, status_for

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
    """A domain error under no mapped class: a gap in the mapping, not the caller's fault."""

    def __init__(self) -> None:
        super().__init__("private detail of the service", "UNMAPPED")


class AbortedError(Exception):
    pass


class FakeContext:
    """Records what the handler aborts with, as grpc.aio's context would send it."""

    code: grpc.StatusCode
    details: str
    trailing: Sequence[tuple[str, bytes]]

    def invocation_metadata(self) -> tuple[()]:
        return ()

    def time_remaining(self) -> float | None:
        return None

    async def abort(
        self, code: grpc.StatusCode, details: str, trailing_metadata: Sequence[tuple[str, bytes]]
    ) -> None:
        self.code, self.details, self.trailing = code, details, trailing_metadata
        raise AbortedError

    def reason(self) -> str:
        status = status_pb2.Status.FromString(dict(self.trailing)["grpc-status-details-bin"])
        info = error_details_pb2.ErrorInfo()
        assert status.details[0].Unpack(info)
        return str(info.reason)


async def answer(error: DomainError) -> FakeContext:
    async def call(_: object) -> bytes:
        raise error

    context = FakeContext()
    handler = RpcRunner(DEADLINE_S).wrap("GetFilm", call)
    with pytest.raises(AbortedError):
        await handler(object(), cast(Any, context))
    return context


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
async def test_a_domain_error_gets_the_code_of_its_nearest_mapped_class(
    error: DomainError, code: grpc.StatusCode
) -> None:
    context = await answer(error)
    assert (context.code, context.details, context.reason()) == (code, error.message, error.reason)


async def test_a_domain_error_under_no_mapped_class_is_internal_and_hides_its_message() -> None:
    context = await answer(UnmappedError())
    assert (context.code, context.details, context.reason()) == (
        grpc.StatusCode.INTERNAL,
        "internal error",
        "INTERNAL",
    )


def test_the_nearest_class_wins_over_a_farther_one() -> None:
    class WithdrawnWhileLaggingError(FilmWithdrawnError, BackendUnavailableError):
        pass

    assert status_for(WithdrawnWhileLaggingError) is grpc.StatusCode.NOT_FOUND

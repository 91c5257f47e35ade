"""A stand-in for grpc.aio's servicer context that records what a wrapped
handler aborts with, so unit tests read the status a client would get."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from movies_grpc import RpcRunner


class AbortedError(Exception):
    pass


class FakeContext:
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
        """Code, message and ErrorInfo reason, as the client reads them."""
        return self.code, self.details, str(self.info().reason)


async def aborted_with(
    runner: RpcRunner,
    request: object,
    call: Callable[[Any, Any], Awaitable[Any]],
) -> FakeContext:
    context = FakeContext()
    with pytest.raises(AbortedError):
        await runner.wrap("Rpc", call)(request, cast(Any, context))
    return context


async def answer(runner: RpcRunner, error: BaseException) -> FakeContext:
    """What a client gets when the handler raises `error`."""

    async def call(_request: object, _context: object) -> bytes:
        raise error

    return await aborted_with(runner, object(), call)

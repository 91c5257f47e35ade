"""Status codes by class hierarchy, and aborting with an AIP-193 ErrorInfo."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import grpc
from google.rpc import error_details_pb2, status_pb2

V = TypeVar("V")
Metadata = tuple[tuple[str, str], ...]


def nearest(error: type[BaseException], table: Mapping[type[BaseException], V]) -> V | None:
    """The entry of the nearest class in the error's hierarchy, so a new subclass
    (say, of NotFoundError) reaches clients with its parent's code instead of
    falling through an exact-type lookup."""
    for cls in error.__mro__:
        if cls in table:
            return table[cls]
    return None


@dataclass(frozen=True)
class Failure:
    """A fixed answer for failures that carry no message of their own."""

    code: grpc.StatusCode
    message: str
    reason: str


INTERNAL = Failure(grpc.StatusCode.INTERNAL, "internal error", "INTERNAL")


async def abort(
    context: grpc.aio.ServicerContext[Any, Any],
    code: grpc.StatusCode,
    message: str,
    reason: str,
    *,
    domain: str,
    trailing: Metadata = (),
) -> NoReturn:
    """AIP-193: a standard code, a message saying what to fix, and an ErrorInfo
    whose reason a program can branch on (the transcoder renders it as JSON)."""
    status = status_pb2.Status(code=code.value[0], message=message)
    status.details.add().Pack(error_details_pb2.ErrorInfo(reason=reason, domain=domain))
    await context.abort(
        code,
        message,
        trailing_metadata=(("grpc-status-details-bin", status.SerializeToString()), *trailing),
    )

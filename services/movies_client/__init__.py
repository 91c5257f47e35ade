"""Typed async client for the content API, built on grpclib (pure asyncio).

Other Python services call the catalogue through this instead of hand-made
stubs: deadlines on every call, retries with backoff and jitter on
UNAVAILABLE/DEADLINE_EXCEEDED (every RPC is a read, so retrying is safe), and
errors as exceptions a caller can branch on.
"""

from movies_client.client import (
    ClientError,
    InvalidArgumentError,
    MoviesClient,
    NotFoundError,
    UnavailableError,
)

__all__ = [
    "ClientError",
    "InvalidArgumentError",
    "MoviesClient",
    "NotFoundError",
    "UnavailableError",
]

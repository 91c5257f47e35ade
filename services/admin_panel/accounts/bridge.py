"""One asyncio loop per process, on its own thread, for the async auth client.

Django's views here are synchronous (gunicorn threads); the project's gRPC
clients are asyncio. A loop per call would open a connection per call; this
keeps one loop and one HTTP/2 connection to the auth service per process,
created lazily so a forking server makes it in each worker."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from django.conf import settings

from movies_client.auth import AuthClient

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_client: AuthClient | None = None


def _started() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="auth-client", daemon=True).start()
            _loop = loop
        return _loop


async def _client_here() -> AuthClient:
    global _client
    if _client is None:
        _client = AuthClient(
            settings.AUTH_GRPC_HOST,
            settings.AUTH_GRPC_PORT,
            timeout=settings.AUTH_TIMEOUT_SECONDS,
        )
    return _client


def call(action: Callable[[AuthClient], Awaitable[T]]) -> T:
    """Runs `action(client)` on the loop thread and waits for its result."""

    async def run() -> T:
        return await action(await _client_here())

    future = asyncio.run_coroutine_threadsafe(run(), _started())
    # The client's own deadlines and retries bound the call; this is a backstop.
    return future.result(timeout=settings.AUTH_TIMEOUT_SECONDS * 4)

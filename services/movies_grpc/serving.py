"""The serve-until-signalled loop the platform's plain gRPC services share.

The content API keeps its own: it drains for SHUTDOWN_DRAIN_SECONDS while
still serving, which the others do not need.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Sequence

import grpc

from movies_grpc.health import add_health_and_reflection, set_serving

log = logging.getLogger(__name__)


def freeze_startup_heap() -> None:
    """Moves everything alive at start-up (modules, descriptors, pools) out of the
    garbage collector's reach. A full collection otherwise walks all of it: under
    load one ran every few seconds and stopped the event loop for 50-77 ms, with
    every call in flight waiting (docs/benchmarks.md, UGC); frozen, 4-15 ms. The
    content API calls it too, before its own serve loop starts."""
    gc.collect()
    gc.freeze()


async def serve_until_signalled(
    server: grpc.aio.Server, service_names: Sequence[str], address: str, grace_seconds: float
) -> None:
    """Adds health and reflection, serves on `address` until SIGTERM or SIGINT,
    then reports NOT_SERVING (so balancers stop sending) and lets in-flight
    calls finish within `grace_seconds`."""
    health = add_health_and_reflection(server, service_names)
    server.add_insecure_port(address)
    freeze_startup_heap()
    await server.start()
    await set_serving(health, service_names, True)
    log.info("serving", extra={"address": address})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down", extra={"grace_s": grace_seconds})
    await set_serving(health, service_names, False)
    await server.stop(grace_seconds)

"""Runs the gRPC server: uvloop; on SIGTERM/SIGINT it drains, then stops gracefully."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import grpc
import uvloop

from content_api.bootstrap import build_app
from content_api.config import Settings
from content_api.entrypoints.grpc_server import SERVICE_NAMES, generic_handlers, rpc_runner
from content_api.service_layer.readiness import Readiness
from movies_grpc import add_health_and_reflection, freeze_startup_heap, set_serving
from movies_logging import configure

log = logging.getLogger(__name__)

METADATA_LIMIT_BYTES = 64 << 10


async def serve(settings: Settings, ready: asyncio.Event | None = None) -> None:
    """Serves until SIGTERM; then reports NOT_SERVING, keeps serving for the drain
    period and lets in-flight calls finish."""
    async with build_app(settings) as app:
        server = grpc.aio.server(
            maximum_concurrent_rpcs=settings.grpc_max_concurrent_rpcs,
            options=[
                ("grpc.so_reuseport", 0),
                ("grpc.max_receive_message_length", 1 << 20),
                # Above anything the edge lets through (ENVOY_MAX_REQUEST_HEADERS_KB,
                # plus the transcoder's copy of the original path): the edge answers
                # oversized headers with 431; this limit would answer 429.
                ("grpc.max_metadata_size", METADATA_LIMIT_BYTES),
                ("grpc.absolute_max_metadata_size", METADATA_LIMIT_BYTES),
            ],
        )
        runner = rpc_runner(settings.request_deadline_seconds)
        server.add_generic_rpc_handlers(generic_handlers(app.catalog, runner))
        health = add_health_and_reflection(server, SERVICE_NAMES)
        address = f"{settings.grpc_host}:{settings.grpc_port}"
        server.add_insecure_port(address)
        # Under cold reads full collections stopped the loop for 48-66 ms; frozen, 3 ms.
        freeze_startup_heap()
        await server.start()
        readiness = Readiness(
            app.search,
            lambda serving: set_serving(health, SERVICE_NAMES, serving),
            settings.catalogue_check_interval_seconds,
        )
        # SERVING unless the catalogue was emptied behind the ETL's back (or, with
        # Elasticsearch unreachable for now, SERVING: requests say UNAVAILABLE).
        if await readiness.check() is None:
            await set_serving(health, SERVICE_NAMES, True)
        probing = asyncio.create_task(readiness.run(), name="catalogue-readiness")
        log.info("serving", extra={"address": address})
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if ready is not None:
            ready.set()
        await stop.wait()
        probing.cancel()  # so it cannot report SERVING again during the drain
        log.info(
            "draining",
            extra={
                "drain_s": settings.shutdown_drain_seconds,
                "grace_s": settings.shutdown_grace_seconds,
            },
        )
        await set_serving(health, SERVICE_NAMES, False)
        # Still serving while Envoy's health check notices NOT_SERVING and sends
        # elsewhere; stopping at once would end the calls already routed here
        # (499s at the edge). A second signal skips the rest of the drain.
        stop.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.shutdown_drain_seconds)
        log.info("shutting down", extra={"grace_s": settings.shutdown_grace_seconds})
        await server.stop(settings.shutdown_grace_seconds)


def main() -> None:
    settings = Settings()
    configure(settings.log_level, settings.log_json)
    uvloop.run(serve(settings))


if __name__ == "__main__":
    main()

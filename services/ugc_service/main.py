"""Runs the UGC gRPC server: uvloop, graceful shutdown on SIGTERM/SIGINT."""

from __future__ import annotations

import grpc

from movies_auth import TokenCheckSettings, token_check
from movies_grpc import serve_until_signalled
from ugc_service.bootstrap import build_app
from ugc_service.config import Settings
from ugc_service.entrypoints.grpc_server import SERVICE_NAMES, access_policy, generic_handlers


async def serve(settings: Settings, token_settings: TokenCheckSettings) -> None:
    """Serves until SIGTERM; then reports NOT_SERVING and lets in-flight calls finish."""
    async with (
        build_app(settings) as app,
        token_check(token_settings, access_policy()) as interceptor,
    ):
        server = grpc.aio.server(
            interceptors=[interceptor],
            maximum_concurrent_rpcs=settings.ugc_grpc_max_concurrent_rpcs,
            options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", 1 << 16)],
        )
        server.add_generic_rpc_handlers(generic_handlers(app))
        address = f"{settings.ugc_grpc_host}:{settings.ugc_grpc_port}"
        await serve_until_signalled(server, SERVICE_NAMES, address, settings.shutdown_grace_seconds)

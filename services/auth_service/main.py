"""Runs the auth gRPC server: uvloop, graceful shutdown on SIGTERM/SIGINT."""

from __future__ import annotations

import grpc
import uvloop

from auth_service.bootstrap import build_app
from auth_service.config import Settings
from auth_service.entrypoints.grpc_server import SERVICE_NAMES, access_policy, generic_handlers
from movies_auth import AuthInterceptor
from movies_grpc import serve_until_signalled
from movies_logging import configure


async def serve(settings: Settings) -> None:
    """Serves until SIGTERM; then reports NOT_SERVING and lets in-flight calls finish."""
    async with build_app(settings) as app:
        server = grpc.aio.server(
            interceptors=[AuthInterceptor(app.verifier, access_policy())],
            maximum_concurrent_rpcs=settings.auth_grpc_max_concurrent_rpcs,
            options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", 1 << 16)],
        )
        server.add_generic_rpc_handlers(generic_handlers(app))
        address = f"{settings.auth_grpc_host}:{settings.auth_grpc_port}"
        await serve_until_signalled(server, SERVICE_NAMES, address, settings.shutdown_grace_seconds)


def main() -> None:
    settings = Settings()
    configure(settings.log_level, settings.log_json)
    uvloop.run(serve(settings))


if __name__ == "__main__":
    main()

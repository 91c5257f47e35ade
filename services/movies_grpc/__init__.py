"""What every gRPC service of the platform serves the same way: domain errors
mapped to status codes by class hierarchy, AIP-193 error details, the per-RPC
wrapper (request id, deadline, error mapping) and health with reflection."""

from movies_grpc.errors import Failure, Metadata, abort, nearest
from movies_grpc.health import REFLECTION_V1, add_health_and_reflection, set_serving
from movies_grpc.runner import (
    BAD_ENCODING,
    DomainErrorLike,
    RpcRunner,
    UndecodableRequest,
    lenient_parser,
    method_handlers,
)
from movies_grpc.serving import freeze_startup_heap, serve_until_signalled

__all__ = [
    "BAD_ENCODING",
    "REFLECTION_V1",
    "DomainErrorLike",
    "Failure",
    "Metadata",
    "RpcRunner",
    "UndecodableRequest",
    "abort",
    "add_health_and_reflection",
    "freeze_startup_heap",
    "lenient_parser",
    "method_handlers",
    "nearest",
    "serve_until_signalled",
    "set_serving",
]

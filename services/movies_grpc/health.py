"""Health checking and server reflection (v1 and v1alpha): grpcurl, Postman and
load balancers work without the proto files."""

from __future__ import annotations

import functools
from collections.abc import Iterable

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2

# grpcio-reflection ships only v1alpha (grpc/grpc#38576); v1 is the same protocol
# under a new package (same messages, same field numbers), and current clients
# (grpcurl, Postman, grpc-java's) ask for v1 first.
REFLECTION_V1_PACKAGE = "grpc.reflection.v1"
REFLECTION_V1 = f"{REFLECTION_V1_PACKAGE}.ServerReflection"
HEALTH = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name


@functools.cache
def _register_reflection_v1() -> None:
    """Adds grpc/reflection/v1/reflection.proto to the descriptor pool, copied from
    v1alpha with the package renamed, so clients can also describe the v1 service."""
    proto = descriptor_pb2.FileDescriptorProto.FromString(reflection_pb2.DESCRIPTOR.serialized_pb)
    old, new = f".{proto.package}.", f".{REFLECTION_V1_PACKAGE}."
    proto.name = "grpc/reflection/v1/reflection.proto"
    proto.package = REFLECTION_V1_PACKAGE
    proto.ClearField("options")  # v1alpha's are deprecated and name v1alpha packages
    for message in proto.message_type:
        for field in message.field:
            if field.HasField("type_name"):  # set only on message and enum fields
                field.type_name = field.type_name.replace(old, new)
    for method in (m for service in proto.service for m in service.method):
        method.input_type = method.input_type.replace(old, new)
        method.output_type = method.output_type.replace(old, new)
    descriptor_pool.Default().AddSerializedFile(proto.SerializeToString())


def add_health_and_reflection(
    server: grpc.aio.Server, service_names: Iterable[str]
) -> health.aio.HealthServicer:
    """Registers health and both reflection services; reflection lists
    `service_names` (the server's own full service names) beside them."""
    _register_reflection_v1()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    names = (*service_names, HEALTH, REFLECTION_V1, reflection.SERVICE_NAME)
    reflection.enable_server_reflection(names, server)
    v1 = reflection.aio.ReflectionServicer(names)
    info = grpc.stream_stream_rpc_method_handler(
        v1.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(REFLECTION_V1, {"ServerReflectionInfo": info}),)
    )
    return servicer


async def set_serving(
    servicer: health.aio.HealthServicer, service_names: Iterable[str], serving: bool
) -> None:
    """One status for the whole server ("") and each of its services."""
    status = (
        health_pb2.HealthCheckResponse.SERVING
        if serving
        else health_pb2.HealthCheckResponse.NOT_SERVING
    )
    for name in ("", *service_names):
        await servicer.set(name, status)

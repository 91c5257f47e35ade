"""Server reflection answers under both package names clients ask for, on the
content API and on the auth service (one registration, movies_grpc)."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2

from auth_service.entrypoints.grpc_server import SERVICE_NAMES as AUTH_SERVICE_NAMES
from content_api.entrypoints.grpc_server import SERVICE_NAMES
from movies_grpc import REFLECTION_V1
from tests.support.auth import AuthServer, start_auth
from tests.support.procs import Proc

V1ALPHA = "grpc.reflection.v1alpha.ServerReflection"


async def _ask(
    channel: grpc.aio.Channel, service: str, request: reflection_pb2.ServerReflectionRequest
) -> reflection_pb2.ServerReflectionResponse:
    # v1 and v1alpha share their messages field for field, so one pair of classes
    # speaks both.
    call = channel.stream_stream(
        f"/{service}/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    responses = [r async for r in call(iter([request]))]
    assert len(responses) == 1
    response: reflection_pb2.ServerReflectionResponse = responses[0]
    return response


@pytest.mark.parametrize("service", [REFLECTION_V1, V1ALPHA])
async def test_lists_every_service(channel: grpc.aio.Channel, service: str) -> None:
    response = await _ask(
        channel, service, reflection_pb2.ServerReflectionRequest(list_services="")
    )
    names = {s.name for s in response.list_services_response.service}
    assert set(SERVICE_NAMES) | {REFLECTION_V1, V1ALPHA, "grpc.health.v1.Health"} <= names


@pytest.fixture(scope="module")
def auth_server(test_redis: Proc) -> Iterator[AuthServer]:
    yield from start_auth("reflection", test_redis.port)  # type: ignore[attr-defined]


@pytest.mark.parametrize("service", [REFLECTION_V1, V1ALPHA])
async def test_auth_lists_every_service(auth_server: AuthServer, service: str) -> None:
    async with grpc.aio.insecure_channel(auth_server.target) as channel:
        response = await _ask(
            channel, service, reflection_pb2.ServerReflectionRequest(list_services="")
        )
    names = {s.name for s in response.list_services_response.service}
    assert set(AUTH_SERVICE_NAMES) | {REFLECTION_V1, V1ALPHA, "grpc.health.v1.Health"} <= names


@pytest.mark.parametrize(
    ("service", "symbol"),
    [
        (REFLECTION_V1, "movies.v1.FilmService"),
        (V1ALPHA, "movies.v1.FilmService"),
        # A client may describe the reflection service it talks to.
        (REFLECTION_V1, REFLECTION_V1),
    ],
)
async def test_describes_a_service(channel: grpc.aio.Channel, service: str, symbol: str) -> None:
    request = reflection_pb2.ServerReflectionRequest(file_containing_symbol=symbol)
    response = await _ask(channel, service, request)
    assert not response.HasField("error_response"), response.error_response.error_message
    files = [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in response.file_descriptor_response.file_descriptor_proto
    ]
    package, _, name = symbol.rpartition(".")
    assert any(f.package == package and name in {s.name for s in f.service} for f in files)

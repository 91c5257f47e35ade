"""A cache of the auth service's public keys (JWKS), refreshed on a timer and
when a token names a key the cache has not seen (after a key rotation)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import grpc
import httpx
import jwt
from google.protobuf.json_format import MessageToDict

from auth.v1 import auth_service_pb2

log = logging.getLogger(__name__)

# Algorithms a key may declare; anything else (HS*, none) is never accepted.
ALLOWED_ALGORITHMS: Final = frozenset({"EdDSA", "ES256"})

JwksSource = Callable[[], Awaitable[Mapping[str, Any]]]


def parse_jwks(document: Mapping[str, Any]) -> dict[str, jwt.PyJWK]:
    """Signing keys by kid; keys without a kid or with a foreign algorithm are skipped."""
    keys: dict[str, jwt.PyJWK] = {}
    for entry in document.get("keys", ()):
        kid, alg = entry.get("kid"), entry.get("alg")
        if not kid or alg not in ALLOWED_ALGORITHMS or entry.get("use", "sig") != "sig":
            continue
        try:
            keys[kid] = jwt.PyJWK(dict(entry), algorithm=alg)
        except jwt.PyJWTError:
            log.warning("skipping unusable key", extra={"kid": kid})
    return keys


class JwksCache:
    """Keys by kid, fetched at most every `min_refetch_seconds` on a miss and
    refreshed after `refresh_seconds`; a failed fetch keeps the keys it had."""

    def __init__(
        self,
        source: JwksSource,
        refresh_seconds: float = 300.0,
        min_refetch_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._refresh = refresh_seconds
        self._min_refetch = min_refetch_seconds
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._attempted_at = float("-inf")
        self._lock = asyncio.Lock()

    async def get(self, kid: str) -> jwt.PyJWK | None:
        now = self._clock()
        key = self._keys.get(kid)
        stale = now - self._fetched_at > self._refresh
        # A fetch in flight is waited for, not skipped: else every call that
        # arrives during a service's first fetch is refused (unknown key).
        due = now - self._attempted_at >= self._min_refetch or self._lock.locked()
        if (key is None or stale) and due:
            await self._fetch()
            key = self._keys.get(kid)
        return key

    async def _fetch(self) -> None:
        async with self._lock:
            if self._clock() - self._attempted_at < self._min_refetch:
                return  # another caller fetched while we waited
            self._attempted_at = self._clock()
            try:
                keys = parse_jwks(await self._source())
            except Exception as exc:
                log.warning("JWKS fetch failed; keeping cached keys", extra={"error": repr(exc)})
                return
            self._keys = keys
            self._fetched_at = self._clock()


def grpc_jwks_source(channel: grpc.aio.Channel, timeout_seconds: float = 2.0) -> JwksSource:
    """Reads the JWKS from the auth service's GetJwks RPC over an existing channel."""
    call = channel.unary_unary(
        "/auth.v1.AuthService/GetJwks",
        request_serializer=auth_service_pb2.GetJwksRequest.SerializeToString,
        response_deserializer=auth_service_pb2.JsonWebKeySet.FromString,
    )

    async def fetch() -> Mapping[str, Any]:
        reply = await call(auth_service_pb2.GetJwksRequest(), timeout=timeout_seconds)
        return MessageToDict(reply, preserving_proto_field_name=True)

    return fetch


def http_jwks_source(url: str, client: httpx.AsyncClient) -> JwksSource:
    """Reads the JWKS document over HTTP (the edge's /.well-known/jwks.json)."""

    async def fetch() -> Mapping[str, Any]:
        reply = await client.get(url)
        reply.raise_for_status()
        document: Mapping[str, Any] = reply.json()
        return document

    return fetch

"""The shared token check (movies_auth) against tokens made the ways attackers
make them: every forgery is refused, only the key's own algorithm counts."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

import httpx
import jwt
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from auth_service.adapters import crypto
from movies_auth import (
    InvalidTokenError,
    JwksCache,
    TokenCheckSettings,
    TokenVerifier,
    http_jwks_source,
    parse_jwks,
)

ISS, AUD = "movies-auth", "movies"


class FakeDenyList:
    def __init__(self) -> None:
        self.revoked: set[str] = set()

    async def is_revoked(self, session_id: str) -> bool:
        return session_id in self.revoked


class Source:
    """A JWKS endpoint that counts fetches."""

    def __init__(self, *pairs: crypto.KeyPair) -> None:
        self.pairs = list(pairs)
        self.fetches = 0

    async def __call__(self) -> Mapping[str, Any]:
        self.fetches += 1
        return {"keys": [p.public_jwk for p in self.pairs]}


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": ISS,
        "aud": AUD,
        "sub": "user-1",
        "sid": "session-1",
        "roles": ["subscriber"],
        "iat": now,
        "exp": now + 300,
        "jti": "j1",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(pair: crypto.KeyPair, payload: dict[str, Any], kid: str | None = None) -> str:
    return jwt.encode(
        payload, pair.private_key, algorithm="EdDSA", headers={"kid": kid or pair.kid}
    )


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def handmade(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(payload).encode())
    return head + "." + b64(signature)


@pytest.fixture
def pair() -> crypto.KeyPair:
    return crypto.generate()


@pytest.fixture
def denylist() -> FakeDenyList:
    return FakeDenyList()


@pytest.fixture
def verifier(pair: crypto.KeyPair, denylist: FakeDenyList) -> TokenVerifier:
    return TokenVerifier(JwksCache(Source(pair)), denylist, ISS, AUD)


async def test_a_valid_token_gives_a_typed_principal(
    verifier: TokenVerifier, pair: crypto.KeyPair
) -> None:
    principal = await verifier.verify(sign(pair, claims(roles=["subscriber", "admin"])))
    assert principal.user_id == "user-1"
    assert principal.session_id == "session-1"
    assert principal.roles == frozenset({"subscriber", "admin"})
    assert principal.has_role("admin")


async def expect_refused(verifier: TokenVerifier, token: str, reason: str = "INVALID_TOKEN") -> str:
    with pytest.raises(InvalidTokenError) as caught:
        await verifier.verify(token)
    assert caught.value.reason == reason
    return caught.value.message


async def test_expired_token_is_refused(verifier: TokenVerifier, pair: crypto.KeyPair) -> None:
    now = int(time.time())
    await expect_refused(
        verifier, sign(pair, claims(iat=now - 600, exp=now - 300)), "TOKEN_EXPIRED"
    )


@pytest.mark.parametrize(("claim", "value"), [("aud", "other-api"), ("iss", "someone-else")])
async def test_wrong_audience_or_issuer_is_refused(
    verifier: TokenVerifier, pair: crypto.KeyPair, claim: str, value: str
) -> None:
    await expect_refused(verifier, sign(pair, claims(**{claim: value})))


@pytest.mark.parametrize("missing", ["sub", "sid", "exp", "jti", "aud", "iss"])
async def test_a_token_missing_a_required_claim_is_refused(
    verifier: TokenVerifier, pair: crypto.KeyPair, missing: str
) -> None:
    await expect_refused(verifier, sign(pair, claims(**{missing: None})))


async def test_alg_none_is_refused(verifier: TokenVerifier, pair: crypto.KeyPair) -> None:
    token = handmade({"alg": "none", "kid": pair.kid, "typ": "JWT"}, claims())
    await expect_refused(verifier, token)


async def test_hs256_signed_with_the_public_key_is_refused(
    verifier: TokenVerifier, pair: crypto.KeyPair
) -> None:
    """Algorithm confusion: a verifier that let the token pick HS256 would use
    the (public) key bytes as the HMAC secret."""
    public = pair.private_key.public_key()
    for secret in (
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
        json.dumps(pair.public_jwk).encode(),
    ):
        header = {"alg": "HS256", "kid": pair.kid, "typ": "JWT"}
        unsigned = handmade(header, claims()).rsplit(".", 1)[0]
        mac = hmac.new(secret, unsigned.encode(), hashlib.sha256).digest()
        await expect_refused(verifier, unsigned + "." + b64(mac))


async def test_a_token_signed_by_another_key_under_our_kid_is_refused(
    verifier: TokenVerifier, pair: crypto.KeyPair
) -> None:
    foreign = crypto.KeyPair(pair.kid, Ed25519PrivateKey.generate(), pair.public_jwk)
    await expect_refused(verifier, sign(foreign, claims()))


async def test_a_tampered_payload_is_refused(verifier: TokenVerifier, pair: crypto.KeyPair) -> None:
    header, _, signature = sign(pair, claims()).split(".")
    forged = b64(json.dumps(claims(roles=["admin"])).encode())
    await expect_refused(verifier, f"{header}.{forged}.{signature}")


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "Bearer x"])
async def test_garbage_is_refused(verifier: TokenVerifier, token: str) -> None:
    await expect_refused(verifier, token)


async def test_a_revoked_session_is_refused(
    verifier: TokenVerifier, pair: crypto.KeyPair, denylist: FakeDenyList
) -> None:
    token = sign(pair, claims())
    await verifier.verify(token)
    denylist.revoked.add("session-1")
    await expect_refused(verifier, token, "SESSION_REVOKED")


async def test_a_cached_token_is_still_refused_once_expired_or_revoked(
    pair: crypto.KeyPair, denylist: FakeDenyList
) -> None:
    now = [time.time()]
    source = Source(pair)
    verifier = TokenVerifier(JwksCache(source), denylist, ISS, AUD, clock=lambda: now[0])
    token = sign(pair, claims())
    for _ in range(3):
        await verifier.verify(token)
    assert source.fetches == 1
    now[0] += 301
    await expect_refused(verifier, token, "TOKEN_EXPIRED")
    now[0] -= 301
    await verifier.verify(token)
    denylist.revoked.add("session-1")
    await expect_refused(verifier, token, "SESSION_REVOKED")


async def test_an_unknown_kid_refetches_the_jwks_at_most_once_per_interval(
    pair: crypto.KeyPair,
) -> None:
    """After a rotation the new kid is fetched at once; a flood of made-up kids
    costs one fetch per interval, not one per token."""
    now = [1000.0]
    source = Source(pair)
    cache = JwksCache(source, refresh_seconds=300, min_refetch_seconds=1.0, clock=lambda: now[0])
    verifier = TokenVerifier(cache, FakeDenyList(), ISS, AUD, cache_size=0)
    await verifier.verify(sign(pair, claims()))
    assert source.fetches == 1

    rotated = crypto.generate()
    source.pairs.append(rotated)
    now[0] += 1.5
    await verifier.verify(sign(rotated, claims()))
    assert source.fetches == 2

    now[0] += 1.5
    for i in range(20):
        await expect_refused(verifier, sign(pair, claims(), kid=f"made-up-{i}"))
    assert source.fetches == 3  # the first made-up kid, then the interval holds
    await verifier.verify(sign(pair, claims()))  # cached keys still serve


async def test_calls_during_the_first_jwks_fetch_wait_for_it(pair: crypto.KeyPair) -> None:
    """A burst of calls on a cold cache (a service just started) all pass: the
    ones that arrive while the first fetch is in flight wait for its keys."""
    release = asyncio.Event()
    source = Source(pair)

    async def slow() -> Mapping[str, Any]:
        await release.wait()
        return await source()

    verifier = TokenVerifier(JwksCache(slow), FakeDenyList(), ISS, AUD, cache_size=0)
    token = sign(pair, claims())
    calls = [asyncio.create_task(verifier.verify(token)) for _ in range(5)]
    await asyncio.sleep(0.01)
    release.set()
    principals = await asyncio.gather(*calls)
    assert {p.user_id for p in principals} == {"user-1"}
    assert source.fetches == 1


async def test_a_failed_jwks_fetch_keeps_the_keys_it_had(pair: crypto.KeyPair) -> None:
    now = [0.0]
    calls = 0

    async def flaky() -> Mapping[str, Any]:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise ConnectionError("auth service down")
        return {"keys": [pair.public_jwk]}

    cache = JwksCache(flaky, refresh_seconds=10, min_refetch_seconds=1, clock=lambda: now[0])
    verifier = TokenVerifier(cache, FakeDenyList(), ISS, AUD, cache_size=0)
    await verifier.verify(sign(pair, claims()))
    now[0] += 60  # stale: refetch fails, the cached key stays
    await verifier.verify(sign(pair, claims()))
    assert calls == 2


def test_keys_with_foreign_algorithms_are_never_loaded(pair: crypto.KeyPair) -> None:
    hmac_key = {"kty": "oct", "k": b64(b"secret"), "kid": "h", "alg": "HS256"}
    keys = parse_jwks({"keys": [pair.public_jwk, hmac_key, {"kty": "OKP"}]})
    assert set(keys) == {pair.kid}


def test_private_keys_are_sealed_and_bound_to_their_kid(pair: crypto.KeyPair) -> None:
    kek = crypto.decode_kek(crypto.new_kek())
    sealed = crypto.seal(pair, kek)
    opened = crypto.unseal(pair.kid, sealed, pair.public_jwk, kek)
    token = sign(opened, claims())
    assert (
        jwt.decode(token, pair.private_key.public_key(), ["EdDSA"], audience=AUD)["sub"] == "user-1"
    )
    with pytest.raises(InvalidTag):
        crypto.unseal("another-kid", sealed, pair.public_jwk, kek)
    with pytest.raises(InvalidTag):
        crypto.unseal(pair.kid, sealed, pair.public_jwk, crypto.decode_kek(crypto.new_kek()))


async def test_the_jwks_can_come_from_an_http_url(pair: crypto.KeyPair) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/.well-known/jwks.json"
        return httpx.Response(200, json={"keys": [pair.public_jwk]})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        source = http_jwks_source("http://edge/.well-known/jwks.json", client)
        verifier = TokenVerifier(JwksCache(source), FakeDenyList(), ISS, AUD)
        assert (await verifier.verify(sign(pair, claims()))).user_id == "user-1"


def test_token_check_settings_need_exactly_one_key_source() -> None:
    with pytest.raises(ValidationError):
        TokenCheckSettings(auth_grpc_target="", auth_jwks_url="")
    with pytest.raises(ValidationError):
        TokenCheckSettings(auth_grpc_target="auth:50052", auth_jwks_url="http://edge/jwks")
    assert TokenCheckSettings(auth_grpc_target="auth:50052").auth_audience == "movies"

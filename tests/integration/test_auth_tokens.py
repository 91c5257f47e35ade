"""The auth server refuses every token it did not mint as issued: expired, for
another audience or issuer, `alg: none`, signed by a foreign key, HS256 keyed
with the public key, tampered. Forgeries use the server's real signing key
(read from its database with the test's encryption key) where that makes the
attack strongest. And role management: 403 for a subscriber, the admin CLI."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import jwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auth.v1 import auth_service_pb2 as pb
from auth.v1 import role_service_pb2 as rpb
from auth.v1 import user_service_pb2 as upb
from auth_service.adapters import crypto
from tests.support.auth import (
    AUDIENCE,
    ISSUER,
    AuthServer,
    Stubs,
    bearer,
    reason,
    register_and_login,
    rpc_error,
    start_auth,
)
from tests.support.procs import Proc

ADMIN_EMAIL, ADMIN_PASSWORD = "root@example.org", "admin password 1"


@pytest.fixture(scope="module")
def server(test_redis: Proc) -> Iterator[AuthServer]:
    yield from start_auth("tokens", test_redis.port)  # type: ignore[attr-defined]


@pytest_asyncio.fixture(scope="module")
async def user(stubs: Stubs) -> pb.LoginResponse:
    return await register_and_login(stubs, f"victim-{uuid.uuid4().hex[:8]}@example.org")


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def genuine_claims(access_token: str, **overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(access_token, options={"verify_signature": False})
    claims.update(overrides)
    return claims


def sign(key: crypto.KeyPair, claims: dict[str, Any], alg: str = "EdDSA") -> str:
    return jwt.encode(claims, key.private_key, algorithm=alg, headers={"kid": key.kid})


async def check_refused(stubs: Stubs, token: str, why: str = "INVALID_TOKEN") -> None:
    exc = await rpc_error(stubs.users.GetMe(upb.GetMeRequest(), metadata=bearer(token)))
    assert exc.code() == grpc.StatusCode.UNAUTHENTICATED, exc.details()
    assert reason(exc) == why, exc.details()


async def test_the_genuine_token_and_a_re_signed_copy_pass(
    stubs: Stubs, server: AuthServer, user: pb.LoginResponse
) -> None:
    """The control: the forgeries below fail for their flaw, not for the harness."""
    header = jwt.get_unverified_header(user.access_token)
    assert header["alg"] == "EdDSA"
    assert header["kid"] == server.signing_key().kid
    claims = genuine_claims(user.access_token)
    assert claims["iss"] == ISSUER
    assert claims["aud"] == AUDIENCE
    assert claims["exp"] - claims["iat"] == 300
    assert set(claims) == {"iss", "aud", "sub", "sid", "roles", "iat", "exp", "jti"}
    await stubs.users.GetMe(upb.GetMeRequest(), metadata=bearer(user.access_token))
    resigned = sign(server.signing_key(), genuine_claims(user.access_token, jti="copy"))
    await stubs.users.GetMe(upb.GetMeRequest(), metadata=bearer(resigned))


async def test_an_expired_token_is_refused(
    stubs: Stubs, server: AuthServer, user: pb.LoginResponse
) -> None:
    now = int(time.time())
    claims = genuine_claims(user.access_token, iat=now - 400, exp=now - 60)
    await check_refused(stubs, sign(server.signing_key(), claims), "TOKEN_EXPIRED")


@pytest.mark.parametrize(("claim", "value"), [("aud", "another-api"), ("iss", "evil-issuer")])
async def test_wrong_audience_or_issuer_is_refused(
    stubs: Stubs, server: AuthServer, user: pb.LoginResponse, claim: str, value: str
) -> None:
    claims = genuine_claims(user.access_token, **{claim: value})
    await check_refused(stubs, sign(server.signing_key(), claims))


async def test_alg_none_is_refused(stubs: Stubs, user: pb.LoginResponse) -> None:
    header = jwt.get_unverified_header(user.access_token) | {"alg": "none"}
    payload = genuine_claims(user.access_token, roles=["admin"])
    token = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}."
    await check_refused(stubs, token)


async def test_a_token_signed_by_a_foreign_key_is_refused(
    stubs: Stubs, server: AuthServer, user: pb.LoginResponse
) -> None:
    genuine = server.signing_key()
    foreign = crypto.KeyPair(genuine.kid, Ed25519PrivateKey.generate(), genuine.public_jwk)
    await check_refused(stubs, sign(foreign, genuine_claims(user.access_token)))
    stranger = crypto.generate()  # its own kid, unknown to the JWKS
    await check_refused(stubs, sign(stranger, genuine_claims(user.access_token)))


async def test_hs256_keyed_with_the_public_key_is_refused(
    stubs: Stubs, server: AuthServer, user: pb.LoginResponse
) -> None:
    jwks = await stubs.auth.GetJwks(pb.GetJwksRequest())
    published = jwks.keys[0]
    public = server.signing_key().private_key.public_key()
    secrets = [
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
        published.x.encode(),
    ]
    header = {"alg": "HS256", "kid": published.kid, "typ": "JWT"}
    payload = genuine_claims(user.access_token, roles=["admin"])
    unsigned = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    for secret in secrets:
        mac = hmac.new(secret, unsigned.encode(), hashlib.sha256).digest()
        await check_refused(stubs, f"{unsigned}.{b64(mac)}")


async def test_a_tampered_payload_is_refused(stubs: Stubs, user: pb.LoginResponse) -> None:
    header, _, signature = user.access_token.split(".")
    payload = genuine_claims(user.access_token, roles=["subscriber", "admin"])
    await check_refused(stubs, f"{header}.{b64(json.dumps(payload).encode())}.{signature}")


async def test_the_jwks_lists_the_public_key_only(stubs: Stubs, server: AuthServer) -> None:
    jwks = await stubs.auth.GetJwks(pb.GetJwksRequest())
    assert len(jwks.keys) == 1
    key = jwks.keys[0]
    assert (key.kty, key.crv, key.use, key.alg) == ("OKP", "Ed25519", "sig", "EdDSA")
    assert key.kid == server.signing_key().kid
    assert "d" not in {f.name for f, _ in key.ListFields()}
    stored = server.sql("select private_key from auth.signing_keys")
    raw = server.signing_key().private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    assert raw not in bytes(stored[0][0])  # encrypted at rest


# --- roles ------------------------------------------------------------------------


async def test_role_management_needs_admin(stubs: Stubs, user: pb.LoginResponse) -> None:
    exc = await rpc_error(
        stubs.roles.ListRoles(rpb.ListRolesRequest(), metadata=bearer(user.access_token))
    )
    assert exc.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason(exc) == "ROLE_REQUIRED"
    exc = await rpc_error(stubs.roles.ListRoles(rpb.ListRolesRequest()))
    assert exc.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_an_admin_made_by_the_cli_manages_roles(
    stubs: Stubs, server: AuthServer, user: pb.LoginResponse
) -> None:
    made = server.cli("createsuperuser", "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD)
    assert made.returncode == 0, made.stderr
    again = server.cli("createsuperuser", "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD)
    assert again.returncode == 1
    assert "exists" in again.stderr
    admin = await stubs.auth.Login(pb.LoginRequest(email=ADMIN_EMAIL, password=ADMIN_PASSWORD))
    md = bearer(admin.access_token)
    assert genuine_claims(admin.access_token)["roles"] == ["admin", "subscriber"]

    created = await stubs.roles.CreateRole(
        rpb.CreateRoleRequest(role=rpb.Role(name="moderator", description="Moderates reviews")),
        metadata=md,
    )
    assert created.name == "moderator"
    dup = await rpc_error(
        stubs.roles.CreateRole(rpb.CreateRoleRequest(role=rpb.Role(name="moderator")), metadata=md)
    )
    assert dup.code() == grpc.StatusCode.ALREADY_EXISTS
    bad = await rpc_error(
        stubs.roles.CreateRole(rpb.CreateRoleRequest(role=rpb.Role(name="Bad Name")), metadata=md)
    )
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
    names = [
        r.name for r in (await stubs.roles.ListRoles(rpb.ListRolesRequest(), metadata=md)).roles
    ]
    assert names == ["admin", "editor", "moderator", "subscriber"]

    user_id = genuine_claims(user.access_token)["sub"]
    granted = await stubs.roles.GrantRole(
        rpb.GrantRoleRequest(user_id=user_id, role="moderator"), metadata=md
    )
    assert list(granted.roles) == ["moderator", "subscriber"]
    # The role reaches the user's tokens at their next refresh.
    refreshed = await stubs.auth.Refresh(pb.RefreshRequest(refresh_token=user.refresh_token))
    assert genuine_claims(refreshed.access_token)["roles"] == ["moderator", "subscriber"]

    missing = await rpc_error(
        stubs.roles.GrantRole(rpb.GrantRoleRequest(user_id=user_id, role="ghost"), metadata=md)
    )
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    nobody = await rpc_error(
        stubs.roles.GrantRole(
            rpb.GrantRoleRequest(user_id=str(uuid.uuid4()), role="moderator"), metadata=md
        )
    )
    assert nobody.code() == grpc.StatusCode.NOT_FOUND
    builtin = await rpc_error(
        stubs.roles.DeleteRole(rpb.DeleteRoleRequest(role="admin"), metadata=md)
    )
    assert builtin.code() == grpc.StatusCode.FAILED_PRECONDITION

    revoked = await stubs.roles.RevokeRole(
        rpb.RevokeRoleRequest(user_id=user_id, role="moderator"), metadata=md
    )
    assert list(revoked.roles) == ["subscriber"]
    await stubs.roles.DeleteRole(rpb.DeleteRoleRequest(role="moderator"), metadata=md)
    gone = await rpc_error(
        stubs.roles.DeleteRole(rpb.DeleteRoleRequest(role="moderator"), metadata=md)
    )
    assert gone.code() == grpc.StatusCode.NOT_FOUND

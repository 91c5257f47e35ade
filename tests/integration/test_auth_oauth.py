"""Sign-in with an external provider against a stand-in for Yandex ID started
by the test (tests/support/oauth_provider.py): a new user, a returning user,
bad and reused state, a replayed code, PKCE binding, no linking by email, and
linking from a signed-in account."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import grpc
import httpx
import jwt
import pytest

from auth.v1 import auth_service_pb2 as pb
from auth.v1 import user_service_pb2 as upb
from tests.support.auth import (
    AuthServer,
    Stubs,
    bearer,
    reason,
    register_and_login,
    rpc_error,
    start_auth,
)
from tests.support.procs import Proc, free_port, port_open, python, wait_until

CLIENT_ID, CLIENT_SECRET = "movies-test-client", "s3cret"
REDIRECT = "http://127.0.0.1:8080/api/v1/auth/oauth/yandex/callback"


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    port = free_port()
    args = ["-m", "tests.support.oauth_provider", "--port", str(port)]
    proc = Proc(
        "oauth-provider",
        python(*args, "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET),
    ).start()
    wait_until(lambda: port_open(port), 20, "stand-in OAuth provider")
    yield f"http://127.0.0.1:{port}"
    proc.stop()


@pytest.fixture(scope="module")
def server(test_redis: Proc, provider: str) -> Iterator[AuthServer]:
    yield from start_auth(
        "oauth",
        test_redis.port,  # type: ignore[attr-defined]
        OAUTH_YANDEX_CLIENT_ID=CLIENT_ID,
        OAUTH_YANDEX_CLIENT_SECRET=CLIENT_SECRET,
        OAUTH_YANDEX_AUTHORIZE_URL=f"{provider}/authorize",
        OAUTH_YANDEX_TOKEN_URL=f"{provider}/token",
        OAUTH_YANDEX_USERINFO_URL=f"{provider}/info",
        OAUTH_YANDEX_REDIRECT_URI=REDIRECT,
    )


async def start(stubs: Stubs, token: str | None = None) -> pb.GetOAuthAuthorizeUrlResponse:
    return await stubs.auth.GetOAuthAuthorizeUrl(
        pb.GetOAuthAuthorizeUrlRequest(provider="yandex"),
        metadata=bearer(token) if token else None,
    )


async def consent(url: str, user: str, email: str = "") -> tuple[str, str]:
    """The user signs in at the provider, which redirects back with (code, state)."""
    async with httpx.AsyncClient() as http:
        reply = await http.get(f"{url}&{urlencode({'user': user, 'email': email})}")
    assert reply.status_code == 302, reply.text
    location = reply.headers["location"]
    assert location.startswith(REDIRECT + "?")
    query = parse_qs(urlsplit(location).query)
    return query["code"][0], query["state"][0]


async def sign_in(stubs: Stubs, user: str, email: str = "") -> pb.OAuthCallbackResponse:
    begun = await start(stubs)
    code, state = await consent(begun.authorization_url, user, email)
    assert state == begun.state
    return await callback(stubs, code, state)


async def callback(stubs: Stubs, code: str, state: str) -> pb.OAuthCallbackResponse:
    return await stubs.auth.OAuthCallback(
        pb.OAuthCallbackRequest(provider="yandex", code=code, state=state)
    )


def sub(token: str) -> str:
    return str(jwt.decode(token, options={"verify_signature": False})["sub"])


async def test_the_authorize_url_carries_state_and_pkce(stubs: Stubs) -> None:
    begun = await start(stubs)
    query = parse_qs(urlsplit(begun.authorization_url).query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == [REDIRECT]
    assert query["state"] == [begun.state]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43


async def test_a_first_sign_in_creates_an_account_and_a_later_one_returns_to_it(
    stubs: Stubs,
) -> None:
    first = await sign_in(stubs, "alice", "alice@yandex.ru")
    assert first.token_type == "Bearer"
    me = await stubs.users.GetMe(upb.GetMeRequest(), metadata=bearer(first.access_token))
    assert me.email == "alice@yandex.ru"
    assert list(me.roles) == ["subscriber"]
    again = await sign_in(stubs, "alice", "alice@yandex.ru")
    assert sub(again.access_token) == me.user_id
    history = await stubs.users.ListMyLoginHistory(
        upb.ListMyLoginHistoryRequest(), metadata=bearer(again.access_token)
    )
    assert [a.method for a in history.attempts] == ["oauth:yandex", "oauth:yandex"]
    # The session is an ordinary one: it refreshes.
    await stubs.auth.Refresh(pb.RefreshRequest(refresh_token=again.refresh_token))


async def test_a_bad_or_reused_state_is_refused(stubs: Stubs) -> None:
    begun = await start(stubs)
    code, state = await consent(begun.authorization_url, "bob")
    bad = await rpc_error(callback(stubs, code, "made-up-state"))
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason(bad) == "OAUTH_STATE_INVALID"
    await callback(stubs, code, state)
    reused = await rpc_error(callback(stubs, code, state))
    assert reason(reused) == "OAUTH_STATE_INVALID"


async def test_a_replayed_code_is_refused(stubs: Stubs) -> None:
    begun = await start(stubs)
    code, state = await consent(begun.authorization_url, "carol")
    await callback(stubs, code, state)
    fresh = await start(stubs)  # an attacker's own state, with the stolen code
    replay = await rpc_error(callback(stubs, code, fresh.state))
    assert replay.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason(replay) == "OAUTH_CODE_REJECTED"


async def test_a_code_is_bound_to_its_own_pkce_verifier(stubs: Stubs) -> None:
    """A code intercepted on its way back is useless with another sign-in's state."""
    victim = await start(stubs)
    attacker = await start(stubs)
    code, _ = await consent(victim.authorization_url, "dora")
    refused = await rpc_error(callback(stubs, code, attacker.state))
    assert reason(refused) == "OAUTH_CODE_REJECTED"


async def test_a_matching_email_never_links_to_an_existing_account(stubs: Stubs) -> None:
    owner = await register_and_login(stubs, "erin@example.org")
    signed = await sign_in(stubs, "erin-at-yandex", "erin@example.org")
    assert sub(signed.access_token) != sub(owner.access_token)
    me = await stubs.users.GetMe(upb.GetMeRequest(), metadata=bearer(signed.access_token))
    assert me.email == ""  # taken here by someone the provider cannot vouch for


async def test_a_signed_in_user_links_a_provider_account(stubs: Stubs) -> None:
    frank = await register_and_login(stubs, "frank@example.org")
    begun = await start(stubs, frank.access_token)
    code, state = await consent(begun.authorization_url, "frank-ya")
    linked = await callback(stubs, code, state)
    assert sub(linked.access_token) == sub(frank.access_token)
    later = await sign_in(stubs, "frank-ya")
    assert sub(later.access_token) == sub(frank.access_token)

    grace = await register_and_login(stubs, "grace@example.org")
    begun = await start(stubs, grace.access_token)
    code, state = await consent(begun.authorization_url, "frank-ya")
    taken = await rpc_error(callback(stubs, code, state))
    assert taken.code() == grpc.StatusCode.ALREADY_EXISTS
    assert reason(taken) == "OAUTH_IDENTITY_TAKEN"


async def test_errors_of_the_start(stubs: Stubs) -> None:
    unknown = await rpc_error(
        stubs.auth.GetOAuthAuthorizeUrl(pb.GetOAuthAuthorizeUrlRequest(provider="nope"))
    )
    assert unknown.code() == grpc.StatusCode.NOT_FOUND
    bad_token = await rpc_error(start(stubs, "not.a.token"))
    assert bad_token.code() == grpc.StatusCode.UNAUTHENTICATED

"""The account service with in-memory fakes of its ports: the rules of
sign-in, rotation, reuse, throttling and revocation, without a database."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from auth_service.adapters.postgres import RefreshOutcome, RefreshResult
from auth_service.domain.errors import (
    InvalidArgumentError,
    TooManyAttemptsError,
    UnauthenticatedError,
)
from auth_service.domain.models import (
    ClientInfo,
    Credentials,
    EndedSession,
    LoginAttempt,
    Session,
    User,
)
from auth_service.service_layer.accounts import AccountService, PageLimits
from movies_auth import Principal

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CLIENT = ClientInfo("198.51.100.7", "unit-test")
TTL, LEEWAY = 300, 5


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class FakeStore:
    clock: Clock
    users: dict[str, User] = field(default_factory=dict)
    hashes: dict[str, str | None] = field(default_factory=dict)
    sessions: dict[str, dict[str, object]] = field(default_factory=dict)
    tokens: dict[bytes, dict[str, object]] = field(default_factory=dict)
    history: list[LoginAttempt] = field(default_factory=list)

    async def create_user(self, email: str, password_hash: str | None, roles: list[str]) -> User:
        user = User(str(uuid.uuid4()), email, tuple(sorted(roles)), self.clock())
        self.users[user.id] = user
        self.hashes[user.id] = password_hash
        return user

    async def user_by_id(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    async def credentials(self, email: str) -> Credentials | None:
        for user in self.users.values():
            if user.email == email:
                return Credentials(user.id, email, self.hashes[user.id])
        return None

    async def credentials_by_id(self, user_id: str) -> Credentials | None:
        user = self.users.get(user_id)
        return Credentials(user_id, user.email, self.hashes[user_id]) if user else None

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        self.hashes[user_id] = password_hash

    async def open_session(
        self, user_id: str, refresh_hash: bytes, ttl_seconds: int, ip: str, user_agent: str
    ) -> str:
        sid = str(uuid.uuid4())
        self.sessions[sid] = {"user": user_id, "last_used": self.clock(), "revoked": False}
        self.tokens[refresh_hash] = {"sid": sid, "used": False}
        return sid

    async def rotate_refresh_token(
        self, old_hash: bytes, new_hash: bytes, ttl_seconds: int, ip: str, user_agent: str
    ) -> RefreshResult:
        token = self.tokens.get(old_hash)
        if token is None:
            return RefreshResult(RefreshOutcome.UNKNOWN)
        sid = str(token["sid"])
        session = self.sessions[sid]
        user_id = str(session["user"])
        if session["revoked"]:
            return RefreshResult(RefreshOutcome.REVOKED, sid, user_id)
        if token["used"]:
            return RefreshResult(RefreshOutcome.REUSED, sid, user_id)
        token["used"] = True
        self.tokens[new_hash] = {"sid": sid, "used": False}
        session["last_used"] = self.clock()
        return RefreshResult(RefreshOutcome.ROTATED, sid, user_id, self.users[user_id].roles)

    async def list_sessions(self, user_id: str) -> list[Session]:
        return []

    async def revoke_sessions(
        self, user_id: str, only: str | None = None, keep: str | None = None
    ) -> list[EndedSession]:
        ended = []
        for sid, s in self.sessions.items():
            if s["user"] != user_id or s["revoked"] or sid == keep or (only and sid != only):
                continue
            s["revoked"] = True
            last = s["last_used"]
            assert isinstance(last, datetime)
            ended.append(EndedSession(sid, last))
        return ended

    async def record_login(
        self,
        user_id: str,
        ip: str,
        user_agent: str,
        method: str,
        success: bool,
        at: datetime | None = None,
    ) -> None:
        row = LoginAttempt(
            len(self.history) + 1, user_id, at or self.clock(), ip, user_agent, method, success
        )
        self.history.append(row)

    async def login_history(
        self, user_id: str, after: tuple[datetime, int] | None, limit: int
    ) -> list[LoginAttempt]:
        rows = sorted(
            (r for r in self.history if r.user_id == user_id),
            key=lambda r: (r.at, r.id),
            reverse=True,
        )
        if after is not None:
            rows = [r for r in rows if (r.at, r.id) < after]
        return rows[:limit]


@dataclass
class FakePasswords:
    stale: bool = False
    verified: int = 0

    async def hash(self, password: str) -> str:
        return f"v2:{password}" if not self.stale else f"v1:{password}"

    async def verify(self, password_hash: str | None, password: str) -> bool:
        self.verified += 1
        return password_hash is not None and password_hash.split(":", 1)[1] == password

    def needs_rehash(self, password_hash: str) -> bool:
        return not password_hash.startswith("v2:")

    def close(self) -> None:
        pass


@dataclass
class FakeThrottle:
    wait: float = 0.0
    failures: list[str] = field(default_factory=list)

    async def retry_after(self, email: str) -> float:
        return self.wait

    async def failed(self, email: str) -> None:
        self.failures.append(email)

    async def succeeded(self, email: str) -> None:
        self.failures.clear()


@dataclass
class FakeRevocations:
    listed: dict[str, int] = field(default_factory=dict)

    async def revoke(self, ttl_by_session: Mapping[str, int]) -> None:
        self.listed.update(ttl_by_session)


class FakeTokens:
    ttl_seconds = TTL

    def issue(self, user_id: str, session_id: str, roles: tuple[str, ...]) -> str:
        return f"{user_id}|{session_id}|{','.join(roles)}"


@dataclass
class World:
    clock: Clock
    store: FakeStore
    passwords: FakePasswords
    throttle: FakeThrottle
    revocations: FakeRevocations
    accounts: AccountService


@pytest.fixture
def world() -> World:
    clock = Clock()
    store = FakeStore(clock)
    passwords, throttle, revocations = FakePasswords(), FakeThrottle(), FakeRevocations()
    accounts = AccountService(
        store, passwords, throttle, revocations, FakeTokens(), 3600, LEEWAY, PageLimits(2, 3), clock
    )
    return World(clock, store, passwords, throttle, revocations, accounts)


def principal_of(access: str) -> Principal:
    user_id, sid, roles = access.split("|")
    return Principal(user_id, sid, frozenset(roles.split(",")), "jti", 0)


async def test_reuse_of_a_rotated_token_ends_the_session_for_the_token_s_remaining_life(
    world: World,
) -> None:
    await world.accounts.register("ann@example.org", "password 1")
    first = await world.accounts.login("ann@example.org", "password 1", CLIENT)
    world.clock.now += timedelta(seconds=100)
    second = await world.accounts.refresh(first.refresh_token, CLIENT)
    assert second.session_id == first.session_id
    assert second.refresh_token != first.refresh_token

    world.clock.now += timedelta(seconds=40)
    with pytest.raises(UnauthenticatedError) as reused:
        await world.accounts.refresh(first.refresh_token, CLIENT)
    assert reused.value.reason == "REFRESH_TOKEN_REUSED"
    # The last access token was issued 40 s ago: 300 - 40 + 5 s of leeway.
    assert world.revocations.listed == {first.session_id: TTL - 40 + LEEWAY}
    with pytest.raises(UnauthenticatedError) as after:
        await world.accounts.refresh(second.refresh_token, CLIENT)
    assert after.value.reason == "SESSION_REVOKED"
    assert [(r.method, r.success) for r in world.store.history] == [
        ("password", True),
        ("refresh", False),
    ]


async def test_a_throttled_account_is_refused_before_any_hashing(world: World) -> None:
    await world.accounts.register("bob@example.org", "password 1")
    world.throttle.wait = 2.5
    with pytest.raises(TooManyAttemptsError) as caught:
        await world.accounts.login("bob@example.org", "password 1", CLIENT)
    assert caught.value.retry_after_seconds == 2.5
    assert world.passwords.verified == 0


async def test_failures_are_counted_and_recorded_only_for_real_accounts(world: World) -> None:
    user = await world.accounts.register("cat@example.org", "password 1")
    for address in ("cat@example.org", "nobody@example.org"):
        with pytest.raises(UnauthenticatedError) as caught:
            await world.accounts.login(address, "wrong one!", CLIENT)
        assert caught.value.message == "wrong email or password"
    assert world.passwords.verified == 2  # the unknown email cost a check too
    assert world.throttle.failures == ["cat@example.org", "nobody@example.org"]
    assert [(r.user_id, r.success) for r in world.store.history] == [(user.id, False)]


async def test_a_stale_hash_is_replaced_at_sign_in(world: World) -> None:
    world.passwords.stale = True
    user = await world.accounts.register("dan@example.org", "password 1")
    assert world.store.hashes[user.id] == "v1:password 1"
    world.passwords.stale = False
    await world.accounts.login("dan@example.org", "password 1", CLIENT)
    assert world.store.hashes[user.id] == "v2:password 1"


async def test_a_password_change_ends_the_other_sessions_only(world: World) -> None:
    await world.accounts.register("eve@example.org", "password 1")
    old = await world.accounts.login("eve@example.org", "password 1", CLIENT)
    world.clock.now += timedelta(seconds=100)
    here = await world.accounts.login("eve@example.org", "password 1", CLIENT)
    await world.accounts.change_password(
        principal_of(here.access_token), "password 1", "password 2"
    )
    assert world.revocations.listed == {old.session_id: TTL - 100 + LEEWAY}
    with pytest.raises(InvalidArgumentError):
        await world.accounts.change_password(
            principal_of(here.access_token), "password 1", "password 3"
        )


async def test_login_history_pages_and_page_size_limits(world: World) -> None:
    await world.accounts.register("fay@example.org", "password 1")
    tokens = await world.accounts.login("fay@example.org", "password 1", CLIENT)
    for _ in range(3):
        world.clock.now += timedelta(seconds=1)
        await world.accounts.login("fay@example.org", "password 1", CLIENT)
    me = principal_of(tokens.access_token)
    page, token = await world.accounts.login_history(me, None, "")
    assert len(page) == 2
    assert token
    rest, last = await world.accounts.login_history(me, None, token)
    assert len(rest) == 2
    assert last == ""
    assert [r.at for r in page + rest] == sorted((r.at for r in page + rest), reverse=True)
    for bad in (0, 4):
        with pytest.raises(InvalidArgumentError):
            await world.accounts.login_history(me, bad, "")

"""Accounts and sessions: register, sign in, refresh with rotation and reuse
detection, sign out, sessions, password change, profile and login history."""

from __future__ import annotations

import base64
import hashlib
import logging
import math
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from auth_service.adapters.postgres import RefreshOutcome
from auth_service.domain.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    TooManyAttemptsError,
    UnauthenticatedError,
)
from auth_service.domain.models import (
    ADMIN,
    METHOD_PASSWORD,
    METHOD_REFRESH,
    SUBSCRIBER,
    ClientInfo,
    EndedSession,
    LoginAttempt,
    Session,
    Tokens,
    User,
    check_password,
    normalise_email,
)
from auth_service.service_layer.ports import (
    AccessTokens,
    AccountStore,
    Passwords,
    Revocations,
    Throttle,
)
from movies_auth import Principal

log = logging.getLogger(__name__)

_REFRESH_TOKEN_BYTES = 32


def token_hash(refresh_token: str) -> bytes:
    return hashlib.sha256(refresh_token.encode()).digest()


@dataclass(frozen=True, slots=True)
class PageLimits:
    default: int
    maximum: int


class AccountService:
    def __init__(
        self,
        store: AccountStore,
        hasher: Passwords,
        throttle: Throttle,
        denylist: Revocations,
        issuer: AccessTokens,
        refresh_ttl_seconds: int,
        leeway_seconds: int,
        history_pages: PageLimits,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._hasher = hasher
        self._throttle = throttle
        self._denylist = denylist
        self._issuer = issuer
        self._refresh_ttl = refresh_ttl_seconds
        self._leeway = leeway_seconds
        self._pages = history_pages
        self._clock = clock

    def close(self) -> None:
        self._hasher.close()

    # --- accounts -----------------------------------------------------------

    async def register(self, email: str, password: str, admin: bool = False) -> User:
        email = normalise_email(email)
        check_password(password, email)
        roles = [SUBSCRIBER, ADMIN] if admin else [SUBSCRIBER]
        user = await self._store.create_user(email, await self._hasher.hash(password), roles)
        log.info("account created", extra={"user_id": user.id, "admin": admin})
        return user

    async def me(self, principal: Principal) -> User:
        user = await self._store.user_by_id(principal.user_id)
        if user is None:
            raise NotFoundError("the account no longer exists", "USER_NOT_FOUND")
        return user

    # --- signing in -----------------------------------------------------------

    async def login(self, email: str, password: str, client: ClientInfo) -> Tokens:
        """A failure says only "wrong email or password", and costs one argon2
        verification whether or not the account exists."""
        email = normalise_email(email)
        await self._check_throttle(email)
        creds = await self._store.credentials(email)
        ok = await self._hasher.verify(creds.password_hash if creds else None, password)
        if not ok or creds is None or creds.password_hash is None:
            await self._throttle.failed(email)
            if creds is not None:
                await self._record(creds.user_id, client, METHOD_PASSWORD, False)
            raise UnauthenticatedError("wrong email or password", "INVALID_CREDENTIALS")
        await self._throttle.succeeded(email)
        if self._hasher.needs_rehash(creds.password_hash):
            await self._store.set_password_hash(creds.user_id, await self._hasher.hash(password))
            log.info("password rehashed with current parameters", extra={"user_id": creds.user_id})
        tokens = await self._open_session(creds.user_id, client)
        await self._record(creds.user_id, client, METHOD_PASSWORD, True)
        return tokens

    async def refresh(self, refresh_token: str, client: ClientInfo) -> Tokens:
        """Rotates the refresh token. A rotated token presented again means two
        parties hold it (RFC 9700 §4.14.2): the whole session ends."""
        new_token = secrets.token_urlsafe(_REFRESH_TOKEN_BYTES)
        result = await self._store.rotate_refresh_token(
            token_hash(refresh_token),
            token_hash(new_token),
            self._refresh_ttl,
            client.ip,
            client.user_agent,
        )
        if result.outcome is RefreshOutcome.REUSED:
            await self._end(result.user_id, only=result.session_id)
            await self._record(result.user_id, client, METHOD_REFRESH, False)
            log.warning(
                "refresh token reused: session ended",
                extra={"user_id": result.user_id, "session_id": result.session_id},
            )
            raise UnauthenticatedError(
                "this refresh token was already used, so the session has been ended; sign in again",
                "REFRESH_TOKEN_REUSED",
            )
        if result.outcome is RefreshOutcome.EXPIRED:
            raise UnauthenticatedError("the session has expired; sign in again", "SESSION_EXPIRED")
        if result.outcome is RefreshOutcome.REVOKED:
            raise UnauthenticatedError("the session has ended; sign in again", "SESSION_REVOKED")
        if result.outcome is not RefreshOutcome.ROTATED:
            raise UnauthenticatedError(
                "the refresh token is not valid; sign in again", "REFRESH_TOKEN_INVALID"
            )
        access = self._issuer.issue(result.user_id, result.session_id, result.roles)
        return Tokens(access, new_token, self._issuer.ttl_seconds, result.session_id)

    async def sign_in(self, user_id: str, client: ClientInfo, method: str) -> Tokens:
        """Opens a session for a user another service-layer flow has identified
        (an OAuth sign-in), and records it."""
        tokens = await self._open_session(user_id, client)
        await self._record(user_id, client, method, True)
        return tokens

    async def _open_session(self, user_id: str, client: ClientInfo) -> Tokens:
        refresh = secrets.token_urlsafe(_REFRESH_TOKEN_BYTES)
        session_id = await self._store.open_session(
            user_id, token_hash(refresh), self._refresh_ttl, client.ip, client.user_agent
        )
        user = await self._store.user_by_id(user_id)
        roles = user.roles if user else ()
        access = self._issuer.issue(user_id, session_id, roles)
        return Tokens(access, refresh, self._issuer.ttl_seconds, session_id)

    async def _check_throttle(self, email: str) -> None:
        wait = await self._throttle.retry_after(email)
        if wait > 0:
            raise TooManyAttemptsError(
                f"too many failed sign-ins; retry in {math.ceil(wait)} s",
                "LOGIN_THROTTLED",
                wait,
            )

    async def _record(self, user_id: str, client: ClientInfo, method: str, success: bool) -> None:
        await self._store.record_login(user_id, client.ip, client.user_agent, method, success)

    # --- sessions ---------------------------------------------------------------

    async def logout(self, principal: Principal) -> None:
        await self._end(principal.user_id, only=principal.session_id)

    async def logout_all(self, principal: Principal) -> None:
        await self._end(principal.user_id)

    async def sessions(self, principal: Principal) -> list[Session]:
        return await self._store.list_sessions(principal.user_id)

    async def revoke_session(self, principal: Principal, session_id: str) -> None:
        try:
            uuid.UUID(session_id)
        except ValueError as exc:
            raise InvalidArgumentError("session_id must be a UUID", "SESSION_ID_INVALID") from exc
        if not await self._end(principal.user_id, only=session_id):
            raise NotFoundError("you have no active session with this id", "SESSION_NOT_FOUND")

    async def change_password(self, principal: Principal, old: str, new: str) -> None:
        creds = await self._store.credentials_by_id(principal.user_id)
        if creds is None:
            raise NotFoundError("the account no longer exists", "USER_NOT_FOUND")
        if creds.email is None or creds.password_hash is None:
            raise FailedPreconditionError(
                "this account signs in through an external provider and has no password",
                "NO_PASSWORD",
            )
        await self._check_throttle(creds.email)
        if not await self._hasher.verify(creds.password_hash, old):
            await self._throttle.failed(creds.email)
            raise InvalidArgumentError("old_password is wrong", "OLD_PASSWORD_WRONG")
        check_password(new, creds.email)
        await self._store.set_password_hash(creds.user_id, await self._hasher.hash(new))
        await self._end(creds.user_id, keep=principal.session_id)

    async def _end(
        self, user_id: str, only: str | None = None, keep: str | None = None
    ) -> list[EndedSession]:
        """Revokes sessions in PostgreSQL, then lists them in the deny-list for as
        long as an access token of theirs may still be valid."""
        ended = await self._store.revoke_sessions(user_id, only=only, keep=keep)
        now = self._clock()
        ttl = timedelta(seconds=self._issuer.ttl_seconds + self._leeway)
        await self._denylist.revoke(
            {s.id: math.ceil((s.last_used_at + ttl - now).total_seconds()) for s in ended}
        )
        return ended

    # --- login history --------------------------------------------------------

    async def login_history(
        self, principal: Principal, page_size: int | None, page_token: str
    ) -> tuple[list[LoginAttempt], str]:
        if page_size is None:
            size = self._pages.default
        elif 1 <= page_size <= self._pages.maximum:
            size = page_size
        else:
            raise InvalidArgumentError(
                f"page_size must be between 1 and {self._pages.maximum}", "PAGE_SIZE_INVALID"
            )
        after = decode_page_token(page_token) if page_token else None
        rows = await self._store.login_history(principal.user_id, after, size + 1)
        more = len(rows) > size
        rows = rows[:size]
        return rows, encode_page_token(rows[-1]) if more else ""


def encode_page_token(last: LoginAttempt) -> str:
    raw = f"{last.at.isoformat()}|{last.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        at, _, row_id = raw.partition("|")
        return datetime.fromisoformat(at), int(row_id)
    except ValueError as exc:
        raise InvalidArgumentError(
            "page_token is not one this API returned", "PAGE_TOKEN_INVALID"
        ) from exc

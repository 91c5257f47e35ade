"""What the account service needs from its adapters, as small interfaces: the
PostgreSQL, argon2, Redis and JWT adapters satisfy them in production, in-memory
fakes in unit tests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from auth_service.adapters.postgres import RefreshResult
from auth_service.domain.models import (
    Credentials,
    EndedSession,
    LoginAttempt,
    Session,
    User,
)


class AccountStore(Protocol):
    async def create_user(
        self, email: str, password_hash: str | None, roles: list[str]
    ) -> User: ...

    async def user_by_id(self, user_id: str) -> User | None: ...

    async def credentials(self, email: str) -> Credentials | None: ...

    async def credentials_by_id(self, user_id: str) -> Credentials | None: ...

    async def set_password_hash(self, user_id: str, password_hash: str) -> None: ...

    async def open_session(
        self, user_id: str, refresh_hash: bytes, ttl_seconds: int, ip: str, user_agent: str
    ) -> str: ...

    async def rotate_refresh_token(
        self, old_hash: bytes, new_hash: bytes, ttl_seconds: int, ip: str, user_agent: str
    ) -> RefreshResult: ...

    async def list_sessions(self, user_id: str) -> list[Session]: ...

    async def revoke_sessions(
        self, user_id: str, only: str | None = None, keep: str | None = None
    ) -> list[EndedSession]: ...

    async def record_login(
        self,
        user_id: str,
        ip: str,
        user_agent: str,
        method: str,
        success: bool,
        at: datetime | None = None,
    ) -> None: ...

    async def login_history(
        self, user_id: str, after: tuple[datetime, int] | None, limit: int
    ) -> list[LoginAttempt]: ...


class Passwords(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str | None, password: str) -> bool: ...

    def needs_rehash(self, password_hash: str) -> bool: ...

    def close(self) -> None: ...


class Throttle(Protocol):
    async def retry_after(self, email: str) -> float: ...

    async def failed(self, email: str) -> None: ...

    async def succeeded(self, email: str) -> None: ...


class Revocations(Protocol):
    async def revoke(self, ttl_by_session: Mapping[str, int]) -> None: ...


class AccessTokens(Protocol):
    ttl_seconds: int

    def issue(self, user_id: str, session_id: str, roles: tuple[str, ...]) -> str: ...

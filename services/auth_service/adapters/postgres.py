"""PostgreSQL storage of accounts, roles, sessions, refresh tokens, signing keys
and the login history. Each method is one transaction; the rules live in the
service layer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, Final

from psycopg import AsyncConnection, errors
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from auth_service.domain.errors import AlreadyExistsError, NotFoundError
from auth_service.domain.models import (
    Credentials,
    EndedSession,
    LoginAttempt,
    Role,
    Session,
    User,
)

_USER: Final = (
    "select u.id::text, u.email, u.created_at,"
    " coalesce(array_agg(r.role order by r.role) filter (where r.role is not null), '{}')"
    " from auth.users u left join auth.user_roles r on r.user_id = u.id"
)


def _user(row: TupleRow) -> User:
    return User(id=row[0], email=row[1], created_at=row[2], roles=tuple(row[3]))


def month_start(at: datetime, months_after: int = 0) -> datetime:
    """The first instant (UTC) of the month `months_after` months after `at`'s."""
    index = at.astimezone(UTC).year * 12 + at.astimezone(UTC).month - 1 + months_after
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def partition_name(start: datetime) -> str:
    return f"login_history_y{start.year:04d}m{start.month:02d}"


class RefreshOutcome(Enum):
    ROTATED = "rotated"
    UNKNOWN = "unknown"
    REUSED = "reused"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class RefreshResult:
    outcome: RefreshOutcome
    session_id: str = ""
    user_id: str = ""
    roles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StoredKey:
    kid: str
    algorithm: str
    public_jwk: dict[str, Any]
    private_key: bytes
    created_at: datetime
    retired_at: datetime | None
    # When it starts signing (the JWKS lists it from creation on).
    active_from: datetime


class PostgresStore:
    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[TupleRow]]) -> None:
        self._pool = pool

    # --- accounts -------------------------------------------------------

    async def create_user(self, email: str, password_hash: str | None, roles: list[str]) -> User:
        user_id = uuid.uuid4()
        async with self._pool.connection() as conn, conn.transaction():
            try:
                await conn.execute(
                    "insert into auth.users (id, email, password_hash) values (%s, %s, %s)",
                    (user_id, email, password_hash),
                )
            except errors.UniqueViolation as exc:
                raise AlreadyExistsError(
                    "an account with this email exists; sign in instead", "EMAIL_TAKEN"
                ) from exc
            for role in roles:
                await conn.execute(
                    "insert into auth.user_roles (user_id, role) values (%s, %s)", (user_id, role)
                )
        found = await self.user_by_id(str(user_id))
        assert found is not None
        return found

    async def user_by_id(self, user_id: str) -> User | None:
        try:
            uid = uuid.UUID(user_id)
        except ValueError:
            return None
        async with self._pool.connection() as conn:
            cur = await conn.execute(_USER + " where u.id = %s group by u.id", (uid,))
            row = await cur.fetchone()
        return _user(row) if row else None

    async def credentials(self, email: str) -> Credentials | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "select id::text, email, password_hash from auth.users where email = %s", (email,)
            )
            row = await cur.fetchone()
        return Credentials(row[0], row[1], row[2]) if row else None

    async def credentials_by_id(self, user_id: str) -> Credentials | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "select id::text, email, password_hash from auth.users where id = %s", (user_id,)
            )
            row = await cur.fetchone()
        return Credentials(row[0], row[1], row[2]) if row else None

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "update auth.users set password_hash = %s where id = %s", (password_hash, user_id)
            )

    # --- external identities (OAuth) -------------------------------------

    async def user_for_identity(self, provider: str, subject: str) -> str | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "select user_id::text from auth.oauth_accounts"
                " where provider = %s and subject = %s",
                (provider, subject),
            )
            row = await cur.fetchone()
        return str(row[0]) if row else None

    async def create_oauth_user(
        self, provider: str, subject: str, email: str | None, roles: list[str]
    ) -> str:
        """A new account linked to the identity. It takes the provider's email
        only if no account has it (never links to that account)."""
        user_id = uuid.uuid4()
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(
                "insert into auth.users (id, email) values (%s,"
                " (select %s::text where not exists"
                "  (select 1 from auth.users where email = %s::text)))",
                (user_id, email, email),
            )
            for role in roles:
                await conn.execute(
                    "insert into auth.user_roles (user_id, role) values (%s, %s)", (user_id, role)
                )
            try:
                await conn.execute(
                    "insert into auth.oauth_accounts (provider, subject, user_id, email)"
                    " values (%s, %s, %s, %s)",
                    (provider, subject, user_id, email),
                )
            except errors.UniqueViolation as exc:
                raise AlreadyExistsError(
                    "this account was created by a concurrent sign-in; sign in again",
                    "OAUTH_IDENTITY_TAKEN",
                ) from exc
        return str(user_id)

    async def link_identity(
        self, provider: str, subject: str, user_id: str, email: str | None
    ) -> str:
        """Links the identity to the user; returns the user it is linked to
        (another one if it was linked before)."""
        async with self._pool.connection() as conn:
            await conn.execute(
                "insert into auth.oauth_accounts (provider, subject, user_id, email)"
                " values (%s, %s, %s, %s) on conflict (provider, subject) do nothing",
                (provider, subject, user_id, email),
            )
            cur = await conn.execute(
                "select user_id::text from auth.oauth_accounts"
                " where provider = %s and subject = %s",
                (provider, subject),
            )
            row = await cur.fetchone()
        assert row is not None
        return str(row[0])

    # --- sessions and refresh tokens -------------------------------------

    async def open_session(
        self, user_id: str, refresh_hash: bytes, ttl_seconds: int, ip: str, user_agent: str
    ) -> str:
        session_id = uuid.uuid4()
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(
                "insert into auth.sessions (id, user_id, expires_at, ip, user_agent)"
                " values (%s, %s, now() + make_interval(secs => %s), %s, %s)",
                (session_id, user_id, ttl_seconds, ip, user_agent),
            )
            await conn.execute(
                "insert into auth.refresh_tokens (token_hash, session_id, expires_at)"
                " values (%s, %s, now() + make_interval(secs => %s))",
                (refresh_hash, session_id, ttl_seconds),
            )
        return str(session_id)

    async def rotate_refresh_token(
        self, old_hash: bytes, new_hash: bytes, ttl_seconds: int, ip: str, user_agent: str
    ) -> RefreshResult:
        """Exchanges a refresh token once, in one round trip (see migration 0003);
        a successful exchange is also recorded in the login history."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "select r_outcome, r_session_id::text, r_user_id::text, r_roles"
                " from auth.rotate_refresh_token(%s, %s, %s, %s, %s)",
                (old_hash, new_hash, ttl_seconds, ip, user_agent),
            )
            row = await cur.fetchone()
        assert row is not None
        return RefreshResult(
            RefreshOutcome(row[0]), row[1] or "", row[2] or "", tuple(row[3] or ())
        )

    async def session_is_active(self, session_id: str) -> bool:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "select 1 from auth.sessions where id = %s and revoked_at is null"
                " and expires_at > now()",
                (session_id,),
            )
            return await cur.fetchone() is not None

    async def list_sessions(self, user_id: str) -> list[Session]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "select id::text, user_id::text, user_agent, ip, created_at, last_used_at"
                " from auth.sessions where user_id = %s and revoked_at is null"
                " and expires_at > now() order by created_at desc, id",
                (user_id,),
            )
            rows = await cur.fetchall()
        return [Session(*row) for row in rows]

    async def revoke_sessions(
        self,
        user_id: str,
        only: str | None = None,
        keep: str | None = None,
    ) -> list[EndedSession]:
        """Ends the user's live sessions (just `only`, or all but `keep`)."""
        query = (
            "update auth.sessions set revoked_at = now() where user_id = %s and revoked_at is null"
        )
        params: list[Any] = [user_id]
        if only is not None:
            query += " and id = %s"
            params.append(only)
        if keep is not None:
            query += " and id <> %s"
            params.append(keep)
        async with self._pool.connection() as conn:
            cur = await conn.execute(query + " returning id::text, last_used_at", params)
            rows = await cur.fetchall()
        return [EndedSession(row[0], row[1]) for row in rows]

    # --- roles ------------------------------------------------------------

    async def list_roles(self) -> list[Role]:
        async with self._pool.connection() as conn:
            cur = await conn.execute("select name, description from auth.roles order by name")
            return [Role(*row) for row in await cur.fetchall()]

    async def create_role(self, role: Role) -> Role:
        async with self._pool.connection() as conn:
            try:
                await conn.execute(
                    "insert into auth.roles (name, description) values (%s, %s)",
                    (role.name, role.description),
                )
            except errors.UniqueViolation as exc:
                raise AlreadyExistsError(f"role `{role.name}` exists", "ROLE_EXISTS") from exc
        return role

    async def delete_role(self, name: str) -> bool:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "delete from auth.roles where name = %s and not builtin returning 1", (name,)
            )
            return await cur.fetchone() is not None

    async def role_exists(self, name: str) -> bool:
        async with self._pool.connection() as conn:
            cur = await conn.execute("select 1 from auth.roles where name = %s", (name,))
            return await cur.fetchone() is not None

    async def grant_role(self, user_id: str, role: str) -> None:
        async with self._pool.connection() as conn:
            try:
                await conn.execute(
                    "insert into auth.user_roles (user_id, role) values (%s, %s)"
                    " on conflict do nothing",
                    (user_id, role),
                )
            except errors.ForeignKeyViolation as exc:
                raise NotFoundError("no such user or role", "NOT_FOUND") from exc

    async def revoke_role(self, user_id: str, role: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "delete from auth.user_roles where user_id = %s and role = %s", (user_id, role)
            )

    # --- login history ----------------------------------------------------

    async def record_login(
        self,
        user_id: str,
        ip: str,
        user_agent: str,
        method: str,
        success: bool,
        at: datetime | None = None,
    ) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "insert into auth.login_history"
                " (user_id, occurred_at, ip, user_agent, method, success)"
                " values (%s, coalesce(%s, now()), %s, %s, %s, %s)",
                (user_id, at, ip, user_agent, method, success),
            )

    async def login_history(
        self, user_id: str, after: tuple[datetime, int] | None, limit: int
    ) -> list[LoginAttempt]:
        """Newest first, keyset-paged: `after` is the (time, id) of the last row seen."""
        query = (
            "select id, user_id::text, occurred_at, ip, user_agent, method, success"
            " from auth.login_history where user_id = %s"
        )
        params: list[Any] = [user_id]
        if after is not None:
            query += " and (occurred_at, id) < (%s, %s)"
            params.extend(after)
        query += " order by occurred_at desc, id desc limit %s"
        params.append(limit)
        async with self._pool.connection() as conn:
            cur = await conn.execute(query, params)
            return [LoginAttempt(*row) for row in await cur.fetchall()]

    async def ensure_history_partitions(self, now: datetime, months_ahead: int) -> list[str]:
        """Creates the monthly partitions from `now`'s month to `months_ahead`
        months later; returns the ones created."""
        created = []
        async with self._pool.connection() as conn:
            for offset in range(months_ahead + 1):
                start, end = month_start(now, offset), month_start(now, offset + 1)
                name = partition_name(start)
                cur = await conn.execute("select to_regclass(%s)", (f"auth.{name}",))
                row = await cur.fetchone()
                if row and row[0] is not None:
                    continue
                try:
                    await conn.execute(
                        f"create table auth.{name} partition of auth.login_history"
                        f" for values from ('{start.isoformat()}') to ('{end.isoformat()}')"
                    )
                except errors.DuplicateTable:
                    continue  # another replica made it first
                created.append(name)
        return created

    # --- signing keys -----------------------------------------------------

    async def signing_keys(self) -> list[StoredKey]:
        """Every key, newest first."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "select kid, algorithm, public_jwk, private_key, created_at, retired_at,"
                " active_from from auth.signing_keys order by created_at desc, kid"
            )
            return [StoredKey(*row) for row in await cur.fetchall()]

    async def add_signing_key(
        self, key: StoredKey, only_if_none: bool, activation_delay: timedelta = timedelta(0)
    ) -> bool:
        """Stores a key that signs once `activation_delay` has passed and retires
        the keys signing (or due to sign) until then at that moment. With
        `only_if_none`, does nothing when a key exists (first start of replicas)."""
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("lock table auth.signing_keys in exclusive mode")
            if only_if_none:
                cur = await conn.execute("select 1 from auth.signing_keys limit 1")
                if await cur.fetchone():
                    return False
            cur = await conn.execute("select now() + %s", (activation_delay,))
            row = await cur.fetchone()
            assert row is not None
            active_from = row[0]
            await conn.execute(
                "update auth.signing_keys set retired_at = %s"
                " where retired_at is null or retired_at > %s",
                (active_from, active_from),
            )
            await conn.execute(
                "insert into auth.signing_keys"
                " (kid, algorithm, public_jwk, private_key, active_from)"
                " values (%s, %s, %s, %s, %s)",
                (key.kid, key.algorithm, Jsonb(key.public_jwk), key.private_key, active_from),
            )
        return True

    async def prune_signing_keys(self, older_than: timedelta) -> int:
        """Deletes keys retired longer ago than `older_than` (no token of theirs is valid)."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "delete from auth.signing_keys where retired_at < now() - %s", (older_than,)
            )
            return cur.rowcount

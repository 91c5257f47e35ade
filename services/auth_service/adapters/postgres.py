"""PostgreSQL storage of accounts, roles, sessions, refresh tokens, signing keys
and the login history. Each method is one transaction; the rules live in the
service layer.

asyncpg, not psycopg, on this path: its protocol is compiled and every query is
a cached prepared statement, so a refresh (one call of a SQL function) costs
the service about half the driver time. Migrations stay on psycopg
(`movies_migrations`)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, Final

import asyncpg
from asyncpg import exceptions as pg_errors

import movies_pg
from auth_service.domain.errors import AlreadyExistsError, NotFoundError
from auth_service.domain.models import (
    Credentials,
    EndedSession,
    LoginAttempt,
    Role,
    Session,
    User,
)
from movies_pg import Pool

_USER: Final = (
    "select u.id::text, u.email, u.created_at,"
    " coalesce(array_agg(r.role order by r.role) filter (where r.role is not null), '{}')"
    " from auth.users u left join auth.user_roles r on r.user_id = u.id"
)


def _user(row: asyncpg.Record) -> User:
    return User(id=row[0], email=row[1], created_at=row[2], roles=tuple(row[3]))


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def month_start(at: datetime, months_after: int = 0) -> datetime:
    """The first instant (UTC) of the month `months_after` months after `at`'s."""
    index = at.astimezone(UTC).year * 12 + at.astimezone(UTC).month - 1 + months_after
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def partition_name(start: datetime) -> str:
    return f"login_history_y{start.year:04d}m{start.month:02d}"


async def _init_connection(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    """jsonb in and out as Python objects (the signing keys' public JWKs)."""
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def open_pool(
    dsn: str, size: int, connect_timeout_seconds: float, statement_timeout_seconds: float
) -> Pool:
    """The shared pool recipe (movies_pg) with jsonb as Python objects: a
    statement gives up after `statement_timeout_seconds`, so a stalled server
    cannot hold a connection (a background job's, say) forever."""
    return await movies_pg.open_pool(
        dsn,
        size,
        command_timeout=statement_timeout_seconds,
        connect_timeout=connect_timeout_seconds,
        init=_init_connection,
    )


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
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    # --- accounts -------------------------------------------------------

    async def create_user(self, email: str, password_hash: str | None, roles: list[str]) -> User:
        user_id = uuid.uuid4()
        async with self._pool.acquire() as conn, conn.transaction():
            try:
                await conn.execute(
                    "insert into auth.users (id, email, password_hash) values ($1, $2, $3)",
                    user_id,
                    email,
                    password_hash,
                )
            except pg_errors.UniqueViolationError as exc:
                raise AlreadyExistsError(
                    "an account with this email exists; sign in instead", "EMAIL_TAKEN"
                ) from exc
            await conn.execute(
                "insert into auth.user_roles (user_id, role) select $1, unnest($2::text[])",
                user_id,
                roles,
            )
        found = await self.user_by_id(str(user_id))
        assert found is not None
        return found

    async def user_by_id(self, user_id: str) -> User | None:
        uid = _uuid(user_id)
        if uid is None:
            return None
        row = await self._pool.fetchrow(_USER + " where u.id = $1 group by u.id", uid)
        return _user(row) if row else None

    async def credentials(self, email: str) -> Credentials | None:
        row = await self._pool.fetchrow(
            "select id::text, email, password_hash from auth.users where email = $1", email
        )
        return Credentials(row[0], row[1], row[2]) if row else None

    async def credentials_by_id(self, user_id: str) -> Credentials | None:
        uid = _uuid(user_id)
        if uid is None:
            return None
        row = await self._pool.fetchrow(
            "select id::text, email, password_hash from auth.users where id = $1", uid
        )
        return Credentials(row[0], row[1], row[2]) if row else None

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        await self._pool.execute(
            "update auth.users set password_hash = $1 where id = $2",
            password_hash,
            user_id,
        )

    # --- external identities (OAuth) -------------------------------------

    async def user_for_identity(self, provider: str, subject: str) -> str | None:
        value = await self._pool.fetchval(
            "select user_id::text from auth.oauth_accounts where provider = $1 and subject = $2",
            provider,
            subject,
        )
        return str(value) if value is not None else None

    async def create_oauth_user(
        self, provider: str, subject: str, email: str | None, roles: list[str]
    ) -> str:
        """A new account linked to the identity. It takes the provider's email
        only if no account has it (never links to that account)."""
        user_id = uuid.uuid4()
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "insert into auth.users (id, email) values ($1,"
                " (select $2::text where not exists"
                "  (select 1 from auth.users where email = $2::text)))",
                user_id,
                email,
            )
            await conn.execute(
                "insert into auth.user_roles (user_id, role) select $1, unnest($2::text[])",
                user_id,
                roles,
            )
            try:
                await conn.execute(
                    "insert into auth.oauth_accounts (provider, subject, user_id, email)"
                    " values ($1, $2, $3, $4)",
                    provider,
                    subject,
                    user_id,
                    email,
                )
            except pg_errors.UniqueViolationError as exc:
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
        async with self._pool.acquire() as conn:
            await conn.execute(
                "insert into auth.oauth_accounts (provider, subject, user_id, email)"
                " values ($1, $2, $3, $4) on conflict (provider, subject) do nothing",
                provider,
                subject,
                user_id,
                email,
            )
            value = await conn.fetchval(
                "select user_id::text from auth.oauth_accounts"
                " where provider = $1 and subject = $2",
                provider,
                subject,
            )
        assert value is not None
        return str(value)

    # --- sessions and refresh tokens -------------------------------------

    async def open_session(
        self, user_id: str, refresh_hash: bytes, ttl_seconds: int, ip: str, user_agent: str
    ) -> str:
        """The session and its first refresh token, in one statement."""
        session_id = uuid.uuid4()
        await self._pool.execute(
            "with s as (insert into auth.sessions (id, user_id, expires_at, ip, user_agent)"
            " values ($1, $2, now() + make_interval(secs => $4), $5, $6)"
            " returning id, expires_at)"
            " insert into auth.refresh_tokens (token_hash, session_id, expires_at)"
            " select $3, s.id, s.expires_at from s",
            session_id,
            user_id,
            refresh_hash,
            float(ttl_seconds),
            ip,
            user_agent,
        )
        return str(session_id)

    async def rotate_refresh_token(
        self, old_hash: bytes, new_hash: bytes, ttl_seconds: int, ip: str, user_agent: str
    ) -> RefreshResult:
        """Exchanges a refresh token once, in one round trip (see migration 0003);
        a successful exchange is also recorded in the login history."""
        row = await self._pool.fetchrow(
            "select r_outcome, r_session_id::text, r_user_id::text, r_roles"
            " from auth.rotate_refresh_token($1, $2, $3, $4, $5)",
            old_hash,
            new_hash,
            ttl_seconds,
            ip,
            user_agent,
        )
        assert row is not None
        return RefreshResult(
            RefreshOutcome(row[0]), row[1] or "", row[2] or "", tuple(row[3] or ())
        )

    async def session_is_active(self, session_id: str) -> bool:
        sid = _uuid(session_id)
        if sid is None:
            return False
        found = await self._pool.fetchval(
            "select 1 from auth.sessions where id = $1 and revoked_at is null"
            " and expires_at > now()",
            sid,
        )
        return found is not None

    async def list_sessions(self, user_id: str) -> list[Session]:
        rows = await self._pool.fetch(
            "select id::text, user_id::text, user_agent, ip, created_at, last_used_at"
            " from auth.sessions where user_id = $1 and revoked_at is null"
            " and expires_at > now() order by created_at desc, id",
            user_id,
        )
        return [Session(*row) for row in rows]

    async def revoke_sessions(
        self,
        user_id: str,
        only: str | None = None,
        keep: str | None = None,
    ) -> list[EndedSession]:
        """Ends the user's live sessions (just `only`, or all but `keep`)."""
        query = (
            "update auth.sessions set revoked_at = now() where user_id = $1 and revoked_at is null"
        )
        params: list[Any] = [user_id]
        if only is not None:
            params.append(only)
            query += f" and id = ${len(params)}"
        if keep is not None:
            params.append(keep)
            query += f" and id <> ${len(params)}"
        rows = await self._pool.fetch(query + " returning id::text, last_used_at", *params)
        return [EndedSession(row[0], row[1]) for row in rows]

    # --- roles ------------------------------------------------------------

    async def list_roles(self) -> list[Role]:
        rows = await self._pool.fetch("select name, description from auth.roles order by name")
        return [Role(*row) for row in rows]

    async def create_role(self, role: Role) -> Role:
        try:
            await self._pool.execute(
                "insert into auth.roles (name, description) values ($1, $2)",
                role.name,
                role.description,
            )
        except pg_errors.UniqueViolationError as exc:
            raise AlreadyExistsError(f"role `{role.name}` exists", "ROLE_EXISTS") from exc
        return role

    async def delete_role(self, name: str) -> bool:
        found = await self._pool.fetchval(
            "delete from auth.roles where name = $1 and not builtin returning 1", name
        )
        return found is not None

    async def role_exists(self, name: str) -> bool:
        found = await self._pool.fetchval("select 1 from auth.roles where name = $1", name)
        return found is not None

    async def grant_role(self, user_id: str, role: str) -> None:
        try:
            await self._pool.execute(
                "insert into auth.user_roles (user_id, role) values ($1, $2)"
                " on conflict do nothing",
                user_id,
                role,
            )
        except pg_errors.ForeignKeyViolationError as exc:
            raise NotFoundError("no such user or role", "NOT_FOUND") from exc

    async def revoke_role(self, user_id: str, role: str) -> None:
        await self._pool.execute(
            "delete from auth.user_roles where user_id = $1 and role = $2",
            user_id,
            role,
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
        await self._pool.execute(
            "insert into auth.login_history"
            " (user_id, occurred_at, ip, user_agent, method, success)"
            " values ($1, coalesce($2, now()), $3, $4, $5, $6)",
            user_id,
            at,
            ip,
            user_agent,
            method,
            success,
        )

    async def login_history(
        self, user_id: str, after: tuple[datetime, int] | None, limit: int
    ) -> list[LoginAttempt]:
        """Newest first, keyset-paged: `after` is the (time, id) of the last row seen."""
        query = (
            "select id, user_id::text, occurred_at, ip, user_agent, method, success"
            " from auth.login_history where user_id = $1"
        )
        params: list[Any] = [user_id]
        if after is not None:
            query += " and (occurred_at, id) < ($2, $3)"
            params.extend(after)
        params.append(limit)
        query += f" order by occurred_at desc, id desc limit ${len(params)}"
        rows = await self._pool.fetch(query, *params)
        return [LoginAttempt(*row) for row in rows]

    async def ensure_history_partitions(self, now: datetime, months_ahead: int) -> list[str]:
        """Creates the monthly partitions from `now`'s month to `months_ahead`
        months later; returns the ones created."""
        created = []
        async with self._pool.acquire() as conn:
            for offset in range(months_ahead + 1):
                start, end = month_start(now, offset), month_start(now, offset + 1)
                name = partition_name(start)
                if await conn.fetchval("select to_regclass($1)::text", f"auth.{name}"):
                    continue
                try:
                    await conn.execute(
                        f"create table auth.{name} partition of auth.login_history"
                        f" for values from ('{start.isoformat()}') to ('{end.isoformat()}')"
                    )
                except pg_errors.DuplicateTableError:
                    continue  # another replica made it first
                created.append(name)
        return created

    # --- signing keys -----------------------------------------------------

    async def signing_keys(self) -> list[StoredKey]:
        """Every key, newest first."""
        rows = await self._pool.fetch(
            "select kid, algorithm, public_jwk, private_key, created_at, retired_at,"
            " active_from from auth.signing_keys order by created_at desc, kid"
        )
        return [StoredKey(*row) for row in rows]

    async def add_signing_key(
        self, key: StoredKey, only_if_none: bool, activation_delay: timedelta = timedelta(0)
    ) -> bool:
        """Stores a key that signs once `activation_delay` has passed and retires
        the keys signing (or due to sign) until then at that moment. With
        `only_if_none`, does nothing when a key exists (first start of replicas)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("lock table auth.signing_keys in exclusive mode")
            if only_if_none and await conn.fetchval("select 1 from auth.signing_keys limit 1"):
                return False
            active_from = await conn.fetchval("select now() + $1::interval", activation_delay)
            await conn.execute(
                "update auth.signing_keys set retired_at = $1"
                " where retired_at is null or retired_at > $1",
                active_from,
            )
            await conn.execute(
                "insert into auth.signing_keys"
                " (kid, algorithm, public_jwk, private_key, active_from)"
                " values ($1, $2, $3, $4, $5)",
                key.kid,
                key.algorithm,
                key.public_jwk,
                key.private_key,
                active_from,
            )
        return True

    async def prune_signing_keys(self, older_than: timedelta) -> int:
        """Deletes keys retired longer ago than `older_than` (no token of theirs is valid)."""
        status = await self._pool.execute(
            "delete from auth.signing_keys where retired_at < now() - $1::interval", older_than
        )
        return int(status.rsplit(" ", 1)[-1])

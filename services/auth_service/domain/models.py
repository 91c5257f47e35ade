"""Accounts, sessions and the rules on emails, passwords and role names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from auth_service.domain.errors import InvalidArgumentError

PASSWORD_MIN_LENGTH: Final = 8
PASSWORD_MAX_LENGTH: Final = 1024
EMAIL_MAX_LENGTH: Final = 254  # RFC 5321 path limit
# Deliberately loose: one @, something on each side, a dot in the domain. The
# only real check of an email is a message that reaches it.
_EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ROLE: Final = re.compile(r"^[a-z0-9_-]{1,64}$")

ADMIN: Final = "admin"
SUBSCRIBER: Final = "subscriber"
BUILTIN_ROLES: Final = frozenset({ADMIN, SUBSCRIBER})

METHOD_PASSWORD: Final = "password"
METHOD_REFRESH: Final = "refresh"
METHOD_OAUTH: Final = "oauth:{provider}"


def normalise_email(raw: str) -> str:
    """Trimmed and lower-cased, so `Ann@X.org ` and `ann@x.org` are one account."""
    email = raw.strip().lower()
    if len(email) > EMAIL_MAX_LENGTH or not _EMAIL.match(email):
        raise InvalidArgumentError("email must look like name@example.org", "EMAIL_INVALID")
    return email


def check_password(password: str, email: str) -> None:
    """Length bounds (NIST SP 800-63B) and not the email itself."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise InvalidArgumentError(
            f"password must have at least {PASSWORD_MIN_LENGTH} characters", "PASSWORD_TOO_SHORT"
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise InvalidArgumentError(
            f"password must have at most {PASSWORD_MAX_LENGTH} characters", "PASSWORD_TOO_LONG"
        )
    if password.strip().lower() == email:
        raise InvalidArgumentError("password must not be the email", "PASSWORD_IS_EMAIL")


def check_role_name(name: str) -> str:
    if not _ROLE.match(name):
        raise InvalidArgumentError(
            "role names are 1 to 64 lower-case letters, digits, `_` or `-`", "ROLE_NAME_INVALID"
        )
    return name


@dataclass(frozen=True, slots=True)
class User:
    id: str
    # None for an account made by an OAuth sign-in without a usable email.
    email: str | None
    roles: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a sign-in checks; the hash never leaves the service."""

    user_id: str
    email: str | None
    password_hash: str | None


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    user_id: str
    user_agent: str
    ip: str
    created_at: datetime
    last_used_at: datetime


@dataclass(frozen=True, slots=True)
class EndedSession:
    """A session just revoked, and when it last received an access token (which
    bounds how long that token can still be presented)."""

    id: str
    last_used_at: datetime


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    id: int
    user_id: str
    at: datetime
    ip: str
    user_agent: str
    method: str
    success: bool


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Where a request came from, for sessions and the login history."""

    ip: str
    user_agent: str


@dataclass(frozen=True, slots=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: str

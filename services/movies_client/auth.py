"""Typed async client for the auth service (`auth.v1`), for services that sign
people in on their own pages (the admin panel) rather than behind the edge.

Same habits as `MoviesClient`: a deadline on every call, errors as exceptions
carrying the server's AIP-193 reason. Only calls that change nothing are
retried: a repeated Refresh would present a spent refresh token, which the
auth service treats as theft and answers by ending the whole session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

from google.rpc import error_details_pb2
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.encoding.proto import ProtoStatusDetailsCodec
from grpclib.exceptions import GRPCError
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from auth.v1 import auth_service_pb2 as a
from auth.v1 import user_service_pb2 as u
from auth.v1.auth_service_grpc import AuthServiceStub
from auth.v1.user_service_grpc import UserServiceStub
from movies_client.client import ClientError, InvalidArgumentError, UnavailableError

T = TypeVar("T")
_RETRYABLE = frozenset({Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED})


class AuthError(ClientError):
    """A refusal by the auth service; `reason` is its ErrorInfo reason (UPPER_SNAKE)."""

    def __init__(self, status: Status, message: str | None, reason: str = "") -> None:
        super().__init__(status, message)
        self.reason = reason


class UnauthenticatedError(AuthError):
    """Wrong email or password, or a token that proves nothing (expired, revoked...)."""


class PermissionDeniedError(AuthError):
    """The caller is known but may not do this."""


class ThrottledError(AuthError):
    """Too many failed sign-ins for the account: wait and retry."""


_ERRORS: dict[Status, type[ClientError]] = {
    Status.UNAUTHENTICATED: UnauthenticatedError,
    Status.PERMISSION_DENIED: PermissionDeniedError,
    Status.RESOURCE_EXHAUSTED: ThrottledError,
    Status.INVALID_ARGUMENT: InvalidArgumentError,
    Status.UNAVAILABLE: UnavailableError,
    Status.DEADLINE_EXCEEDED: UnavailableError,
}


@dataclass(frozen=True, slots=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class Account:
    """The account as the auth service stores it now (roles included, not the token's)."""

    user_id: str
    email: str
    roles: frozenset[str]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is behind the call, for the auth service's login history. (grpclib
    sends its own user-agent and refuses another in metadata.)"""

    ip: str = ""

    def metadata(self) -> dict[str, str]:
        return {"x-forwarded-for": self.ip} if self.ip else {}


def _reason(exc: GRPCError) -> str:
    for detail in exc.details or ():
        if isinstance(detail, error_details_pb2.ErrorInfo):
            return str(detail.reason)
    return ""


def _transient(exc: BaseException) -> bool:
    """A status worth another attempt, or a connection that never reached the server."""
    if isinstance(exc, GRPCError):
        return exc.status in _RETRYABLE
    return isinstance(exc, ConnectionRefusedError)


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


class AuthClient:
    """One HTTP/2 connection to the auth service."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 50052,
        *,
        timeout: float = 3.0,
        attempts: int = 3,
        backoff_initial: float = 0.1,
        backoff_max: float = 1.0,
    ) -> None:
        self._channel = Channel(host, port, status_details_codec=ProtoStatusDetailsCodec())
        self._auth = AuthServiceStub(self._channel)
        self._users = UserServiceStub(self._channel)
        self._timeout = timeout
        self._attempts = attempts
        self._backoff = (backoff_initial, backoff_max)

    async def __aenter__(self) -> AuthClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    async def login(self, email: str, password: str, caller: Caller = Caller()) -> Tokens:
        # Not retried on a deadline: a second attempt would count as a second failure.
        reply: a.LoginResponse = await self._call(
            self._auth.Login,
            a.LoginRequest(email=email, password=password),
            caller.metadata(),
            retry=False,
        )
        return Tokens(reply.access_token, reply.refresh_token, reply.expires_in)

    async def refresh(self, refresh_token: str, caller: Caller = Caller()) -> Tokens:
        reply: a.RefreshResponse = await self._call(
            self._auth.Refresh,
            a.RefreshRequest(refresh_token=refresh_token),
            caller.metadata(),
            retry=False,
        )
        return Tokens(reply.access_token, reply.refresh_token, reply.expires_in)

    async def get_me(self, access_token: str) -> Account:
        """Checks the token (signature, expiry, revoked session) and reads the account."""
        user: a.User = await self._call(
            self._users.GetMe, u.GetMeRequest(), _bearer(access_token), retry=True
        )
        return Account(user.user_id, user.email, frozenset(user.roles))

    async def logout(self, access_token: str) -> None:
        await self._call(self._auth.Logout, a.LogoutRequest(), _bearer(access_token), retry=True)

    async def _call(
        self,
        method: Callable[..., Awaitable[T]],
        request: Any,
        metadata: dict[str, str],
        *,
        retry: bool,
    ) -> T:
        retrying = AsyncRetrying(
            retry=retry_if_exception(_transient),
            stop=stop_after_attempt(self._attempts if retry else 1),
            wait=wait_exponential_jitter(multiplier=self._backoff[0], max=self._backoff[1]),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await method(request, timeout=self._timeout, metadata=metadata)
        except GRPCError as exc:
            kind = _ERRORS.get(exc.status, ClientError)
            if issubclass(kind, AuthError):
                raise kind(exc.status, exc.message, _reason(exc)) from exc
            raise kind(exc.status, exc.message) from exc
        except (ConnectionError, OSError) as exc:
            raise UnavailableError(Status.UNAVAILABLE, f"auth service unreachable: {exc}") from exc
        raise AssertionError("unreachable: tenacity re-raises the last error")

"""gRPC entrypoint: thin handlers, the token policy, the error table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Final

import grpc
import redis.exceptions
from google.protobuf import empty_pb2, timestamp_pb2
from google.protobuf.message import Message

from auth.v1 import auth_service_pb2 as pb
from auth.v1 import role_service_pb2 as role_pb
from auth.v1 import user_service_pb2 as user_pb
from auth_service.bootstrap import App
from auth_service.domain.errors import (
    AlreadyExistsError,
    DomainError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    TooManyAttemptsError,
    UnauthenticatedError,
    UnavailableError,
)
from auth_service.domain.models import ADMIN, ClientInfo, Session, Tokens, User
from movies_auth import AccessPolicy, current_principal, optional_principal
from movies_auth.interceptor import ERROR_DOMAIN
from movies_grpc import REFLECTION_V1, Failure, Metadata, RpcRunner, method_handlers
from movies_pg import UNAVAILABLE_ERRORS

Context = grpc.aio.ServicerContext[Any, Any]
Call = Callable[[Any, Context], Awaitable[Message]]

_STATUS: Final[dict[type[BaseException], grpc.StatusCode]] = {
    InvalidArgumentError: grpc.StatusCode.INVALID_ARGUMENT,
    AlreadyExistsError: grpc.StatusCode.ALREADY_EXISTS,
    NotFoundError: grpc.StatusCode.NOT_FOUND,
    UnauthenticatedError: grpc.StatusCode.UNAUTHENTICATED,
    PermissionDeniedError: grpc.StatusCode.PERMISSION_DENIED,
    FailedPreconditionError: grpc.StatusCode.FAILED_PRECONDITION,
    # The transcoder turns RESOURCE_EXHAUSTED into HTTP 429.
    TooManyAttemptsError: grpc.StatusCode.RESOURCE_EXHAUSTED,
    UnavailableError: grpc.StatusCode.UNAVAILABLE,
}
_BACKEND_DOWN: Final = Failure(
    grpc.StatusCode.UNAVAILABLE,
    "the account store is unavailable; retry later",
    "BACKEND_UNAVAILABLE",
)
_BACKEND_ERRORS: Final[dict[type[BaseException], Failure]] = {
    **dict.fromkeys(UNAVAILABLE_ERRORS, _BACKEND_DOWN),
    redis.exceptions.ConnectionError: _BACKEND_DOWN,
}
_TIMEOUT: Final = Failure(
    grpc.StatusCode.UNAVAILABLE, "the service is busy; retry later", "DEADLINE_EXCEEDED"
)
_USER_AGENT_MAX: Final = 512

AUTH = pb.DESCRIPTOR.services_by_name["AuthService"]
USERS = user_pb.DESCRIPTOR.services_by_name["UserService"]
ROLES = role_pb.DESCRIPTOR.services_by_name["RoleService"]
SERVICES: Final = (AUTH, USERS, ROLES)
SERVICE_NAMES: Final = tuple(s.full_name for s in SERVICES)


def access_policy() -> AccessPolicy:
    """Signing in and the public keys need no token; role management needs
    `admin`; everything else needs a signed-in user."""
    public = {
        f"/{AUTH.full_name}/{name}"
        for name in (
            "Register",
            "Login",
            "Refresh",
            "GetJwks",
            "OAuthCallback",
        )
    }
    public |= {
        "/grpc.health.v1.Health/",
        "/grpc.reflection.v1alpha.ServerReflection/",
        f"/{REFLECTION_V1}/",
    }
    # A signed-in caller of GetOAuthAuthorizeUrl links the provider to its account.
    optional = frozenset({f"/{AUTH.full_name}/GetOAuthAuthorizeUrl"})
    return AccessPolicy(
        public=frozenset(public), roles={f"/{ROLES.full_name}/": ADMIN}, optional=optional
    )


def client_info(context: Context, trust_forwarded_for: bool) -> ClientInfo:
    metadata = dict(context.invocation_metadata() or ())
    ip = ""
    forwarded = metadata.get("x-forwarded-for")
    if trust_forwarded_for and isinstance(forwarded, str):
        ip = forwarded.rsplit(",", 1)[-1].strip()
    if not ip:
        # "ipv4:127.0.0.1:5555" or "ipv6:[::1]:5555"
        peer = context.peer() or ""
        ip = peer.partition(":")[2].rsplit(":", 1)[0].strip("[]")
    agent = metadata.get("user-agent", "")
    return ClientInfo(ip, agent[:_USER_AGENT_MAX] if isinstance(agent, str) else "")


def _ts(at: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(at)
    return ts


def user_pb2(user: User) -> pb.User:
    return pb.User(
        user_id=user.id,
        email=user.email or "",
        roles=list(user.roles),
        create_time=_ts(user.created_at),
    )


def session_pb2(session: Session, current: str) -> pb.Session:
    return pb.Session(
        session_id=session.id,
        user_agent=session.user_agent,
        ip=session.ip,
        create_time=_ts(session.created_at),
        last_used_time=_ts(session.last_used_at),
        current=session.id == current,
    )


class Handlers:
    """One thin method per RPC: parse, call the service layer, build the reply."""

    def __init__(self, app: App) -> None:
        self._app = app
        self._trust_xff = app.settings.auth_trust_forwarded_for

    def _client(self, context: Context) -> ClientInfo:
        return client_info(context, self._trust_xff)

    # AuthService
    async def register(self, r: pb.RegisterRequest, c: Context) -> Message:
        return user_pb2(await self._app.accounts.register(r.email, r.password))

    async def login(self, r: pb.LoginRequest, c: Context) -> Message:
        t = await self._app.accounts.login(r.email, r.password, self._client(c))
        return pb.LoginResponse(**_token_fields(t))

    async def refresh(self, r: pb.RefreshRequest, c: Context) -> Message:
        t = await self._app.accounts.refresh(r.refresh_token, self._client(c))
        return pb.RefreshResponse(**_token_fields(t))

    async def logout(self, r: pb.LogoutRequest, c: Context) -> Message:
        await self._app.accounts.logout(current_principal())
        return empty_pb2.Empty()

    async def logout_all(self, r: pb.LogoutAllRequest, c: Context) -> Message:
        await self._app.accounts.logout_all(current_principal())
        return empty_pb2.Empty()

    async def list_sessions(self, r: pb.ListSessionsRequest, c: Context) -> Message:
        principal = current_principal()
        sessions = await self._app.accounts.sessions(principal)
        return pb.ListSessionsResponse(
            sessions=[session_pb2(s, principal.session_id) for s in sessions]
        )

    async def revoke_session(self, r: pb.RevokeSessionRequest, c: Context) -> Message:
        await self._app.accounts.revoke_session(current_principal(), r.session_id)
        return empty_pb2.Empty()

    async def change_password(self, r: pb.ChangePasswordRequest, c: Context) -> Message:
        await self._app.accounts.change_password(
            current_principal(), r.old_password, r.new_password
        )
        return empty_pb2.Empty()

    async def oauth_authorize_url(self, r: pb.GetOAuthAuthorizeUrlRequest, c: Context) -> Message:
        url, state = await self._app.oauth.start(r.provider, optional_principal())
        return pb.GetOAuthAuthorizeUrlResponse(authorization_url=url, state=state)

    async def oauth_callback(self, r: pb.OAuthCallbackRequest, c: Context) -> Message:
        t = await self._app.oauth.finish(r.provider, r.code, r.state, self._client(c))
        return pb.OAuthCallbackResponse(**_token_fields(t))

    async def get_jwks(self, r: pb.GetJwksRequest, c: Context) -> Message:
        return pb.JsonWebKeySet(
            keys=[pb.JsonWebKey(**key) for key in self._app.keys.jwks()["keys"]]
        )

    # UserService
    async def get_me(self, r: user_pb.GetMeRequest, c: Context) -> Message:
        return user_pb2(await self._app.accounts.me(current_principal()))

    async def list_my_login_history(
        self, r: user_pb.ListMyLoginHistoryRequest, c: Context
    ) -> Message:
        size = r.page_size if r.HasField("page_size") else None
        rows, token = await self._app.accounts.login_history(
            current_principal(), size, r.page_token
        )
        return user_pb.ListMyLoginHistoryResponse(
            attempts=[
                user_pb.LoginAttempt(
                    time=_ts(a.at),
                    ip=a.ip,
                    user_agent=a.user_agent,
                    method=a.method,
                    success=a.success,
                )
                for a in rows
            ],
            next_page_token=token,
        )

    # RoleService
    async def list_roles(self, r: role_pb.ListRolesRequest, c: Context) -> Message:
        roles = await self._app.roles.list_roles()
        return role_pb.ListRolesResponse(
            roles=[role_pb.Role(name=x.name, description=x.description) for x in roles]
        )

    async def create_role(self, r: role_pb.CreateRoleRequest, c: Context) -> Message:
        role = await self._app.roles.create_role(r.role.name, r.role.description)
        return role_pb.Role(name=role.name, description=role.description)

    async def delete_role(self, r: role_pb.DeleteRoleRequest, c: Context) -> Message:
        await self._app.roles.delete_role(r.role)
        return empty_pb2.Empty()

    async def grant_role(self, r: role_pb.GrantRoleRequest, c: Context) -> Message:
        return user_pb2(await self._app.roles.grant(r.user_id, r.role))

    async def revoke_role(self, r: role_pb.RevokeRoleRequest, c: Context) -> Message:
        return user_pb2(await self._app.roles.revoke(r.user_id, r.role))

    def table(self) -> dict[str, dict[str, Call]]:
        return {
            AUTH.name: {
                "Register": self.register,
                "Login": self.login,
                "Refresh": self.refresh,
                "Logout": self.logout,
                "LogoutAll": self.logout_all,
                "ListSessions": self.list_sessions,
                "RevokeSession": self.revoke_session,
                "ChangePassword": self.change_password,
                "GetOAuthAuthorizeUrl": self.oauth_authorize_url,
                "OAuthCallback": self.oauth_callback,
                "GetJwks": self.get_jwks,
            },
            USERS.name: {
                "GetMe": self.get_me,
                "ListMyLoginHistory": self.list_my_login_history,
            },
            ROLES.name: {
                "ListRoles": self.list_roles,
                "CreateRole": self.create_role,
                "DeleteRole": self.delete_role,
                "GrantRole": self.grant_role,
                "RevokeRole": self.revoke_role,
            },
        }


def _token_fields(t: Tokens) -> dict[str, Any]:
    return {
        "access_token": t.access_token,
        "refresh_token": t.refresh_token,
        "token_type": "Bearer",
        "expires_in": t.expires_in,
    }


def _retry_after(exc: BaseException) -> Metadata:
    """RESOURCE_EXHAUSTED says when to come back (Retry-After through the edge)."""
    if isinstance(exc, TooManyAttemptsError):
        return (("retry-after", str(max(1, round(exc.retry_after_seconds)))),)
    return ()


def rpc_runner(deadline_seconds: float) -> RpcRunner:
    """Request id, deadline, and domain errors → status codes (AIP-193)."""
    return RpcRunner(
        deadline_seconds=deadline_seconds,
        error_domain=ERROR_DOMAIN,
        domain_error=DomainError,
        statuses=_STATUS,
        on_timeout=_TIMEOUT,
        backend_errors=_BACKEND_ERRORS,
        trailing=_retry_after,
    )


def generic_handlers(app: App) -> list[grpc.GenericRpcHandler]:
    runner = rpc_runner(app.settings.request_deadline_seconds)
    return method_handlers(SERVICES, Handlers(app).table(), runner)

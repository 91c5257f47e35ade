"""A grpc.aio server interceptor that checks the bearer token of every call
that needs a user, and hands the handler a typed `Principal`.

Services behind Envoy verify again because internal callers reach them without
passing the edge, and because only a service can consult the deny-list: the
edge's JWT check cannot see a session that ended a moment ago.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, NoReturn, cast

import grpc

import movies_grpc
from movies_auth.principal import Principal
from movies_auth.verifier import InvalidTokenError, TokenVerifier

log = logging.getLogger(__name__)

ERROR_DOMAIN: Final = "auth.v1"
_BEARER: Final = "bearer "

_current: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "movies_auth_principal", default=None
)


class NotAuthenticatedError(RuntimeError):
    """A handler asked for the principal of a call its policy left public."""


def current_principal() -> Principal:
    """The caller of the RPC being served; only for methods that need a user."""
    principal = _current.get()
    if principal is None:
        raise NotAuthenticatedError("this RPC is public: the policy checks no token for it")
    return principal


def optional_principal() -> Principal | None:
    return _current.get()


@dataclass(frozen=True)
class AccessPolicy:
    """Which methods need what. Anything not listed as public needs a valid
    token (deny by default); `roles` adds a role a method needs on top.

    Names are full gRPC method names (`/auth.v1.AuthService/Login`) or a
    service prefix ending in `/` (`/grpc.health.v1.Health/`).
    """

    public: frozenset[str] = frozenset()
    roles: Mapping[str, str] = field(default_factory=dict)
    # Methods anyone may call, that learn who is calling when a token is sent
    # (a bad token is still refused).
    optional: frozenset[str] = frozenset()

    def is_public(self, method: str) -> bool:
        return method in self.public or method[: method.rfind("/") + 1] in self.public

    def is_optional(self, method: str) -> bool:
        return method in self.optional

    def role_for(self, method: str) -> str | None:
        return self.roles.get(method) or self.roles.get(method[: method.rfind("/") + 1])


async def abort(
    context: grpc.aio.ServicerContext[Any, Any],
    code: grpc.StatusCode,
    message: str,
    reason: str,
    extra: tuple[tuple[str, str], ...] = (),
) -> NoReturn:
    """AIP-193 in the auth domain: a token check's refusal reads the same from any service."""
    await movies_grpc.abort(context, code, message, reason, domain=ERROR_DOMAIN, trailing=extra)


def bearer_token(metadata: Any) -> str | None:
    for k, v in metadata or ():
        if k == "authorization" and isinstance(v, str) and v[:7].lower() == _BEARER:
            return v[7:].strip() or None
    return None


Behavior = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]


class AuthInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, verifier: TokenVerifier, policy: AccessPolicy) -> None:
        self._verifier = verifier
        self._policy = policy

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(details)
        method = details.method
        if handler is None or self._policy.is_public(method):
            return handler
        if handler.unary_unary is None:
            raise NotImplementedError(f"{method}: only unary RPCs can be protected")
        behavior = cast(Behavior, handler.unary_unary)
        role = self._policy.role_for(method)
        token = bearer_token(details.invocation_metadata)
        if token is None and self._policy.is_optional(method):
            return handler
        verifier = self._verifier

        async def checked(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            if token is None:
                await _unauthenticated(
                    context, "send `Authorization: Bearer <access token>`", "TOKEN_MISSING"
                )
            try:
                principal = await verifier.verify(token)
            except InvalidTokenError as exc:
                await _unauthenticated(context, exc.message, exc.reason)
            except Exception:
                log.exception("token check failed", extra={"rpc": method})
                await abort(
                    context,
                    grpc.StatusCode.UNAVAILABLE,
                    "the token check is unavailable; retry later",
                    "AUTH_UNAVAILABLE",
                )
            if role is not None and not principal.has_role(role):
                await abort(
                    context,
                    grpc.StatusCode.PERMISSION_DENIED,
                    f"this call needs the role `{role}`",
                    "ROLE_REQUIRED",
                )
            reset = _current.set(principal)
            try:
                return await behavior(request, context)
            finally:
                _current.reset(reset)

        return grpc.unary_unary_rpc_method_handler(
            checked,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


async def _unauthenticated(
    context: grpc.aio.ServicerContext[Any, Any], message: str, reason: str
) -> NoReturn:
    # RFC 6750 §3: the challenge tells HTTP clients which scheme to use.
    challenge = f'Bearer error="invalid_token", error_description="{reason}"'
    await abort(
        context,
        grpc.StatusCode.UNAUTHENTICATED,
        message,
        reason,
        (("www-authenticate", challenge),),
    )

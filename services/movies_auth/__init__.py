"""The token check every service shares: a grpc.aio interceptor that verifies the
bearer JWT against the auth service's JWKS and the Redis deny-list of revoked
sessions, and gives handlers a typed `Principal`."""

from movies_auth.denylist import DenyList
from movies_auth.interceptor import (
    AccessPolicy,
    AuthInterceptor,
    abort,
    current_principal,
    optional_principal,
)
from movies_auth.jwks import JwksCache, grpc_jwks_source, http_jwks_source, parse_jwks
from movies_auth.principal import Principal
from movies_auth.verifier import InvalidTokenError, TokenVerifier
from movies_auth.wiring import TokenCheckSettings, token_check

__all__ = [
    "AccessPolicy",
    "AuthInterceptor",
    "DenyList",
    "InvalidTokenError",
    "JwksCache",
    "Principal",
    "TokenCheckSettings",
    "TokenVerifier",
    "abort",
    "current_principal",
    "grpc_jwks_source",
    "http_jwks_source",
    "optional_principal",
    "parse_jwks",
    "token_check",
]

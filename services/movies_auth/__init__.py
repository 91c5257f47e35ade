"""The token check every service shares: a grpc.aio interceptor that verifies the
bearer JWT against the auth service's JWKS and the Redis deny-list of revoked sessions."""

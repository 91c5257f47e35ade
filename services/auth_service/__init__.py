"""The platform's identity provider: accounts, JWT sessions and roles over gRPC (auth.v1)."""

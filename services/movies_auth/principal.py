"""Who is calling: the verified claims of an access token, typed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """A signed-in user as the access token describes them.

    Roles are those the token was issued with: a role granted or taken away
    reaches the user's tokens at their next refresh (at most one access-token
    lifetime later), while a revoked session is refused at once.
    """

    user_id: str
    session_id: str
    roles: frozenset[str]
    token_id: str
    expires_at: int

    def has_role(self, role: str) -> bool:
        return role in self.roles

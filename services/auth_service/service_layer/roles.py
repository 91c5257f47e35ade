"""Role management for administrators (the entrypoint's policy checks `admin`)."""

from __future__ import annotations

from auth_service.adapters.postgres import PostgresStore
from auth_service.domain.errors import FailedPreconditionError, NotFoundError
from auth_service.domain.models import BUILTIN_ROLES, Role, User, check_role_name


class RoleAdmin:
    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    async def list_roles(self) -> list[Role]:
        return await self._store.list_roles()

    async def create_role(self, name: str, description: str) -> Role:
        return await self._store.create_role(Role(check_role_name(name), description.strip()))

    async def delete_role(self, name: str) -> None:
        if name in BUILTIN_ROLES:
            raise FailedPreconditionError(
                f"`{name}` is built in and cannot be deleted", "ROLE_BUILTIN"
            )
        if not await self._store.delete_role(check_role_name(name)):
            raise NotFoundError(f"there is no role `{name}`", "ROLE_NOT_FOUND")

    async def grant(self, user_id: str, role: str) -> User:
        await self._user(user_id)
        if not await self._store.role_exists(check_role_name(role)):
            raise NotFoundError(f"there is no role `{role}`", "ROLE_NOT_FOUND")
        await self._store.grant_role(user_id, role)
        return await self._user(user_id)

    async def revoke(self, user_id: str, role: str) -> User:
        await self._user(user_id)
        await self._store.revoke_role(user_id, check_role_name(role))
        return await self._user(user_id)

    async def _user(self, user_id: str) -> User:
        user = await self._store.user_by_id(user_id)
        if user is None:
            raise NotFoundError("there is no user with this id", "USER_NOT_FOUND")
        return user

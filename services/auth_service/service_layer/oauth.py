"""Sign-in with an external provider (authorization code + PKCE + state).

A first sign-in creates an account linked to the provider's user id; a later
one signs into it. An identity is linked to an existing account only when that
account asked for it while signed in (its token on GetOAuthAuthorizeUrl), never
because the provider reports the same email: an email match would hand the
account to whoever controls that address at the provider.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping

from auth_service.adapters.oauth import (
    OAuthProvider,
    OAuthStates,
    ProviderRejectedError,
    ProviderUnavailableError,
    pkce_pair,
)
from auth_service.adapters.postgres import PostgresStore
from auth_service.domain.errors import (
    AlreadyExistsError,
    InvalidArgumentError,
    NotFoundError,
    UnauthenticatedError,
    UnavailableError,
)
from auth_service.domain.models import METHOD_OAUTH, SUBSCRIBER, ClientInfo, Tokens
from auth_service.service_layer.accounts import AccountService
from movies_auth import Principal

log = logging.getLogger(__name__)


class OAuthSignIn:
    def __init__(
        self,
        providers: Mapping[str, OAuthProvider],
        states: OAuthStates,
        store: PostgresStore,
        accounts: AccountService,
    ) -> None:
        self._providers = providers
        self._states = states
        self._store = store
        self._accounts = accounts

    def _provider(self, name: str) -> OAuthProvider:
        provider = self._providers.get(name)
        if provider is None:
            known = ", ".join(sorted(self._providers)) or "none"
            raise NotFoundError(
                f"no sign-in provider `{name}`; configured: {known}", "OAUTH_PROVIDER_UNKNOWN"
            )
        return provider

    async def start(self, name: str, principal: Principal | None) -> tuple[str, str]:
        """The provider's authorization URL and its state. With a principal, the
        callback links the identity to that account instead of signing in."""
        provider = self._provider(name)
        state = secrets.token_urlsafe(32)
        verifier, challenge = pkce_pair()
        data = {"provider": name, "verifier": verifier}
        if principal is not None:
            data["link_user_id"] = principal.user_id
        await self._states.put(state, data)
        return provider.authorize_url(state, challenge), state

    async def finish(self, name: str, code: str, state: str, client: ClientInfo) -> Tokens:
        provider = self._provider(name)
        if not code or not state:
            raise InvalidArgumentError("code and state are required", "OAUTH_CALLBACK_INVALID")
        pending = await self._states.take(state)
        if pending is None or pending.get("provider") != name:
            raise InvalidArgumentError(
                "state is unknown, used or expired; start the sign-in again",
                "OAUTH_STATE_INVALID",
            )
        try:
            identity = await provider.identity(code, pending["verifier"])
        except ProviderRejectedError as exc:
            log.info("provider refused the code", extra={"provider": name, "why": str(exc)})
            raise UnauthenticatedError(
                "the provider refused the authorization code; start the sign-in again",
                "OAUTH_CODE_REJECTED",
            ) from exc
        except ProviderUnavailableError as exc:
            log.warning("provider unavailable", extra={"provider": name, "why": str(exc)})
            raise UnavailableError(
                "the sign-in provider did not answer; retry later", "OAUTH_PROVIDER_UNAVAILABLE"
            ) from exc

        linking = pending.get("link_user_id")
        if linking:
            owner = await self._store.link_identity(name, identity.subject, linking, identity.email)
            if owner != linking:
                raise AlreadyExistsError(
                    "this provider account is linked to another account", "OAUTH_IDENTITY_TAKEN"
                )
            user_id = linking
        else:
            found = await self._store.user_for_identity(name, identity.subject)
            if found is None:
                user_id = await self._store.create_oauth_user(
                    name, identity.subject, identity.email, [SUBSCRIBER]
                )
                log.info("account created by OAuth", extra={"provider": name, "user_id": user_id})
            else:
                user_id = found
        return await self._accounts.sign_in(user_id, client, METHOD_OAUTH.format(provider=name))

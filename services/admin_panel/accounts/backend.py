"""Django's authentication backend for the panel: the auth service checks the
email and password; only the roles `editor` and `admin` get in."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from admin_panel.accounts import bridge
from admin_panel.accounts.models import Editor
from admin_panel.accounts.roles import access_for
from admin_panel.accounts.sign_in import (
    REFUSAL_ATTR,
    Refusal,
    caller_of,
    mirror,
    store_tokens,
)
from movies_client.auth import ThrottledError, UnauthenticatedError
from movies_client.client import ClientError, InvalidArgumentError, UnavailableError

log = logging.getLogger(__name__)


class AuthServiceBackend(ModelBackend):
    """Permissions come from ModelBackend (the mirror's groups and superuser
    flag); passwords never: `authenticate` asks the auth service."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Editor | None:
        if request is None or not username or not password:
            return None
        caller = caller_of(request)
        try:
            tokens = bridge.call(lambda c: c.login(username, password, caller))
            account = bridge.call(lambda c: c.get_me(tokens.access_token))
        except (UnauthenticatedError, InvalidArgumentError):
            return None
        except ThrottledError:
            setattr(request, REFUSAL_ATTR, Refusal.THROTTLED)
            return None
        except (UnavailableError, ClientError, TimeoutError):
            log.exception("auth service unavailable at sign-in")
            setattr(request, REFUSAL_ATTR, Refusal.UNAVAILABLE)
            return None
        access = access_for(account.roles)
        if not access.allowed:
            setattr(request, REFUSAL_ATTR, Refusal.NO_ROLE)
            # The session the login opened is of no use here: end it.
            _quietly_logout(tokens.access_token)
            return None
        user = mirror(account, access)
        store_tokens(request.session, tokens)
        return user


def _quietly_logout(access_token: str) -> None:
    try:
        bridge.call(lambda c: c.logout(access_token))
    except Exception:
        log.warning("could not end the auth session", exc_info=True)

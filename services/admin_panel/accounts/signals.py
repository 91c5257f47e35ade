"""Signing out of the panel ends the auth-service session it signed in with."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest

from admin_panel.accounts import bridge
from admin_panel.accounts.sign_in import SESSION_TOKENS

log = logging.getLogger(__name__)


@receiver(user_logged_out)
def end_auth_session(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    tokens = request.session.get(SESSION_TOKENS) if request is not None else None
    if not tokens:
        return
    access = str(tokens["access"])
    try:
        bridge.call(lambda c: c.logout(access))
    except Exception:
        # Already ended (revoked, expired) or the service is away: nothing to undo.
        log.info("auth session not ended at sign-out", exc_info=True)

"""Sign-in and the per-request account check, over the auth service.

The panel keeps the auth service's access and refresh tokens in its session
(server-side, in PostgreSQL) and asks the auth service about the account on
every request: GetMe checks the token's signature, expiry and the deny-list of
ended sessions, and returns the roles stored now (a token's roles are those of
its issue). So a revoked session or a removed role loses the panel at the next
request, not at the token's expiry."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any, Final

from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection, transaction
from django.http import HttpRequest

from admin_panel.accounts import bridge
from admin_panel.accounts.models import Editor
from admin_panel.accounts.roles import EDITOR_APP, EDITOR_GROUP, EDITOR_MODELS, Access, access_for
from movies_client.auth import Account, Caller, Tokens, UnauthenticatedError

log = logging.getLogger(__name__)

SESSION_TOKENS: Final = "auth_service_tokens"
# Set on the request when a sign-in is refused for a reason the form can name.
REFUSAL_ATTR: Final = "panel_sign_in_refusal"


class Refusal(StrEnum):
    NO_ROLE = "no_role"
    THROTTLED = "throttled"
    UNAVAILABLE = "unavailable"


class Verdict(Enum):
    OK = "ok"
    REFUSED = "refused"


@dataclass(frozen=True)
class Check:
    verdict: Verdict
    account: Account | None = None


def caller_of(request: HttpRequest) -> Caller:
    """The client as the edge saw it: the last X-Forwarded-For entry is the one
    Envoy appended (earlier ones are the client's own word)."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    ip = forwarded.rsplit(",", 1)[-1].strip() if forwarded else request.META.get("REMOTE_ADDR", "")
    return Caller(ip=ip)


def store_tokens(session: Any, tokens: Tokens) -> None:
    session[SESSION_TOKENS] = {"access": tokens.access_token, "refresh": tokens.refresh_token}


def editor_group() -> Group:
    """The group holding the content permissions, kept in step with `roles`."""
    group, _ = Group.objects.get_or_create(name=EDITOR_GROUP)
    perms = Permission.objects.filter(
        content_type__app_label=EDITOR_APP, content_type__model__in=EDITOR_MODELS
    )
    if set(group.permissions.values_list("pk", flat=True)) != {p.pk for p in perms}:
        group.permissions.set(perms)
    return group


@transaction.atomic
def mirror(account: Account, access: Access) -> Editor:
    """Creates or updates the local record of the account; it never holds a password."""
    user = Editor.objects.select_for_update().filter(auth_user_id=account.user_id).first()
    if user is None:
        # An older mirror with this email (the account was recreated) gives way.
        Editor.objects.filter(username=account.email).update(
            username=f"{account.email}#{account.user_id}", is_active=False
        )
        user = Editor(auth_user_id=account.user_id, username=account.email)
        user.set_unusable_password()
    user.username = account.email
    user.email = account.email
    user.is_active = True
    user.is_staff = access.is_staff
    user.is_superuser = access.is_superuser
    user.save()
    if access.editor:
        user.groups.set([editor_group()])
    else:
        user.groups.clear()
    return user


def _needs_update(user: Editor, account: Account, access: Access) -> bool:
    return (
        user.is_staff != access.is_staff
        or user.is_superuser != access.is_superuser
        or user.email != account.email
        or access.editor != user.groups.filter(name=EDITOR_GROUP).exists()
    )


def _refresh(request: HttpRequest, stale_access: str, refresh_token: str) -> str:
    """A new token pair, once per session even when several workers find the
    access token expired at the same moment: a refresh token presented twice
    ends the whole session (the auth service's reuse detection)."""
    session_key = request.session.session_key or ""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "select pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"admin-panel-refresh:{session_key}"],
            )
        stored = SessionStore(session_key=session_key).load().get(SESSION_TOKENS) or {}
        if stored.get("access") and stored["access"] != stale_access:
            request.session[SESSION_TOKENS] = stored
            return str(stored["access"])
        caller = caller_of(request)
        tokens = bridge.call(lambda c: c.refresh(refresh_token, caller))
        store_tokens(request.session, tokens)
        request.session.save()
        return tokens.access_token


def check_account(request: HttpRequest, user: Editor) -> Check:
    """May this signed-in user still use the panel? Updates the mirror if the
    roles changed; raises `UnavailableError` when the auth service cannot say."""
    tokens = request.session.get(SESSION_TOKENS)
    if not tokens:
        return Check(Verdict.REFUSED)
    access_token = str(tokens["access"])
    try:
        try:
            account = bridge.call(lambda c: c.get_me(access_token))
        except UnauthenticatedError as exc:
            if exc.reason != "TOKEN_EXPIRED":
                raise
            access_token = _refresh(request, access_token, str(tokens["refresh"]))
            account = bridge.call(lambda c: c.get_me(access_token))
    except UnauthenticatedError as exc:
        log.info("panel session refused", extra={"user": user.pk, "reason": exc.reason})
        return Check(Verdict.REFUSED)
    access = access_for(account.roles)
    if not access.allowed or str(user.auth_user_id) != account.user_id:
        return Check(Verdict.REFUSED, account)
    if _needs_update(user, account, access):
        mirror(account, access)
    return Check(Verdict.OK, account)

"""Re-checks the signed-in account with the auth service on every request."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from admin_panel.accounts.sign_in import Verdict, check_account
from movies_client.client import ClientError

log = logging.getLogger(__name__)


class AccountCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            try:
                verdict = check_account(request, user).verdict
            except (ClientError, TimeoutError):
                log.exception("auth service unavailable for the account check")
                return HttpResponse(
                    _("The sign-in service is unavailable; try again in a minute."),
                    status=503,
                    content_type="text/plain; charset=utf-8",
                )
            if verdict is Verdict.REFUSED:
                # The admin's own views then send the anonymous user to sign in.
                logout(request)
        return self.get_response(request)

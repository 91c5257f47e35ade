"""The sign-in form, saying why an account that exists was not let in."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from admin_panel.accounts.sign_in import REFUSAL_ATTR, Refusal

_MESSAGES = {
    Refusal.NO_ROLE: _("This account has neither the editor nor the admin role."),
    Refusal.THROTTLED: _("Too many failed sign-ins for this account; wait and try again."),
    Refusal.UNAVAILABLE: _("The sign-in service is unavailable; try again in a minute."),
}


class PanelAuthenticationForm(AdminAuthenticationForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = capfirst(_("email address"))

    def get_invalid_login_error(self) -> ValidationError:
        refusal = getattr(self.request, REFUSAL_ATTR, None)
        if refusal in _MESSAGES:
            return ValidationError(_MESSAGES[refusal], code=str(refusal.value))
        return super().get_invalid_login_error()

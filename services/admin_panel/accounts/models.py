"""The panel's mirror of an auth-service account: what Django's admin needs
(staff flag, permissions, a name for the change history). It holds no
password: the auth service is the only password store."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Editor(AbstractUser):
    auth_user_id = models.UUIDField(_("auth service account"), unique=True, null=True)

    class Meta:
        verbose_name = _("editor")
        verbose_name_plural = _("editors")

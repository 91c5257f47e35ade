"""Admins see the mirrored accounts (read-mostly: roles are granted in the auth service)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from admin_panel.accounts.forms import PanelAuthenticationForm
from admin_panel.accounts.models import Editor

admin.site.login_form = PanelAuthenticationForm


@admin.register(Editor)
class EditorAdmin(UserAdmin):  # type: ignore[type-arg]
    list_display = ("username", "email", "is_staff", "is_superuser", "last_login")
    readonly_fields = ("auth_user_id", "last_login", "date_joined")

"""Which auth-service roles open the admin panel, and with what flags."""

from __future__ import annotations

import pytest

from admin_panel.accounts.roles import Access, access_for


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        (
            {"subscriber", "admin"},
            Access(allowed=True, is_staff=True, is_superuser=True, editor=False),
        ),
        (
            {"subscriber", "editor"},
            Access(allowed=True, is_staff=True, is_superuser=False, editor=True),
        ),
        ({"admin", "editor"}, Access(allowed=True, is_staff=True, is_superuser=True, editor=False)),
        ({"subscriber"}, Access(allowed=False, is_staff=False, is_superuser=False, editor=False)),
        ({"moderator"}, Access(allowed=False, is_staff=False, is_superuser=False, editor=False)),
        (set(), Access(allowed=False, is_staff=False, is_superuser=False, editor=False)),
    ],
)
def test_roles_map_to_panel_access(roles: set[str], expected: Access) -> None:
    assert access_for(roles) == expected

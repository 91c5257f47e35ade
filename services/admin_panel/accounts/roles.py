"""What each auth-service role may do in the panel, in one place."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

EDITOR: Final = "editor"
ADMIN: Final = "admin"
# Content models an editor adds, changes, deletes and views; nothing else.
EDITOR_MODELS: Final = ("filmwork", "genre", "person", "genrefilmwork", "personfilmwork")
EDITOR_APP: Final = "catalog"
EDITOR_GROUP: Final = "editors"


@dataclass(frozen=True)
class Access:
    """The panel's flags for an account; `allowed` false: no panel at all."""

    allowed: bool
    is_staff: bool
    is_superuser: bool
    editor: bool


def access_for(roles: Iterable[str]) -> Access:
    held = set(roles)
    if ADMIN in held:
        return Access(allowed=True, is_staff=True, is_superuser=True, editor=False)
    if EDITOR in held:
        return Access(allowed=True, is_staff=True, is_superuser=False, editor=True)
    return Access(allowed=False, is_staff=False, is_superuser=False, editor=False)

"""Inline formsets with a message that names the duplicate, where Django's own
says only "Please correct the duplicate data"."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext as _

from admin_panel.catalog.models import Role


def _live_forms(formset: BaseInlineFormSet[Any, Any, Any]) -> list[Any]:
    return [
        form
        for form in formset.forms
        if hasattr(form, "cleaned_data")
        if form.has_changed() or form.instance.pk is not None
        if not (formset.can_delete and form.cleaned_data.get("DELETE"))
    ]


class PersonRoleFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        # Before Django's own uniqueness check, whose message names no one.
        seen: set[tuple[Any, str]] = set()
        for form in _live_forms(self):
            person, role = form.cleaned_data.get("person"), form.cleaned_data.get("role")
            if person is None or not role:
                continue
            if (person.pk, role) in seen:
                raise ValidationError(
                    _("%(person)s is listed twice as %(role)s: keep one of the rows."),
                    code="duplicate_person_role",
                    params={"person": person, "role": Role(role).label},
                )
            seen.add((person.pk, role))
        super().clean()


class GenreFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        seen: set[Any] = set()
        for form in _live_forms(self):
            genre = form.cleaned_data.get("genre")
            if genre is None:
                continue
            if genre.pk in seen:
                raise ValidationError(
                    _("The genre %(genre)s is listed twice: keep one of the rows."),
                    code="duplicate_genre",
                    params={"genre": genre},
                )
            seen.add(genre.pk)
        super().clean()

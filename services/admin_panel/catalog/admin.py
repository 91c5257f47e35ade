"""The editors' pages: films with their genres and people inline, genres, people."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from admin_panel.catalog.forms import GenreFormSet, PersonRoleFormSet
from admin_panel.catalog.models import FilmWork, Genre, GenreFilmWork, Person, PersonFilmWork
from admin_panel.catalog.paginator import EstimatedCountPaginator

admin.site.site_header = _("Cinema catalogue")
admin.site.site_title = _("Cinema catalogue")
admin.site.index_title = _("Editing the catalogue")


class FastChangeList(admin.ModelAdmin):  # type: ignore[type-arg]
    """What every big list shares: estimated counts, no full count, no facets."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50


class RatingFilter(admin.SimpleListFilter):
    title = _("rating")
    parameter_name = "rating"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("none", _("no rating")),
            ("0-4", "0–4"),
            ("4-6", "4–6"),
            ("6-8", "6–8"),
            ("8-10", "8–10"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "none":
            return queryset.filter(rating__isnull=True)
        if value and "-" in value:
            low, high = (float(x) for x in value.split("-"))
            upper = {"rating__lte": high} if high >= 10 else {"rating__lt": high}
            return queryset.filter(rating__gte=low, **upper)
        return queryset


class GenreInline(admin.TabularInline):  # type: ignore[type-arg]
    model = GenreFilmWork
    formset = GenreFormSet
    autocomplete_fields = ("genre",)
    fields = ("genre",)
    extra = 0


class PersonInline(admin.TabularInline):  # type: ignore[type-arg]
    model = PersonFilmWork
    formset = PersonRoleFormSet
    autocomplete_fields = ("person",)
    fields = ("person", "role")
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[PersonFilmWork]:
        return super().get_queryset(request).select_related("person")


@admin.register(FilmWork)
class FilmWorkAdmin(FastChangeList):
    inlines = (GenreInline, PersonInline)
    list_display = ("title", "type", "creation_date", "rating", "modified")
    # Each has an index (etl/migrations/0004_admin_list_indexes.sql); `type` has two values.
    sortable_by = ("title", "creation_date", "rating", "modified")
    list_filter = ("type", "genres", RatingFilter)
    # No list column crosses a relation; the inline querysets join their people.
    list_select_related = ()
    search_fields = ("title",)
    ordering = ("-modified",)
    fields = ("title", "description", "creation_date", "rating", "type", "created", "modified")
    readonly_fields = ("created", "modified")


@admin.register(Genre)
class GenreAdmin(FastChangeList):
    list_display = ("name", "description", "modified")
    search_fields = ("name",)
    ordering = ("name",)
    fields = ("name", "description", "created", "modified")
    readonly_fields = ("created", "modified")


@admin.register(Person)
class PersonAdmin(FastChangeList):
    list_display = ("full_name", "modified")
    search_fields = ("full_name",)
    ordering = ("full_name",)
    fields = ("full_name", "created", "modified")
    readonly_fields = ("created", "modified")

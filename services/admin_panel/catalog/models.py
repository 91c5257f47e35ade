"""Unmanaged models over schema `content`, which etl/migrations owns: Django
never creates or alters these tables (tests/unit... test_admin_schema checks
every field against the migrated columns). Ids are UUIDs made here; `created`
and `modified` are set here too, as the columns' defaults only fill inserts."""

from __future__ import annotations

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

RATING_MIN, RATING_MAX = 0.0, 10.0


class TimeStamped(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    modified = models.DateTimeField(_("modified"), auto_now=True)

    class Meta:
        abstract = True


class Genre(TimeStamped):
    name = models.TextField(_("name"), unique=True)
    description = models.TextField(_("description"), blank=True, null=True)

    class Meta:
        managed = False
        db_table = "genre"
        verbose_name = _("genre")
        verbose_name_plural = _("genres")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class Person(TimeStamped):
    full_name = models.TextField(_("full name"))

    class Meta:
        managed = False
        db_table = "person"
        verbose_name = _("person")
        verbose_name_plural = _("people")

    def __str__(self) -> str:
        return self.full_name


class FilmType(models.TextChoices):
    MOVIE = "movie", _("movie")
    TV_SHOW = "tv_show", _("TV show")


class Role(models.TextChoices):
    """The column's check constraint allows exactly these."""

    ACTOR = "actor", _("actor")
    WRITER = "writer", _("writer")
    DIRECTOR = "director", _("director")


class FilmWork(TimeStamped):
    title = models.TextField(_("title"))
    description = models.TextField(_("description"), blank=True, null=True)
    creation_date = models.DateField(_("creation date"), blank=True, null=True)
    rating = models.FloatField(
        _("rating"),
        blank=True,
        null=True,
        validators=[MinValueValidator(RATING_MIN), MaxValueValidator(RATING_MAX)],
        help_text=_("From 0 to 10."),
    )
    # Nullable in the table (rows from older imports); the form still requires one.
    type = models.TextField(_("type"), choices=FilmType.choices, default=FilmType.MOVIE, null=True)
    genres: models.ManyToManyField[Genre, GenreFilmWork] = models.ManyToManyField(
        Genre, through="GenreFilmWork", verbose_name=_("genres")
    )
    persons: models.ManyToManyField[Person, PersonFilmWork] = models.ManyToManyField(
        Person, through="PersonFilmWork", verbose_name=_("people")
    )

    class Meta:
        managed = False
        db_table = "film_work"
        verbose_name = _("film")
        verbose_name_plural = _("films")

    def __str__(self) -> str:
        return self.title


class GenreFilmWork(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    film_work = models.ForeignKey(FilmWork, on_delete=models.CASCADE, verbose_name=_("film"))
    genre = models.ForeignKey(Genre, on_delete=models.CASCADE, verbose_name=_("genre"))
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        managed = False
        db_table = "genre_film_work"
        verbose_name = _("genre of the film")
        verbose_name_plural = _("genres of the film")
        constraints = [
            models.UniqueConstraint(
                fields=("film_work", "genre"),
                name="genre_film_work_film_genre_key",
                violation_error_message=_("This genre is already listed for the film."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.genre_id} in {self.film_work_id}"


class PersonFilmWork(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    film_work = models.ForeignKey(FilmWork, on_delete=models.CASCADE, verbose_name=_("film"))
    person = models.ForeignKey(Person, on_delete=models.CASCADE, verbose_name=_("person"))
    role = models.TextField(_("role"), choices=Role.choices)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        managed = False
        db_table = "person_film_work"
        verbose_name = _("person in the film")
        verbose_name_plural = _("people in the film")
        constraints = [
            models.UniqueConstraint(
                fields=("film_work", "person", "role"),
                name="person_film_work_film_person_role_key",
                violation_error_message=_("This person already has this role in the film."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.person_id} as {self.role} in {self.film_work_id}"

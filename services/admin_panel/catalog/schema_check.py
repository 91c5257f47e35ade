"""Do the panel's unmanaged models still match the tables etl/migrations made?

Every concrete field of every unmanaged model must name a column of its table
in schema `content`, with a compatible type and nullability. Run at start-up
(`check_content_schema`) and by the tests, so the two cannot drift apart."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from django.apps import apps
from django.db import connection
from django.db.models import Field, Model

CONTENT_SCHEMA: Final = "content"

# Django's internal type → the information_schema data types it may map to.
_TYPES: Final[Mapping[str, frozenset[str]]] = {
    "UUIDField": frozenset({"uuid"}),
    "TextField": frozenset({"text", "character varying"}),
    "CharField": frozenset({"text", "character varying"}),
    "DateField": frozenset({"date"}),
    "DateTimeField": frozenset({"timestamp with time zone"}),
    "FloatField": frozenset({"double precision", "real"}),
    "ForeignKey": frozenset({"uuid"}),
}


@dataclass(frozen=True)
class Column:
    data_type: str
    nullable: bool


Columns = Mapping[tuple[str, str], Column]


def content_models() -> list[type[Model]]:
    return [m for m in apps.get_app_config("catalog").get_models() if not m._meta.managed]


def problems(models: Iterable[type[Model]], columns: Columns) -> list[str]:
    """What does not match, one sentence each; empty when everything does."""
    found: list[str] = []
    for model in models:
        table = model._meta.db_table
        for field in model._meta.concrete_fields:
            assert isinstance(field, Field)
            where = f"{model.__name__}.{field.name} → {table}.{field.column}"
            column = columns.get((table, field.column))
            if column is None:
                found.append(f"{where}: no such column in schema {CONTENT_SCHEMA}")
                continue
            kind = field.get_internal_type()
            allowed = _TYPES.get(kind)
            if allowed is None:
                found.append(f"{where}: the check knows no column types for {kind}")
            elif column.data_type not in allowed:
                found.append(f"{where}: column is {column.data_type}, field is {kind}")
            if field.null and not column.nullable:
                found.append(f"{where}: field allows null, column is not null")
            if not field.null and column.nullable:
                found.append(f"{where}: column allows null, field does not")
    return found


def migrated_columns() -> dict[tuple[str, str], Column]:
    with connection.cursor() as cursor:
        cursor.execute(
            "select table_name, column_name, data_type, is_nullable = 'YES'"
            " from information_schema.columns where table_schema = %s",
            [CONTENT_SCHEMA],
        )
        return {(t, c): Column(d, bool(n)) for t, c, d, n in cursor.fetchall()}

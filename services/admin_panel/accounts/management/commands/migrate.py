"""`migrate`, after making sure the panel's own schema exists: Django creates
its tables (and django_migrations) in the first schema of the search path, and
must never fall through to `content`, which etl/migrations owns."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import connections


class Command(MigrateCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        with connections[options["database"]].cursor() as cursor:
            cursor.execute(f'create schema if not exists "{settings.ADMIN_DB_SCHEMA}"')
        super().handle(*args, **options)

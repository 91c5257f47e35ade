"""`check_content_schema`: exits non-zero if a model field has no matching column."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from admin_panel.catalog.schema_check import content_models, migrated_columns, problems


class Command(BaseCommand):
    help = "Check the unmanaged catalogue models against the migrated schema content."

    def handle(self, *args: Any, **options: Any) -> None:
        models = content_models()
        found = problems(models, migrated_columns())
        if found:
            raise CommandError("the models and schema content differ:\n" + "\n".join(found))
        fields = sum(len(m._meta.concrete_fields) for m in models)
        self.stdout.write(f"{len(models)} models, {fields} fields: all match schema content")

"""Turns protoc-gen-openapi's YAML into the served docs: openapi.json plus a
Swagger UI page whose assets come from the swagger-ui-bundle wheel (no CDN).

gnostic v0.7.1 applies a field's `openapi.v3.property` annotation to the field's
schema in components, but not to the query and path parameters it makes of a
request's fields, and it ignores `google.api.field_behavior` there. This script
applies both from the descriptor set, so the parameters carry the same bounds the
service reads from the same annotations (content_api/entrypoints/limits.py)."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

import swagger_ui_bundle
import yaml
from google.api import field_behavior_pb2
from google.protobuf import descriptor_pb2, json_format
from openapiv3 import OpenAPIv3_pb2, annotations_pb2

INDEX = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Movies content API</title>
  <link rel="stylesheet" href="/api/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/api/docs/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({url: "/api/openapi.json", dom_id: "#swagger-ui"});
  </script>
</body>
</html>
"""

# The Schema keywords a parameter's annotation may use; anything else fails the
# build rather than being dropped without a word.
INTEGER_KEYS = ("maxLength", "minLength")
NUMBER_KEYS = ("maximum", "minimum")
PLAIN_KEYS = ("format", "pattern", "description", "title", "type")
HTTP_METHODS = ("get", "put", "post", "delete", "patch")


def _number(value: Any) -> int | float:
    number = float(value)
    return int(number) if number.is_integer() else number


def schema_keywords(schema: OpenAPIv3_pb2.Schema) -> dict[str, Any]:
    """The annotation as OpenAPI keywords (proto3 JSON prints int64 as strings,
    `default` and `enum` as wrapper messages)."""
    raw = json_format.MessageToDict(schema)
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in INTEGER_KEYS:
            out[key] = int(value)
        elif key in NUMBER_KEYS:
            out[key] = _number(value)
        elif key in PLAIN_KEYS:
            out[key] = value
        elif key == "default":
            (default,) = value.values()
            out[key] = _number(default) if isinstance(default, int | float) else default
        elif key == "enum":
            out[key] = [yaml.safe_load(item["yaml"]) for item in value]
        else:
            raise SystemExit(f"openapi.py: parameters cannot take the keyword {key!r} yet")
    return out


def request_fields(descriptor: Path) -> dict[str, dict[str, descriptor_pb2.FieldDescriptorProto]]:
    """operationId ("FilmService_ListFilms", as gnostic names it) -> its request's fields."""
    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor.read_bytes()).file
    messages = {
        f".{file.package}.{message.name}": message
        for file in files
        for message in file.message_type
    }
    return {
        f"{service.name}_{method.name}": {
            field.name: field for field in messages[method.input_type].field
        }
        for file in files
        for service in file.service
        for method in service.method
    }


def annotate_parameters(spec: dict[str, Any], descriptor: Path) -> None:
    """Each parameter gets its field's openapi.v3.property keywords, and `required`
    when the field is google.api.field_behavior REQUIRED."""
    fields = request_fields(descriptor)
    for item in spec["paths"].values():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            for parameter in operation.get("parameters", []):
                field = fields[operation["operationId"]].get(parameter["name"])
                if field is None:  # a sub-message's field ("filter.genre"): not annotated yet
                    continue
                options = field.options
                if options.HasExtension(annotations_pb2.property):
                    keywords = schema_keywords(options.Extensions[annotations_pb2.property])
                    parameter["schema"].update(keywords)
                behaviors = options.Extensions[field_behavior_pb2.field_behavior]
                if field_behavior_pb2.REQUIRED in behaviors:
                    parameter["required"] = True


def always_printed(field: descriptor_pb2.FieldDescriptorProto) -> bool:
    """The edge's transcoder prints every field without presence, set or not
    (always_print_primitive_fields): repeated fields and plain scalars, not proto3
    `optional` scalars or singular messages."""
    if field.label == descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED:
        return True
    return (
        not field.proto3_optional and field.type != descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE
    )


def mark_required(spec: dict[str, Any], descriptor: Path) -> None:
    """Each message's schema lists the fields every answer carries, so a response
    that lacks one fails schema validation (gnostic marks none by itself)."""
    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor.read_bytes()).file
    messages = {message.name: message for file in files for message in file.message_type}
    for name, schema in spec["components"]["schemas"].items():
        message = messages.get(name)
        if message is None or "required" in schema:
            continue
        required = [field.name for field in message.field if always_printed(field)]
        if required:
            schema["required"] = required


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--yaml", required=True, type=Path)
    parser.add_argument("--descriptor", required=True, type=Path, help="the descriptor set")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    spec = yaml.safe_load(args.yaml.read_text())
    annotate_parameters(spec, args.descriptor)
    mark_required(spec, args.descriptor)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "openapi.json").write_text(json.dumps(spec, indent=1, ensure_ascii=False))
    (args.out / "index.html").write_text(INDEX)
    assets = Path(swagger_ui_bundle.swagger_ui_path)
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        shutil.copyfile(assets / name, args.out / name)


if __name__ == "__main__":
    main()

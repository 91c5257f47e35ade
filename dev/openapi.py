"""Turns protoc-gen-openapi's YAML into the served docs: openapi.json plus a
Swagger UI page whose assets come from the swagger-ui-bundle wheel (no CDN)."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import swagger_ui_bundle
import yaml

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--yaml", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    spec = yaml.safe_load(args.yaml.read_text())
    spec["info"] = {
        "title": "Movies content API",
        "version": "v1",
        "description": "Films, genres and people of the catalogue. Generated from protos/.",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "openapi.json").write_text(json.dumps(spec, indent=1, ensure_ascii=False))
    (args.out / "index.html").write_text(INDEX)
    assets = Path(swagger_ui_bundle.swagger_ui_path)
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        shutil.copyfile(assets / name, args.out / name)


if __name__ == "__main__":
    main()

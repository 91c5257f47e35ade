#!/usr/bin/env bash
# Generates everything derived from protos/: Python messages and type stubs,
# grpcio servicers, grpclib client stubs, and the descriptor set Envoy's
# gRPC-JSON transcoder loads. Output goes to gen/ (ignored, never committed).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export PATH="$(dirname "$PY"):$PATH"
OUT=gen
SITE=$("$PY" -c 'import google.api, os; print(os.path.dirname(os.path.dirname(google.api.__path__[0])))')
rm -rf "$OUT/movies" "$OUT/auth" "$OUT/ugc" "$OUT/openapiv3"
mkdir -p "$OUT/movies/v1" "$OUT/third_party/google/api" "$OUT/third_party/openapiv3"
# buf lints with these annotations as a dependency module (no BSR access here).
cp "$SITE/google/api/annotations.proto" "$SITE/google/api/http.proto" "$SITE/google/api/field_behavior.proto" \
  "$OUT/third_party/google/api/"
# gnostic's openapi.v3 options (the limits and errors the OpenAPI document declares),
# from the Go module proxy at the plugin's version: GNOSTIC_DIR skips the download.
OPENAPI_PLUGIN_VERSION=v0.7.1
GNOSTIC_DIR=${GNOSTIC_DIR:-$(go mod download -json "github.com/google/gnostic@$OPENAPI_PLUGIN_VERSION" |
  "$PY" -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')}
cp "$GNOSTIC_DIR/openapiv3/annotations.proto" "$GNOSTIC_DIR/openapiv3/OpenAPIv3.proto" "$OUT/third_party/openapiv3/"
chmod u+w "$OUT"/third_party/openapiv3/*.proto
# The services' modules import the options' Python module: it is generated here too.
"$PY" -m grpc_tools.protoc -I "$OUT/third_party" --python_out="$OUT" --mypy_out="$OUT" \
  openapiv3/OpenAPIv3.proto openapiv3/annotations.proto
PROTOS=$(find protos -name '*.proto' | sort)
"$PY" -m grpc_tools.protoc -I protos -I "$OUT/third_party" -I "$SITE" \
  --python_out="$OUT" --mypy_out="$OUT" \
  --grpc_python_out="$OUT" --mypy_grpc_out="$OUT" \
  --plugin=protoc-gen-grpclib_python=.venv/bin/protoc-gen-grpclib_python --grpclib_python_out="$OUT" \
  $PROTOS
# Envoy's descriptor set also carries google.rpc.ErrorInfo, so the transcoder can
# print the error details the service attaches (AIP-193).
"$PY" -m grpc_tools.protoc -I protos -I "$OUT/third_party" -I "$SITE" \
  --include_imports --include_source_info --descriptor_set_out="$OUT/descriptors.pb" \
  $PROTOS google/rpc/error_details.proto
# OpenAPI: gnostic's protoc-gen-openapi reads the same google.api.http annotations
# the transcoder serves, so the document cannot drift from the edge.
PLUGIN=${OPENAPI_PLUGIN:-dev/tools/bin/protoc-gen-openapi}
if [ ! -x "$PLUGIN" ]; then
  GOBIN="$PWD/dev/tools/bin" go install "github.com/google/gnostic/cmd/protoc-gen-openapi@$OPENAPI_PLUGIN_VERSION"
fi
# The plugin wants a Go package per file; any path will do, nothing Go is emitted.
# auth.v1 joins the document when the edge routes it; until then the docs list movies.v1 only.
OPENAPI_PROTOS=$(find protos/movies -name '*.proto' | sort)
GO_PKGS=$(for f in $OPENAPI_PROTOS; do printf 'M%s=example.invalid/movies/v1,' "${f#protos/}"; done)
mkdir -p "$OUT/openapi"
"$PY" -m grpc_tools.protoc -I protos -I "$OUT/third_party" -I "$SITE" --plugin=protoc-gen-openapi="$PLUGIN" \
  --openapi_out="${GO_PKGS}naming=proto,fq_schema_naming=false,default_response=false:$OUT/openapi" \
  $OPENAPI_PROTOS
PYTHONPATH="$OUT" "$PY" dev/openapi.py --yaml "$OUT/openapi/openapi.yaml" \
  --descriptor "$OUT/descriptors.pb" --out "$OUT/docs"
touch "$OUT/openapiv3/__init__.py"
touch "$OUT/movies/__init__.py" "$OUT/movies/v1/__init__.py" "$OUT/movies/py.typed"
touch "$OUT/auth/__init__.py" "$OUT/auth/v1/__init__.py" "$OUT/auth/py.typed"
touch "$OUT/ugc/__init__.py" "$OUT/ugc/v1/__init__.py" "$OUT/ugc/py.typed"
echo "generated $(ls "$OUT"/movies/v1 | wc -l) stubs, $OUT/descriptors.pb and $OUT/docs/"

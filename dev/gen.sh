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
rm -rf "$OUT/movies"
mkdir -p "$OUT/movies/v1" "$OUT/third_party/google/api"
# buf lints with these annotations as a dependency module (no BSR access here).
cp "$SITE/google/api/annotations.proto" "$SITE/google/api/http.proto" "$OUT/third_party/google/api/"
PROTOS=$(find protos -name '*.proto' | sort)
"$PY" -m grpc_tools.protoc -I protos -I "$SITE" \
  --python_out="$OUT" --mypy_out="$OUT" \
  --grpc_python_out="$OUT" --mypy_grpc_out="$OUT" \
  --plugin=protoc-gen-grpclib_python=.venv/bin/protoc-gen-grpclib_python --grpclib_python_out="$OUT" \
  --include_imports --include_source_info --descriptor_set_out="$OUT/descriptors.pb" \
  $PROTOS
touch "$OUT/movies/__init__.py" "$OUT/movies/v1/__init__.py" "$OUT/movies/py.typed"
echo "generated $(ls "$OUT"/movies/v1 | wc -l) files in $OUT/ and $OUT/descriptors.pb"

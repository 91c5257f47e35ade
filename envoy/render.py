"""Renders envoy.yaml.tmpl from environment variables (one template for the
native stack, the tests, the bench and compose, so the edges cannot drift apart).

The template is YAML data, not text to paste into: it is loaded, each "${NAME}"
value is replaced by a typed value (a list placeholder inside a list is spliced
in), and the result is dumped. The transcoder's services come from the
descriptor set it loads, so the list cannot disagree with protos/.
"""

from __future__ import annotations

import argparse
import re
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "envoy.yaml.tmpl"


class EdgeSettings(BaseSettings):
    """The edge's variables (README, configuration table)."""

    model_config = SettingsConfigDict(env_ignore_empty=True)

    envoy_admin_port: int = Field(9901, ge=1, le=65535)
    # The public HTTP port (ENVOY_PORT) is the door's, Varnish's (varnish/); Envoy
    # listens behind it on ENVOY_EDGE_PORT (loopback: only the door calls it), and
    # takes real gRPC on a public port of its own, ENVOY_GRPC_PORT.
    envoy_edge_port: int = Field(8081, ge=1, le=65535)
    envoy_edge_listen_address: str = "127.0.0.1"
    envoy_grpc_port: int = Field(8082, ge=1, le=65535)
    envoy_transcoder_port: int = Field(8090, ge=1, le=65535)
    envoy_listen_address: str = "127.0.0.1"
    envoy_route_timeout: str = "5s"
    # max-age of the catalogue's bounded-key reads: how long the door may answer them.
    envoy_cache_max_age: int = Field(1, ge=0)
    envoy_access_log_min_status: int = Field(400, ge=100, le=599)
    # Request headers above this (request line and cookies included) get 431.
    envoy_max_request_headers_kb: int = Field(16, ge=1, le=8192)
    # The gRPC listener's limits (the door has its own, varnish/door.py): time to
    # send the headers, idle connection lifetime, open connections; and searches
    # per client address per interval, on both.
    envoy_request_headers_timeout: str = "10s"
    envoy_idle_timeout: str = "60s"
    envoy_max_connections: int = Field(4096, ge=1)
    envoy_search_rate_limit: int = Field(20, ge=1)
    envoy_search_rate_interval_seconds: int = Field(1, ge=1)
    # The content API cluster: health-check period, and the retry budget (share of
    # active requests that may be retries, and the floor under it).
    envoy_health_interval: str = "0.5s"
    envoy_retry_budget_percent: float = Field(25.0, gt=0, le=100)
    envoy_retry_min_concurrency: int = Field(64, ge=1)
    grpc_port: int = Field(50051, ge=1, le=65535)
    # Comma-separated host:port list of gRPC servers; default: 127.0.0.1:GRPC_PORT.
    grpc_upstreams: str = ""
    docs_dir: str = ""
    # The auth service: its processes (comma-separated host:port; default
    # 127.0.0.1:AUTH_GRPC_PORT), the tokens' issuer and audience, how long the edge
    # keeps its JWKS (a rotated-in key is unknown here until then), and the per-IP
    # budget of sign-in, sign-up and refresh calls.
    auth_grpc_port: int = Field(50052, ge=1, le=65535)
    auth_upstreams: str = ""
    auth_issuer: str = "movies-auth"
    auth_audience: str = "movies"
    envoy_jwks_cache_duration: str = "30s"
    envoy_jwt_cache_size: int = Field(10_000, ge=0)
    envoy_auth_rate_limit: int = Field(20, ge=1)
    envoy_auth_rate_interval_seconds: int = Field(60, ge=1)
    # The admin panel (services/admin_panel, plain HTTP): its processes
    # (comma-separated host:port; default 127.0.0.1:ADMIN_PORT) and how long a
    # page may take (a save with many inline rows).
    admin_port: int = Field(8000, ge=1, le=65535)
    admin_upstreams: str = ""
    envoy_admin_route_timeout: str = "30s"
    # The UGC service's processes (comma-separated host:port; default
    # 127.0.0.1:UGC_GRPC_PORT).
    ugc_grpc_port: int = Field(50053, ge=1, le=65535)
    ugc_upstreams: str = ""

    def upstreams(self) -> list[tuple[str, int]]:
        items = self.grpc_upstreams or f"127.0.0.1:{self.grpc_port}"
        pairs = (item.strip().rsplit(":", 1) for item in items.split(","))
        return [(host, int(port)) for host, port in pairs]

    def admin_hosts(self) -> list[tuple[str, int]]:
        items = self.admin_upstreams or f"127.0.0.1:{self.admin_port}"
        pairs = (item.strip().rsplit(":", 1) for item in items.split(","))
        return [(host, int(port)) for host, port in pairs]

    def auth_hosts(self) -> list[tuple[str, int]]:
        items = self.auth_upstreams or f"127.0.0.1:{self.auth_grpc_port}"
        pairs = (item.strip().rsplit(":", 1) for item in items.split(","))
        return [(host, int(port)) for host, port in pairs]

    def ugc_hosts(self) -> list[tuple[str, int]]:
        items = self.ugc_upstreams or f"127.0.0.1:{self.ugc_grpc_port}"
        pairs = (item.strip().rsplit(":", 1) for item in items.split(","))
        return [(host, int(port)) for host, port in pairs]


def http_services(descriptor: Path) -> list[str]:
    """Every service of the descriptor set whose methods carry google.api.http rules."""
    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor.read_bytes()).file
    services = [
        f"{file.package}.{service.name}"
        for file in files
        for service in file.service
        if any(method.options.HasExtension(annotations_pb2.http) for method in service.method)
    ]
    if not services:
        raise SystemExit(f"{descriptor}: no service with google.api.http rules")
    return services


HTTP_METHODS = ("get", "put", "post", "delete", "patch")
PATH_VARIABLE = re.compile(r"\{[^}]*\}")


def http_bindings(descriptor: Path) -> list[tuple[str, str]]:
    """(METHOD, path template) of every google.api.http rule, additional bindings too."""
    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor.read_bytes()).file
    out: list[tuple[str, str]] = []
    for file in files:
        for service in file.service:
            for method in service.method:
                if not method.options.HasExtension(annotations_pb2.http):
                    continue
                rule = method.options.Extensions[annotations_pb2.http]
                for binding in (rule, *rule.additional_bindings):
                    kind = binding.WhichOneof("pattern")
                    if kind in HTTP_METHODS:
                        out.append((kind.upper(), getattr(binding, kind)))
    return out


def method_not_allowed_routes(descriptor: Path) -> list[dict[str, Any]]:
    """405 with `Allow` for a known REST path asked with a method it does not have.

    Placed after the transcoded routes, so only requests the transcoder did not
    take reach them; HEAD is allowed wherever GET is (the edge asks GET for it).
    Paths without variables go first so they win over a template that also matches."""
    bindings = http_bindings(descriptor)
    patterns = {
        tmpl: PATH_VARIABLE.sub("[^/]+", re.escape(tmpl).replace(r"\{", "{").replace(r"\}", "}"))
        for _, tmpl in bindings
    }
    routes: list[dict[str, Any]] = []
    for tmpl in sorted(patterns, key=lambda t: ("{" in t, t)):
        example = PATH_VARIABLE.sub("x", tmpl)
        allowed = {m for m, t in bindings if re.fullmatch(patterns[t], example)}
        if "GET" in allowed:
            allowed.add("HEAD")
        methods = sorted(allowed)
        routes.append(
            {
                "match": {
                    "safe_regex": {"regex": patterns[tmpl]},
                    "headers": [
                        {
                            "name": ":method",
                            "string_match": {"safe_regex": {"regex": "|".join(methods)}},
                            "invert_match": True,
                        }
                    ],
                },
                "direct_response": {
                    "status": 405,
                    "body": {"inline_string": f"{tmpl} allows {', '.join(methods)}"},
                },
                "response_headers_to_add": [
                    {
                        "header": {"key": "allow", "value": ", ".join(methods)},
                        "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                    }
                ],
            }
        )
    return routes


def endpoints(upstreams: list[tuple[str, int]]) -> list[dict[str, Any]]:
    return [
        {"endpoint": {"address": {"socket_address": {"address": host, "port_value": port}}}}
        for host, port in upstreams
    ]


DOC_TYPES = {
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".js": "application/javascript",
    ".css": "text/css",
    ".png": "image/png",
}


def doc_url(path: Path) -> str:
    if path.name == "index.html":
        return "/api/docs"
    if path.name == "openapi.json":
        return "/api/openapi.json"
    return f"/api/docs/{path.name}"


def doc_routes(docs_dir: str) -> list[dict[str, Any]]:
    """Serves the OpenAPI document and Swagger UI straight from Envoy, when built."""
    if not docs_dir or not Path(docs_dir).is_dir():
        return []
    return [
        {
            "match": {"path": doc_url(path)},
            "direct_response": {"status": 200, "body": {"filename": str(path.resolve())}},
            "response_headers_to_add": [
                {
                    "header": {
                        "key": "content-type",
                        "value": DOC_TYPES.get(path.suffix, "application/octet-stream"),
                    },
                    "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                }
            ],
        }
        for path in sorted(Path(docs_dir).iterdir())
    ]


# Verified claims -> the headers the upstream gets them in.
CLAIM_HEADERS = {"sub": "x-auth-user-id", "sid": "x-auth-session-id", "roles": "x-auth-roles"}

# Methods that need a signed-in user, as REST path prefixes and gRPC paths: the edge
# refuses them without a valid token (the service checks again, deny-list included).
# "/api/v1/auth/logout" and "/auth.v1.AuthService/Logout" cover logout-all too.
AUTH_REQUIRED_PREFIXES = (
    "/api/v1/auth/logout",
    "/api/v1/auth/sessions",
    "/api/v1/auth/password",
    "/api/v1/users/",
    "/api/v1/roles",
    "/auth.v1.AuthService/Logout",
    "/auth.v1.AuthService/ListSessions",
    "/auth.v1.AuthService/RevokeSession",
    "/auth.v1.AuthService/ChangePassword",
    "/auth.v1.UserService/",
    "/auth.v1.RoleService/",
)
# A token is optional here (it links a provider to the signed-in account), but a
# token that is sent must be valid.
AUTH_OPTIONAL_REGEX = (
    "/api/v1/auth/oauth/[^/]+/authorize-url|/auth[.]v1[.]AuthService/GetOAuthAuthorizeUrl"
)
# Per-client-IP rate limit (brute force and sign-up floods).
AUTH_RATE_LIMITED_PATHS = (
    "/api/v1/auth/(login|register|refresh)|/auth[.]v1[.]AuthService/(Login|Register|Refresh)"
)
PROVIDER = "auth"
# The UGC service: a film's rating summary takes a token when one is sent (then
# it carries the caller's own score), a film's reviews need none, every other
# UGC call needs a user (the bookmarks are under /api/v1/users/ above).
UGC_OPTIONAL_REST = "/api/v1/films/[^/]+/rating"
UGC_OPTIONAL_GRPC = "/ugc[.]v1[.]RatingService/GetFilmRating"
UGC_PUBLIC_REST = "/api/v1/films/[^/]+/reviews"
UGC_PUBLIC_GRPC = "/ugc[.]v1[.]ReviewService/ListFilmReviews"
UGC_REQUIRED = "/api/v1/films/[^/]+/(rating|reviews)|/api/v1/reviews/.*|/ugc[.]v1[.].*"
# The gRPC services' own paths (/package.vN.Service/Method): served on the gRPC
# listener only; the door's listener answers them 404.
GRPC_PATHS = "/([a-z][a-z0-9_]*[.])+v[0-9]+[a-z0-9]*[.][A-Za-z0-9_.]+/[^/]*"
# What the door's probe asks (varnish/door.vcl.tmpl): is some content-API process healthy?
CATALOGUE_HEALTH_PATH = "/.door/catalogue-health"


def jwt_rules() -> list[dict[str, Any]]:
    required = {"provider_name": PROVIDER}
    optional = {"requires_any": {"requirements": [required, {"allow_missing": {}}]}}
    read = {"name": ":method", "string_match": {"safe_regex": {"regex": "GET|HEAD"}}}
    return [
        *({"match": {"prefix": prefix}, "requires": required} for prefix in AUTH_REQUIRED_PREFIXES),
        {"match": {"safe_regex": {"regex": AUTH_OPTIONAL_REGEX}}, "requires": optional},
        # First match wins: the reads' rules come before the UGC catch-all. A rule
        # without `requires` checks nothing.
        {
            "match": {"safe_regex": {"regex": UGC_OPTIONAL_REST}, "headers": [read]},
            "requires": optional,
        },
        {"match": {"safe_regex": {"regex": UGC_OPTIONAL_GRPC}}, "requires": optional},
        {"match": {"safe_regex": {"regex": UGC_PUBLIC_REST}, "headers": [read]}},
        {"match": {"safe_regex": {"regex": UGC_PUBLIC_GRPC}}},
        {"match": {"safe_regex": {"regex": UGC_REQUIRED}}, "requires": required},
    ]


def claim_to_headers() -> list[dict[str, str]]:
    return [{"header_name": header, "claim_name": claim} for claim, header in CLAIM_HEADERS.items()]


def claim_header_removals() -> list[dict[str, str]]:
    return [{"remove": header} for header in CLAIM_HEADERS.values()]


# HTTP status of a local reply -> the gRPC code the transcoder would have used.
LOCAL_REPLY_CODES = {
    400: 3,
    401: 16,
    403: 7,
    404: 5,
    405: 12,
    408: 4,
    413: 3,
    426: 9,
    429: 8,
    431: 3,
    500: 13,
    501: 12,
    502: 14,
    503: 14,
    504: 4,
}


# A gRPC call's local reply (a refused token, a rate limit) keeps Envoy's plain
# text: Envoy sends the reply's body as grpc-message, so a JSON body would reach
# gRPC clients as their error message. A REST call the transcoder has turned into
# gRPC carries a gRPC content-type too, but also the path it came with
# (x-envoy-original-path): its replies (a value it cannot read, no upstream) stay JSON.
NOT_GRPC_CONTENT = {
    "header_filter": {
        "header": {
            "name": "content-type",
            "string_match": {"prefix": "application/grpc"},
            "invert_match": True,
            "treat_missing_header_as_empty": True,
        }
    }
}
TRANSCODED = {"header_filter": {"header": {"name": "x-envoy-original-path", "present_match": True}}}
NOT_GRPC = {"or_filter": {"filters": [NOT_GRPC_CONTENT, TRANSCODED]}}


def local_reply() -> dict[str, Any]:
    """Replies Envoy makes itself (a query parameter the transcoder cannot parse,
    no route, no upstream, timeouts) get the same JSON shape as the API's own
    errors, with the matching gRPC code; gRPC calls keep a plain message."""
    return {
        "mappers": [
            {
                "filter": {
                    "and_filter": {
                        "filters": [
                            {
                                "status_code_filter": {
                                    "comparison": {
                                        "op": "EQ",
                                        "value": {
                                            "default_value": status,
                                            "runtime_key": f"local_reply.s{status}",
                                        },
                                    }
                                }
                            },
                            NOT_GRPC,
                        ]
                    }
                },
                "body_format_override": {
                    "json_format": {"code": code, "message": "%LOCAL_REPLY_BODY%", "details": []},
                    "content_type": "application/json",
                },
            }
            for status, code in LOCAL_REPLY_CODES.items()
        ]
    }


def fill(node: Any, values: Mapping[str, Any]) -> Any:
    """Replaces "${NAME}" values throughout the tree; unknown names fail."""
    if isinstance(node, dict):
        return {key: fill(value, values) for key, value in node.items()}
    if isinstance(node, list):
        out: list[Any] = []
        for item in node:
            filled = fill(item, values)
            if isinstance(item, str) and isinstance(filled, list):
                out.extend(filled)
            else:
                out.append(filled)
        return out
    if isinstance(node, str):
        template = string.Template(node)
        names = template.get_identifiers()
        if len(names) == 1 and node == f"${{{names[0]}}}":
            return values[names[0]]
        return template.substitute(values)
    return node


def render(settings: EdgeSettings, descriptor: Path) -> dict[str, Any]:
    values = {key.upper(): value for key, value in settings.model_dump().items()}
    values |= {
        "GRPC_PATHS": GRPC_PATHS,
        "CATALOGUE_HEALTH_PATH": CATALOGUE_HEALTH_PATH,
        "DESCRIPTOR": str(descriptor),
        "GRPC_SERVICES": http_services(descriptor),
        "GRPC_ENDPOINTS": endpoints(settings.upstreams()),
        "DOC_ROUTES": doc_routes(settings.docs_dir),
        "METHOD_NOT_ALLOWED_ROUTES": method_not_allowed_routes(descriptor),
        "SEARCH_RETRY_AFTER": str(settings.envoy_search_rate_interval_seconds),
        "LOCAL_REPLY": local_reply(),
        "AUTH_ENDPOINTS": endpoints(settings.auth_hosts()),
        "ADMIN_ENDPOINTS": endpoints(settings.admin_hosts()),
        "UGC_ENDPOINTS": endpoints(settings.ugc_hosts()),
        "AUTH_RATE_LIMITED_PATHS": AUTH_RATE_LIMITED_PATHS,
        "AUTH_RETRY_AFTER": str(settings.envoy_auth_rate_interval_seconds),
        "JWT_RULES": jwt_rules(),
        "CLAIM_TO_HEADERS": claim_to_headers(),
        "CLAIM_HEADER_REMOVALS": claim_header_removals(),
    }
    template: dict[str, Any] = yaml.safe_load(TEMPLATE.read_text())
    # Top-level "x-" keys only hold YAML anchors for the template's own use.
    config: dict[str, Any] = fill(
        {key: value for key, value in template.items() if not key.startswith("x-")}, values
    )
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--descriptor", required=True, type=Path, help="the descriptor set")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    config = render(EdgeSettings(), args.descriptor)
    header = f"# Rendered by envoy/render.py from {TEMPLATE.name}: edit that, not this.\n"
    args.out.write_text(header + yaml.safe_dump(config, sort_keys=False, width=1 << 16))


if __name__ == "__main__":
    main()

"""The rendered edge: the content API cluster is every upstream, health-checked,
and reads are retried elsewhere only when the call never got an answer."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.api import annotations_pb2

from auth_service.entrypoints.grpc_server import SERVICES, access_policy

ROOT = Path(__file__).resolve().parents[2]

DESCRIPTOR = ROOT / "gen" / "descriptors.pb"
UPSTREAMS = "127.0.0.1:50051,127.0.0.1:50151"


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not DESCRIPTOR.exists():
        pytest.skip("no gen/descriptors.pb: run `make gen`")
    out = tmp_path_factory.mktemp("edge") / "envoy.yaml"
    env = {
        **os.environ,
        "GRPC_UPSTREAMS": UPSTREAMS,
        "ENVOY_CACHE_DIR": str(out.parent / "cache"),
    }
    render = [sys.executable, str(ROOT / "envoy" / "render.py"), "--descriptor", str(DESCRIPTOR)]
    subprocess.run([*render, "--out", str(out)], env=env, check=True)
    rendered: dict[str, Any] = yaml.safe_load(out.read_text())
    return rendered


def content_api(config: dict[str, Any]) -> dict[str, Any]:
    clusters: list[dict[str, Any]] = config["static_resources"]["clusters"]
    (cluster,) = (c for c in clusters if c["name"] == "content_api")
    return cluster


def api_routes(config: dict[str, Any]) -> list[dict[str, Any]]:
    listeners = config["static_resources"]["listeners"]
    (rest,) = (listener for listener in listeners if listener["name"] == "transcoder")
    manager = rest["filter_chains"][0]["filters"][0]["typed_config"]
    routes: list[dict[str, Any]] = manager["route_config"]["virtual_hosts"][0]["routes"]
    return [r for r in routes if r.get("route", {}).get("cluster") == "content_api"]


def test_every_upstream_is_a_host(config: dict[str, Any]) -> None:
    endpoints = content_api(config)["load_assignment"]["endpoints"][0]["lb_endpoints"]
    hosts = [e["endpoint"]["address"]["socket_address"] for e in endpoints]
    assert [f"{h['address']}:{h['port_value']}" for h in hosts] == UPSTREAMS.split(",")


def test_reads_retry_elsewhere_only_without_an_answer(config: dict[str, Any]) -> None:
    routes = api_routes(config)
    assert routes
    for route in routes:
        policy = route["route"]["retry_policy"]
        assert set(policy["retry_on"].split(",")) == {"connect-failure", "refused-stream", "reset"}
        predicates = [p["name"] for p in policy["retry_host_predicate"]]
        assert predicates == ["envoy.retry_host_predicates.previous_hosts"]


def test_health_checks_ejection_and_retry_budget(config: dict[str, Any]) -> None:
    cluster = content_api(config)
    (check,) = cluster["health_checks"]
    assert check["grpc_health_check"] == {"service_name": ""}
    outliers = cluster["outlier_detection"]
    # Only the process's own failures eject it, never the service's UNAVAILABLE.
    assert outliers["split_external_local_origin_errors"] is True
    assert outliers["enforcing_consecutive_5xx"] == 0
    assert outliers["enforcing_consecutive_gateway_failure"] == 0
    budget = cluster["circuit_breakers"]["thresholds"][0]["retry_budget"]
    assert budget["min_retry_concurrency"] > 3  # Envoy's default retry cap


def test_template_only_keys_are_not_rendered(config: dict[str, Any]) -> None:
    assert not [key for key in config if key.startswith("x-")]


# --- the auth service at the edge ---------------------------------------------


def edge_http_filters(config: dict[str, Any]) -> list[dict[str, Any]]:
    (edge,) = (x for x in config["static_resources"]["listeners"] if x["name"] == "edge")
    # The HTTP connection manager is the chain's last (terminal) network filter.
    filters: list[dict[str, Any]] = edge["filter_chains"][0]["filters"][-1]["typed_config"][
        "http_filters"
    ]
    return filters


def edge_requirement(rules: list[dict[str, Any]], path: str) -> str:
    """What the first matching jwt_authn rule asks of `path`, as Envoy picks it."""
    for rule in rules:
        match = rule["match"]
        if "prefix" in match and path.startswith(match["prefix"]):
            hit = True
        elif "safe_regex" in match:
            hit = re.fullmatch(match["safe_regex"]["regex"], path) is not None
        else:
            hit = False
        if hit:
            return "optional" if "requires_any" in rule["requires"] else "required"
    return "public"


def test_the_edge_asks_for_a_token_where_the_service_does(config: dict[str, Any]) -> None:
    """Every auth.v1 method, by its gRPC path and by its REST path, needs at the
    edge exactly what the service's own access policy needs."""
    (jwt,) = (f for f in edge_http_filters(config) if f["name"].endswith("jwt_authn"))
    rules = jwt["typed_config"]["rules"]
    policy = access_policy()
    for service in SERVICES:
        for method in service.methods:
            grpc_path = f"/{service.full_name}/{method.name}"
            want = (
                "public"
                if policy.is_public(grpc_path)
                else "optional"
                if policy.is_optional(grpc_path)
                else "required"
            )
            rule = method.GetOptions().Extensions[annotations_pb2.http]
            rest = getattr(rule, rule.WhichOneof("pattern"))
            rest_path = re.sub(r"\{[^}]+\}", "x", rest)
            assert edge_requirement(rules, grpc_path) == want, grpc_path
            assert edge_requirement(rules, rest_path) == want, rest_path


def test_claim_headers_are_removed_before_they_are_set(config: dict[str, Any]) -> None:
    filters = edge_http_filters(config)
    names = [f["name"] for f in filters]
    mutation = filters[names.index("envoy.filters.http.header_mutation")]["typed_config"]
    jwt = filters[names.index("envoy.filters.http.jwt_authn")]["typed_config"]
    assert names.index("envoy.filters.http.header_mutation") < names.index(
        "envoy.filters.http.jwt_authn"
    )
    removed = {m["remove"] for m in mutation["mutations"]["request_mutations"]}
    claimed = {c["header_name"] for c in jwt["providers"]["auth"]["claim_to_headers"]}
    assert claimed
    assert removed == claimed


def test_grpc_local_replies_keep_a_plain_message(config: dict[str, Any]) -> None:
    """Envoy sends a local reply's body as grpc-message: the JSON body is for HTTP
    clients only, a gRPC client reads "Jwt is missing", not a JSON document."""
    mappers = [
        mapper
        for listener in config["static_resources"]["listeners"]
        for f in listener["filter_chains"][0]["filters"]
        for mapper in f["typed_config"].get("local_reply_config", {}).get("mappers", [])
    ]
    assert mappers
    for mapper in mappers:
        (rest,) = (f for f in mapper["filter"]["and_filter"]["filters"] if "or_filter" in f)
        headers = [f["header_filter"]["header"] for f in rest["or_filter"]["filters"]]
        assert headers == [
            {
                "name": "content-type",
                "string_match": {"prefix": "application/grpc"},
                "invert_match": True,
                "treat_missing_header_as_empty": True,
            },
            # A transcoded REST call is gRPC by then, and still gets JSON.
            {"name": "x-envoy-original-path", "present_match": True},
        ]

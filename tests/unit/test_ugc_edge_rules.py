"""The rendered edge asks for a token on each UGC route exactly where the UGC
service's own access policy does, by gRPC path and by REST method and path; and
the UGC routes go to the UGC cluster."""

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

from ugc_service.entrypoints.grpc_server import SERVICES, access_policy

ROOT = Path(__file__).resolve().parents[2]
DESCRIPTOR = ROOT / "gen" / "descriptors.pb"
UPSTREAMS = "127.0.0.1:50053,127.0.0.1:50153"


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not DESCRIPTOR.exists():
        pytest.skip("no gen/descriptors.pb: run `make gen`")
    out = tmp_path_factory.mktemp("edge") / "envoy.yaml"
    env = {**os.environ, "UGC_UPSTREAMS": UPSTREAMS, "ENVOY_CACHE_DIR": str(out.parent / "c")}
    render = [sys.executable, str(ROOT / "envoy" / "render.py"), "--descriptor", str(DESCRIPTOR)]
    subprocess.run([*render, "--out", str(out)], env=env, check=True)
    rendered: dict[str, Any] = yaml.safe_load(out.read_text())
    return rendered


def jwt_rules(config: dict[str, Any]) -> list[dict[str, Any]]:
    for listener in config["static_resources"]["listeners"]:
        for chain in listener["filter_chains"]:
            for f in chain["filters"]:
                for h in f.get("typed_config", {}).get("http_filters", []):
                    if h["name"].endswith("jwt_authn"):
                        rules: list[dict[str, Any]] = h["typed_config"]["rules"]
                        return rules
    raise AssertionError("no jwt_authn filter")


def requirement(rules: list[dict[str, Any]], method: str, path: str) -> str:
    """What the first matching rule asks of a request, as Envoy picks it."""
    for rule in rules:
        match = rule["match"]
        if "prefix" in match:
            hit = path.startswith(match["prefix"])
        else:
            hit = re.fullmatch(match["safe_regex"]["regex"], path) is not None
        for header in match.get("headers", []):
            assert header["name"] == ":method"
            hit = (
                hit
                and re.fullmatch(header["string_match"]["safe_regex"]["regex"], method) is not None
            )
        if hit:
            if "requires" not in rule:
                return "public"
            return "optional" if "requires_any" in rule["requires"] else "required"
    return "public"


def test_the_edge_asks_for_a_token_where_the_ugc_service_does(config: dict[str, Any]) -> None:
    rules = jwt_rules(config)
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
            verb = rule.WhichOneof("pattern")
            rest_path = re.sub(r"\{[^}]+\}", "x", getattr(rule, verb))
            assert requirement(rules, "POST", grpc_path) == want, grpc_path
            assert requirement(rules, verb.upper(), rest_path) == want, (verb, rest_path)
            if verb == "get":
                assert requirement(rules, "HEAD", rest_path) == want, ("head", rest_path)


def test_ugc_calls_go_to_every_ugc_process(config: dict[str, Any]) -> None:
    (cluster,) = (c for c in config["static_resources"]["clusters"] if c["name"] == "ugc")
    endpoints = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
    hosts = [e["endpoint"]["address"]["socket_address"] for e in endpoints]
    assert [f"{h['address']}:{h['port_value']}" for h in hosts] == UPSTREAMS.split(",")
    assert cluster["health_checks"][0]["grpc_health_check"] == {"service_name": ""}

"""House conventions of the HTTP API, checked on the generated OpenAPI description: every
operation has an explicit id, every POST takes an Idempotency-Key, every paged list takes a
cursor, and every operation but health, registration, the public provenance lookup and the
schema needs a bearer key. The public C2PA Soft Binding Resolution API keeps the specification's
operation ids and paths."""

from __future__ import annotations

from typing import Any

import pytest

from api.app import create_app

pytestmark = pytest.mark.unit
PUBLIC = {"health", "registerMember", "lookupProvenance", "provenanceCheckPage",
          "checkProvenanceUpload", "takedownChallenge", "fileTakedownRequest",
          "getTakedownRequest",
          # the C2PA Soft Binding Resolution API, with the specification's operation ids
          "getSupportedBindings", "queryByBinding", "queryByLargeBinding", "uploadFile",
          "getManifestById"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return create_app().openapi_schema.to_schema()


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in spec["paths"].items()
            for method, op in item.items() if method in ("get", "post", "put", "delete")]


def test_every_operation_has_an_explicit_camel_case_id(spec: dict[str, Any]):
    ids = [op.get("operationId", "") for _, _, op in operations(spec)]
    assert all(i and i[0].islower() and "_" not in i for i in ids), ids
    assert len(ids) == len(set(ids))


def test_every_post_accepts_an_idempotency_key(spec: dict[str, Any]):
    missing = [f"POST {path}" for path, method, op in operations(spec) if method == "post"
               and not any(p["name"] == "Idempotency-Key" and p["in"] == "header"
                           for p in op.get("parameters", []))]
    assert missing == []


def test_every_paged_list_takes_a_cursor(spec: dict[str, Any]):
    schemas = spec["components"]["schemas"]
    paged = []
    for path, _, op in operations(spec):
        ref = op.get("responses", {}).get("200", {}).get("content", {}).get(
            "application/json", {}).get("schema", {}).get("$ref", "")
        if ref and "next_cursor" in schemas[ref.rsplit("/", 1)[1]].get("properties", {}):
            paged.append((path, {p["name"] for p in op.get("parameters", [])}))
    assert paged, "no paged lists found"
    assert [path for path, params in paged if not {"cursor", "limit"} <= params] == []


def test_every_operation_but_the_public_ones_needs_a_bearer_key(spec: dict[str, Any]):
    open_ops = [op["operationId"] for _, _, op in operations(spec)
                if op.get("security", spec.get("security")) in (None, [])]
    assert set(open_ops) <= PUBLIC


def test_the_soft_binding_resolution_api_has_the_specification_paths_and_ids(
        spec: dict[str, Any]):
    expected = {("/c2pa/v1/matches/byBinding", "get"): "queryByBinding",
                ("/c2pa/v1/matches/byBinding", "post"): "queryByLargeBinding",
                ("/c2pa/v1/matches/byContent", "post"): "uploadFile",
                ("/c2pa/v1/manifests/{manifestId}", "get"): "getManifestById",
                ("/c2pa/v1/services/supportedAlgorithms", "get"): "getSupportedBindings"}
    found = {(path, method): op["operationId"] for path, method, op in operations(spec)
             if path.startswith("/c2pa/")}
    assert found == expected
    by_binding = spec["paths"]["/c2pa/v1/matches/byBinding"]["get"]
    assert {p["name"] for p in by_binding["parameters"]} >= {"alg", "value", "maxResults"}
    by_content = spec["paths"]["/c2pa/v1/matches/byContent"]["post"]
    assert {p["name"] for p in by_content["parameters"]} >= {"alg", "maxResults", "hintAlg",
                                                             "hintValue"}

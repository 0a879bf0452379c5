"""The /api/v1 contract: the OpenAPI document matches the routes, and schemathesis finds no 5xx and only problem+json refusals."""

from __future__ import annotations

import os
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks

from gis_service.web.openapi import document

# Few examples per operation and mode: 14 operations × 2 modes must stay within about two minutes here.
EXAMPLES = int(os.environ.get("GIS_FUZZ_EXAMPLES", "100"))  # more by hand for a longer hunt


def _flask_to_openapi(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([A-Za-z_]+)>", r"{\1}", rule)


def test_document_lists_every_api_route_and_nothing_else(quiet_orders_app):
    served = quiet_orders_app.test_client().get("/api/v1/openapi.json")
    assert served.status_code == 200 and served.json["openapi"].startswith("3.1")
    routes = {(_flask_to_openapi(rule.rule), method.lower())
              for rule in quiet_orders_app.url_map.iter_rules() if rule.rule.startswith("/api/v1")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, item in served.json["paths"].items() for method in item}
    assert routes == documented
    for path, method in documented:
        names = set(re.findall(r"{(\w+)}", path))
        declared = {p["name"] for p in served.json["paths"][path][method].get("parameters", []) if p["in"] == "path"}
        assert names == declared, path


def test_document_is_valid_openapi_3_1():
    schemathesis.openapi.from_dict(document()).validate()


@pytest.fixture(scope="module")
def api_schema(quiet_orders_app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", quiet_orders_app)


def problem_json_refusals(ctx, response, case):
    """Every 4xx is application/problem+json with the status it is sent with."""
    if 400 <= response.status_code < 500:
        kind = response.headers.get("content-type", [""])[0].split(";")[0].strip()
        assert kind == "application/problem+json", f"{response.status_code} as {kind!r}"
        assert response.json()["status"] == response.status_code
    return None


# The document itself is left out by schemathesis (it is where the schema was loaded from); the test above reads it.
# Status codes, media types and bodies as documented; no 5xx; refusals as problem+json. Whether a schema-valid
# request is accepted is not checked: the query grammar (one of q, gemarkung, x/y, bbox) is wider than OpenAPI says.
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance, checks.negative_data_rejection, problem_json_refusals]

OPERATIONS = [(method.upper(), path) for path, item in document()["paths"].items() for method in item
              if path != "/api/v1/openapi.json"]


# schemathesis' own pytest loader (from_fixture) does not run under pytest 9, so each operation is driven here.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_api_contract(api_schema, method, path, mode):
    operation = next(result.ok() for result in api_schema.get_all_operations()
                     if result.ok().method.upper() == method and result.ok().path == path)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        # Positive cases carry the API key, so /orders/{number} reaches the lookup rather than stopping at 401.
        headers = {"X-API-Key": "formserver-key-0123456789"} if mode is GenerationMode.POSITIVE else None
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()

"""docs/openapi.yaml is a valid OpenAPI 3.0 document (openapi-spec-validator), documents
every route of the registry's blueprint and nothing else, names every operation a read
can answer with, and points at the local network's first node.

That each answer matches its documented schema is checked over a fake ledger in
test_reads.py and over a real network in tests/integration/test_plays_network.py."""
import re
from pathlib import Path

import pytest
import yaml
from flask import Flask
from openapi_spec_validator import validate_spec
from openapi_spec_validator.exceptions import OpenAPIValidationError

from bigchaindb_resonate import api, registry
from bigchaindb_resonate.testnet.description import describe_loopback

DOCUMENT_PATH = Path(__file__).parents[2] / "docs" / "openapi.yaml"
DOCUMENT = yaml.safe_load(DOCUMENT_PATH.read_text())
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# BigchainDB's own operations that a registry read may name beside ours.
HOST_OPERATIONS = {"CREATE", "TRANSFER"}


def blueprint_routes():
    """{documented path: methods} for every rule the blueprint adds to an app."""
    app = Flask(__name__)
    api.register(app)
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(f"{api.blueprint.name}."):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule.removeprefix(api.PREFIX))
            routes[path] = {method.lower() for method in rule.methods} - {"head", "options"}
    return routes


def test_the_document_passes_the_openapi_validator():
    validate_spec(DOCUMENT)  # raises, naming the first thing that is not OpenAPI 3.0


def test_an_unquoted_comma_in_a_flow_mapping_would_be_caught():
    """YAML reads `{description: a, b}` as two keys; the validator refuses the second."""
    broken = DOCUMENT_PATH.read_text().replace(
        'description: "committed plays, free ones included"',
        "description: committed plays, free ones included")
    assert broken != DOCUMENT_PATH.read_text()
    with pytest.raises(OpenAPIValidationError, match="Ownership"):
        validate_spec(yaml.safe_load(broken))


def test_every_route_is_documented_with_its_methods_and_nothing_else_is():
    routes = blueprint_routes()
    assert len(routes) >= 7
    documented = {path: {method for method in item if method in METHODS}
                  for path, item in DOCUMENT["paths"].items()}
    assert documented == routes


def test_every_operation_is_named():
    named = set(DOCUMENT["components"]["schemas"]["Operation"]["enum"])
    assert named == set(registry.OPERATIONS) | HOST_OPERATIONS
    assert {"CREDIT", "SPLIT", "PLAY"} <= named


def test_the_first_server_is_the_local_networks_first_node():
    first = DOCUMENT["servers"][0]["url"]
    assert first == describe_loopback().nodes[0].api_url + api.PREFIX


def test_the_external_docs_name_bigchaindbs_own_api():
    # BigchainDB's own API (transactions, outputs, assets) is referred to, not redocumented.
    assert "bigchaindb" in DOCUMENT["externalDocs"]["url"]


def nodes_with(node, key):
    if isinstance(node, dict):
        if key in node:
            yield node
        for value in node.values():
            yield from nodes_with(value, key)
    elif isinstance(node, list):
        for value in node:
            yield from nodes_with(value, key)


def test_nullable_stands_beside_a_type():
    """OpenAPI 3.0.3 makes a schema nullable only with its own `type`; next to a `$ref` or
    an `allOf` it is ignored and a strict validator refuses the null."""
    schemas = list(nodes_with(DOCUMENT, "nullable"))
    assert schemas
    for schema in schemas:
        assert "type" in schema, schema


def test_the_network_read_documents_every_parameter():
    from bigchaindb_resonate.parameters import PARAMETERS

    documented = DOCUMENT["components"]["schemas"]["Network"]["properties"]["parameters"]["properties"]
    assert set(documented) == set(PARAMETERS)

"""docs/openapi.yaml documents every route of the registry's blueprint, and is structurally
a valid OpenAPI 3.0 document (checked here by its rules, without a validator package).
That each answer matches its documented schema is checked in test_reads.py."""
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from flask import Flask

from bigchaindb_resonate import api

DOCUMENT = yaml.safe_load((Path(__file__).parents[2] / "docs" / "openapi.yaml").read_text())
TOP_LEVEL = {"openapi", "info", "servers", "paths", "components", "security", "tags",
             "externalDocs"}
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
PATH_ITEM = METHODS | {"$ref", "summary", "description", "servers", "parameters"}
PARAMETER_PLACES = {"query", "header", "path", "cookie"}
COMPONENTS = {"schemas", "responses", "parameters", "examples", "requestBodies", "headers",
              "securitySchemes", "links", "callbacks"}


def resolve(node):
    """Follow a local `$ref` (OpenAPI allows only those here) to what it names."""
    while isinstance(node, dict) and "$ref" in node:
        target = DOCUMENT
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


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


def operations():
    return [(path, method, operation) for path, item in DOCUMENT["paths"].items()
            for method, operation in item.items() if method in METHODS]


def all_refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from all_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from all_refs(value)


def test_every_route_is_documented_with_its_methods_and_nothing_else_is():
    routes = blueprint_routes()
    assert len(routes) >= 7
    documented = {path: {method for method in item if method in METHODS}
                  for path, item in DOCUMENT["paths"].items()}
    assert documented == routes


@pytest.mark.parametrize("path, method, operation", operations())
def test_every_path_parameter_is_declared_required(path, method, operation):
    parameters = [resolve(parameter) for parameter in operation.get("parameters", [])]
    declared = {parameter["name"] for parameter in parameters if parameter["in"] == "path"}
    assert declared == set(re.findall(r"{([^}]+)}", path))
    assert all(parameter["required"] is True for parameter in parameters
               if parameter["in"] == "path")


def test_top_level_structure():
    assert re.fullmatch(r"3\.0\.\d+", DOCUMENT["openapi"])
    assert set(DOCUMENT) <= TOP_LEVEL
    assert isinstance(DOCUMENT["info"]["title"], str) and isinstance(DOCUMENT["info"]["version"], str)
    assert set(DOCUMENT["components"]) <= COMPONENTS
    assert all(server["url"] for server in DOCUMENT["servers"])
    # BigchainDB's own API (transactions, outputs, assets) is referred to, not redocumented.
    assert "bigchaindb" in DOCUMENT["externalDocs"]["url"]


def test_path_items_and_operations_are_well_formed():
    ids = [operation["operationId"] for _, _, operation in operations()]
    assert len(ids) == len(set(ids))
    for path, item in DOCUMENT["paths"].items():
        assert path.startswith("/") and set(item) <= PATH_ITEM
    for _, _, operation in operations():
        assert operation["responses"]
        for status, response in operation["responses"].items():
            assert re.fullmatch(r"[1-5](\d\d|XX)|default", status)
            response = resolve(response)
            assert isinstance(response["description"], str)
            for media in response.get("content", {}).values():
                assert "schema" in media
        for parameter in map(resolve, operation.get("parameters", [])):
            assert parameter["in"] in PARAMETER_PLACES and parameter["name"]
            assert ("schema" in parameter) != ("content" in parameter)


def test_every_reference_resolves_within_the_document():
    refs = set(all_refs(DOCUMENT))
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/")
        assert isinstance(resolve({"$ref": ref}), dict), ref


@pytest.mark.parametrize("name", sorted(DOCUMENT["components"]["schemas"]))
def test_every_schema_is_a_json_schema(name):
    # OpenAPI 3.0 schema objects are a subset of JSON Schema draft 4 plus a few keywords
    # (nullable, example, …) that a draft 4 check ignores.
    schema = DOCUMENT["components"]["schemas"][name]
    jsonschema.Draft4Validator.check_schema(schema)
    assert "type" not in schema or isinstance(schema["type"], str)  # 3.0 has no type lists

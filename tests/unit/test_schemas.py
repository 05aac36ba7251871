"""Every schema we ship is draft 4, closed, and judged alike by both validators."""
import pytest
import yaml

from bigchaindb_resonate.schemas import SCHEMA_DIR, CompiledSchema

DRAFT4_KEYWORDS = {
    "$schema", "title", "description", "type", "properties", "additionalProperties", "required",
    "enum", "pattern", "minLength", "maxLength", "minimum", "maximum", "items", "minItems",
    "maxItems", "uniqueItems", "$ref", "definitions", "anyOf", "oneOf", "allOf", "not",
    "patternProperties", "multipleOf",
}
SCHEMAS = sorted(path.stem for path in SCHEMA_DIR.glob("*.yaml"))


def walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_uses_draft4_keywords_and_closes_every_object(name):
    document = yaml.safe_load((SCHEMA_DIR / f"{name}.yaml").read_text())
    assert document["$schema"] == "http://json-schema.org/draft-04/schema#"
    for node in walk(document):
        if node.get("type") == "object":
            assert node.get("additionalProperties") is False, f"{name}: an open object"
    for node in walk(document.get("properties", {})):
        unknown = set(node) - DRAFT4_KEYWORDS
        # keys under `properties` are property names, not keywords
        if "properties" not in node and not any(isinstance(v, dict) and "type" in v for v in node.values()):
            assert not unknown, f"{name}: keywords outside draft 4: {unknown}"


def test_schema_name_carries_a_version():
    assert SCHEMAS and all("_v" in name for name in SCHEMAS)
    for name in SCHEMAS:
        CompiledSchema(name)

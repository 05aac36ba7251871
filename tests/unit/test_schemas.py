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


def schema_nodes(node):
    """Every subschema: keys of `properties` and `definitions` are names, not keywords."""
    yield node
    for keyword in ("properties", "definitions", "patternProperties"):
        for child in node.get(keyword, {}).values():
            yield from schema_nodes(child)
    for keyword in ("items", "not", "additionalProperties"):
        if isinstance(node.get(keyword), dict):
            yield from schema_nodes(node[keyword])
    for keyword in ("anyOf", "oneOf", "allOf"):
        for child in node.get(keyword, []):
            yield from schema_nodes(child)


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_uses_draft4_keywords_and_closes_every_object(name):
    document = yaml.safe_load((SCHEMA_DIR / f"{name}.yaml").read_text())
    assert document["$schema"] == "http://json-schema.org/draft-04/schema#"
    for node in schema_nodes(document):
        unknown = set(node) - DRAFT4_KEYWORDS
        assert not unknown, f"{name}: keywords outside draft 4: {unknown}"
        if node.get("type") == "object":
            assert node.get("additionalProperties") is False, f"{name}: an open object"


def test_disagreeing_validators_refuse_with_a_schema_violation_not_a_crash(tmp_path, monkeypatch):
    from bigchaindb_resonate import schemas
    from bigchaindb_resonate.errors import SchemaViolation

    (tmp_path / "dollar_v1.0.yaml").write_text(
        '$schema: "http://json-schema.org/draft-04/schema#"\ntype: string\npattern: "^a$"\n')
    monkeypatch.setattr(schemas, "SCHEMA_DIR", tmp_path)
    compiled = schemas.CompiledSchema("dollar_v1.0")
    # jsonschema's `$` matches before a final newline; rapidjson's does not.
    with pytest.raises(SchemaViolation):
        compiled.check("a\n", "asset.data.x")


def test_schema_name_carries_a_version():
    assert SCHEMAS and all("_v" in name for name in SCHEMAS)
    for name in SCHEMAS:
        CompiledSchema(name)


def test_no_pattern_uses_an_escape_the_fast_validator_ignores():
    """rapidjson's regex engine does not compile class escapes such as \\d and then accepts
    every string (seen: "^\\\\d+$" accepts "abc"), so a schema would silently check nothing."""
    import rapidjson

    ignored = rapidjson.Validator(rapidjson.dumps({"type": "string", "pattern": "^\\d+$"}))
    ignored(rapidjson.dumps("abc"))  # the reason for this test: no error raised
    for name in SCHEMAS:
        for node in schema_nodes(yaml.safe_load((SCHEMA_DIR / f"{name}.yaml").read_text())):
            pattern = node.get("pattern", "")
            for escape in ("\\d", "\\D", "\\w", "\\W", "\\s", "\\S", "\\b"):
                assert escape not in pattern, f"{name}: pattern {pattern!r} uses {escape}"

"""The JSON Schema of spec language v1: a valid 2020-12 schema, documented, and met by specs/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PATH = ROOT / "schema" / "pipeline.schema.json"
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
MODELINE = "# yaml-language-server: $schema=../schema/pipeline.schema.json"


class _DatesAsText(yaml.SafeLoader):
    """PyYAML's safe loader without implicit timestamps, like etlc's loader."""


_DatesAsText.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def test_schema_is_valid_2020_12(schema):
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema.get("$id")
    Draft202012Validator.check_schema(schema)


def _resolve(schema: dict, node: dict) -> dict:
    ref = node.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        return schema["$defs"][ref.split("/")[-1]]
    return node


def _property_schemas(schema: dict):
    """Every (json pointer, subschema) that describes a property or a mapping's values."""
    stack = [("#", schema)]
    seen = set()
    while stack:
        where, node = stack.pop()
        if not isinstance(node, dict) or id(node) in seen:
            continue
        seen.add(id(node))
        for name, sub in node.get("properties", {}).items():
            yield f"{where}/properties/{name}", sub
            stack.append((f"{where}/properties/{name}", sub))
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            yield f"{where}/additionalProperties", extra
            stack.append((f"{where}/additionalProperties", extra))
        for key in ("items", "if", "then", "else", "propertyNames"):
            if isinstance(node.get(key), dict):
                stack.append((f"{where}/{key}", node[key]))
        for i, sub in enumerate(node.get("prefixItems", [])):
            stack.append((f"{where}/prefixItems/{i}", sub))
        for name, sub in node.get("$defs", {}).items():
            stack.append((f"#/$defs/{name}", sub))


def test_every_property_has_a_description(schema):
    missing = [where for where, sub in _property_schemas(schema)
               if not sub.get("description") and not _resolve(schema, sub).get("description")]
    assert not missing, f"properties without a description: {missing}"


def test_every_def_is_used(schema):
    text = json.dumps(schema)
    unused = [name for name in schema["$defs"] if f'"#/$defs/{name}"' not in text]
    assert not unused


def _closed_objects(schema: dict):
    for where, sub in _property_schemas(schema):
        sub = _resolve(schema, sub)
        if "properties" in sub:
            yield where, sub


def test_objects_with_known_keys_are_closed(schema):
    """A misspelled key must never pass silently."""
    assert schema["additionalProperties"] is False
    open_ = [where for where, sub in _closed_objects(schema) if sub.get("additionalProperties") is not False]
    assert not open_, f"objects that accept unknown keys: {open_}"


def test_step_kinds_are_not_encoded(schema):
    """E304 (one kind per step) is the semantic pass's job: no oneOf/anyOf on steps."""
    step = schema["$defs"]["step"]
    assert not {"oneOf", "anyOf", "allOf"} & set(step)


def test_there_are_specs():
    names = {p.name for p in SPECS}
    assert {"b3_daily_quotes.yaml", "orders_csv_to_postgres.yaml", "docs_vectors_qdrant.yaml",
            "demo_sales.yaml"} <= names


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_spec_validates_against_the_schema(schema, path):
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == MODELINE
    data = yaml.load(text, Loader=_DatesAsText)
    errors = sorted(Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
    assert data["pipeline"] == path.stem


@pytest.mark.parametrize("instance, ok", [
    ({"schedule": "0 6 * * 1-5"}, True),
    ({"schedule": "*/15 * * * * 30"}, True),
    ({"schedule": "@daily"}, True),
    ({"schedule": None}, True),
    ({"schedule": {"assets": ["b3_daily_quotes.quotes_lake"]}}, True),
    ({"schedule": {"assets": ["s3://raw/x"], "external": True}}, True),
    ({"schedule": "0 6 * *"}, False),
    ({"schedule": "@dayly"}, False),
    ({"schedule": {"external": True}}, False),
    ({"schedule": 5}, False),
    ({"start_date": "2025-01-02"}, True),
    ({"start_date": "2025-01-02T06:30:00Z"}, True),
    ({"start_date": "2025-01-02 06:30"}, True),
    ({"start_date": "2025-13-02"}, False),
    ({"start_date": "02/01/2025"}, False),
    ({"dagrun_timeout": "90m"}, True),
    ({"dagrun_timeout": "1.5h"}, False),
    ({"defaults": {"retry_delay": "5 m"}}, False),
    ({"defaults": {"partitions": 10001}}, False),
    ({"pipeline": "x" * 200}, True),
    ({"pipeline": "x" * 201}, False),
    ({"pipeline": "1abc"}, False),
])
def test_forms(schema, instance, ok):
    base = {"etlc": 1, "pipeline": "p", "steps": {"raw": {"read": "src"}}}
    base.update(instance)
    assert Draft202012Validator(schema).is_valid(base) is ok


@pytest.mark.parametrize("step, ok", [
    ({"call": "my_pkg.mod:func", "from": ["a", "b"], "args": {"k": 1}, "per_partition": True}, True),
    ({"call": "my_pkg.mod.func"}, False),
    ({"operator": "airflow.providers.standard.operators.bash:BashOperator", "args": {}}, True),
    ({"operator": "BashOperator"}, False),
    ({"from": "a", "join": {"with": "b", "on": {"id": "other_id"}, "how": "anti"}}, True),
    ({"from": "a", "join": {"with": "b", "on": ["id"], "how": "full"}}, False),
    ({"from": "a", "sort": ["x", "-y"], "limit": 0, "distinct": True}, True),
    ({"from": "a", "distinct": ["x"]}, True),
    ({"from": "a", "limit": -1}, False),
    ({"from": "a", "cast": {"x": "decimal"}}, True),
    ({"from": "a", "cast": {"x": "double"}}, False),
    ({"from": "a", "checks": {"row_count": {"min": 1, "max": 10}, "expect": ["x > 0"]}}, True),
    ({"from": "a", "fliter": "x > 0"}, False),
    # the schema does not know step kinds: E304 comes from the semantic pass
    ({"read": "a", "write": "b"}, True),
])
def test_steps(schema, step, ok):
    spec = {"etlc": 1, "pipeline": "p", "steps": {"s": step}}
    assert Draft202012Validator(schema).is_valid(spec) is ok

"""The fast validity check (jsonschema-rs) and the reference one (jsonschema) agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from etlc_compiler import loader, schema_check

ROOT = Path(__file__).resolve().parents[2]
FILES = [p for p in sorted((ROOT / "tests" / "invalid").glob("*.yaml")) + sorted((ROOT / "specs").glob("*.yaml"))
         if loader.load(p.read_bytes(), str(p))[0] is not None]  # files the loader rejects never reach a schema


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_fast_and_reference_validators_agree(path):
    fast = schema_check._fast_validator()
    assert fast is not None, "jsonschema-rs is a dependency"
    spec, _ = loader.load(path.read_bytes(), str(path))
    reference = not any(True for _ in schema_check._validator().iter_errors(spec.data))
    assert fast.is_valid(spec.data) == reference

"""Differential property test of `etlc convert dag-factory`'s asset conditions: a random
dag-factory schedule (a list of URIs, or `airflow.sdk.Asset` objects under nested `__and__` /
`__or__`) is read by dag-factory's own YAML loader into Airflow asset objects, and converted by
etlc then rendered as the DAG file's `schedule=` source; both must serialize to the same asset
condition. Skipped where dag-factory (the `bench` extra) is not installed."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from dagfactory import _yaml as dagfactory_yaml
from etlc_compiler import convert_schedules, schedules
from hypothesis import given, settings
from hypothesis import strategies as st

URIS = st.sampled_from(["s3://b/a.csv", "s3://b/b.csv", "file:///data/c", "orders", "team.sales"])
ASSET = st.builds(lambda uri, key: {"__type__": "airflow.sdk.Asset", key: uri}, URIS, st.sampled_from(["uri", "name"]))
CONDITIONS = st.recursive(ASSET, lambda inner: st.dictionaries(st.sampled_from(["__and__", "__or__"]),
                                                               st.lists(inner, min_size=1, max_size=3),
                                                               min_size=1, max_size=1), max_leaves=8)
SCHEDULES = st.one_of(CONDITIONS, st.lists(URIS, min_size=1, max_size=3, unique=True))


def _encoded(condition):
    from airflow.sdk import Asset, AssetAll
    from airflow.serialization.encoders import encode_asset_like

    if isinstance(condition, list):  # a DAG's schedule list is all of its assets
        condition = AssetAll(*[Asset(c) if isinstance(c, str) else c for c in condition])
    encoded = encode_asset_like(condition)
    if len(encoded.get("objects", ())) == 1:  # all (or any) of one asset is that asset: etlc writes [x]
        return encoded["objects"][0]
    return encoded


@settings(max_examples=40, deadline=None)
@given(SCHEDULES)
def test_converted_asset_conditions_equal_dag_factorys(schedule):
    from airflow.sdk import Asset

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dag.yml"
        path.write_text(yaml.safe_dump({"schedule": schedule}))
        theirs = dagfactory_yaml.load_yaml_file(str(path))["schedule"]
    spec = convert_schedules.convert(schedule)
    assert spec["external"] is True
    source, sdk, extra = schedules.render(spec, duration=str)
    assert sdk == {"Asset"} and extra == {}
    ours = eval(source, {"__builtins__": {}, "Asset": Asset})  # source built from pyliteral only
    assert _encoded(ours) == _encoded(theirs)

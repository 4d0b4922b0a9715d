"""Checks across specs validated together: pipeline ids, asset producers."""

from __future__ import annotations

from etlc_compiler.api import validate_paths

from .conftest import VALID


def codes(diags):
    return [(d.path.split("/")[-1], d.code, d.line, d.col) for d in diags]


def test_duplicate_pipeline_id(tmp_path):
    (tmp_path / "a.yaml").write_text(VALID)
    (tmp_path / "b.yaml").write_text(VALID)
    assert codes(validate_paths([tmp_path])) == [("b.yaml", "E307", 2, 11)]


def test_asset_schedule_needs_a_producer(tmp_path):
    (tmp_path / "a.yaml").write_text(VALID)
    consumer = VALID.replace("orders_daily", "reporting").replace(
        'schedule: "@daily"', "schedule:\n  assets: [orders_daily.per_customer, orders_daily.per_customr]")
    (tmp_path / "b.yaml").write_text(consumer)
    diags = validate_paths([tmp_path])
    assert codes(diags) == [("b.yaml", "E308", 6, 39)]
    assert diags[0].help == "did you mean 'orders_daily.per_customer'?"


def test_external_assets_need_no_producer(tmp_path):
    consumer = VALID.replace('schedule: "@daily"', "schedule:\n  assets: [s3://vendor/feed]\n  external: true")
    (tmp_path / "b.yaml").write_text(consumer)
    assert codes(validate_paths([tmp_path])) == []

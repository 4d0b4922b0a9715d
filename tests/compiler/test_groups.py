"""Task groups: unknown groups, groups that hold themselves and groups named like steps are
E331 at the name; `after:` naming a group becomes dependencies on its leaves (roots for a
group's own `after:`), which the plan sees as step dependencies."""

from __future__ import annotations

import pytest
from etlc_compiler.api import check_text
from etlc_compiler.model import build

SPEC = """\
etlc: 1
pipeline: grp
start_date: 2025-01-01
groups:
{groups}
datasets:
  a: {{format: csv, path: data/a.csv, columns: {{x: {{type: int}}}}}}
  out: {{format: csv, path: data/out.csv}}
steps:
  ra: {{read: a, group: {ra_group}, task: own}}
  keep: {{from: ra, filter: "x > 1", group: g2, task: own}}
  save: {{from: keep, write: out, mode: overwrite, after: {save_after}}}
"""


def diags(groups: str, ra_group: str = "g1", save_after: str = "[g1]") -> list[tuple[str, int, int]]:
    text = SPEC.format(groups=groups, ra_group=ra_group, save_after=save_after)
    return [(d.code, d.line, d.col) for d in check_text(text, "g.yaml").diagnostics]


def test_valid_groups_pass():
    assert diags("  g1: {tooltip: t}\n  g2: {group: g1, after: [ra]}") == []


@pytest.mark.parametrize(("groups", "ra_group", "save_after", "where"), [
    ("  g1: {}\n  g2: {}", "g3", "[g1]", (11, 24)),              # step in an unknown group
    ("  g1: {group: gx}\n  g2: {}", "g1", "[g1]", (5, 15)),     # unknown parent
    ("  g1: {group: g2}\n  g2: {group: g1}", "g1", "[g1]", (5, 15)),  # holds itself
    ("  g1: {}\n  g2: {after: [nope]}", "g1", "[g1]", (6, 16)),  # after names nothing
    ("  g1: {}\n  g2: {}\n  keep: {}", "g1", "[g1]", (7, 3)),    # a group named like a step
])
def test_group_mistakes_are_e331(groups, ra_group, save_after, where):
    assert ("E331", *where) in diags(groups, ra_group, save_after)


def test_after_a_group_is_after_its_leaves():
    import yaml

    data = yaml.safe_load(SPEC.format(groups="  g1: {}\n  g2: {group: g1}", ra_group="g1", save_after="[g1]"))
    spec = build("g.yaml", data)
    # g1 holds ra and (through g2) keep; keep is its only leaf
    assert spec.steps["save"].after == ("keep",)
    data["groups"]["g2"]["after"] = ["ra"]
    data["steps"]["keep"]["from"] = "ra"
    assert build("g.yaml", data).steps["keep"].after == ("ra",)

"""Fixtures of the code-generation tests (helpers live in codegen_support.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from codegen_support import make_project, simple_spec


@pytest.fixture
def project(tmp_path) -> Path:
    return make_project(tmp_path / "proj", {"alpha": simple_spec("alpha"), "beta": simple_spec("beta")})

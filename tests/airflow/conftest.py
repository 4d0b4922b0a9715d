"""Fixtures of the Airflow tests (helpers live in airflow_support.py)."""

from __future__ import annotations

import pytest
from airflow_support import migrate_db


@pytest.fixture(scope="session")
def airflow_db():
    """A migrated sqlite metadata database in the session's temporary Airflow home."""
    migrate_db()

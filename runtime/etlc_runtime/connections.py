"""Connections: a dataset's logical connection name -> connection fields.

``connections:`` in a spec maps logical names to Airflow connection ids.  The fields come
from the ``AIRFLOW_CONN_<ID>`` environment variable (a URI, or JSON), the same variable
Airflow reads, so this works inside Airflow and under ``etlc run``; inside Airflow, a
connection defined in Airflow's own store is found through Airflow's connection API.
Passwords are never logged or written anywhere.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .errors import EtlcRuntimeError


class ConnectionNotFound(EtlcRuntimeError):
    pass


@dataclass(frozen=True)
class Conn:
    conn_id: str
    conn_type: str | None = None
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    schema: str | None = None
    extra: dict = field(default_factory=dict)


def _from_uri(conn_id: str, uri: str) -> Conn:
    parts = urlsplit(uri)
    extra = dict(parse_qsl(parts.query))
    if "__extra__" in extra:
        extra = json.loads(extra["__extra__"])
    return Conn(conn_id, parts.scheme.replace("-", "_") or None, parts.hostname,
                parts.port, unquote(parts.username) if parts.username else None,
                unquote(parts.password) if parts.password else None,
                unquote(parts.path.lstrip("/")) or None, extra)


def from_env(conn_id: str) -> Conn | None:
    """The connection an ``AIRFLOW_CONN_<ID>`` variable holds (JSON or URI), or None."""
    text = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if not text:
        return None
    text = text.strip()
    if text.startswith("{"):
        data = json.loads(text)
        extra = data.get("extra") or {}
        if isinstance(extra, str):
            extra = json.loads(extra) if extra.strip() else {}
        return Conn(conn_id, data.get("conn_type"), data.get("host"),
                    int(data["port"]) if data.get("port") else None, data.get("login"),
                    data.get("password"), data.get("schema"), extra)
    return _from_uri(conn_id, text)


def from_airflow(conn_id: str) -> Conn | None:
    """The connection Airflow knows by that id (inside Airflow), or None."""
    try:
        from airflow.sdk import BaseHook
    except ImportError:
        try:
            from airflow.hooks.base import BaseHook
        except ImportError:
            return None
    try:
        c = BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - not defined there, or no Airflow context
        return None
    extra = getattr(c, "extra_dejson", None) or {}
    return Conn(conn_id, c.conn_type, c.host, c.port, c.login, c.password, c.schema, extra)


def resolve(logical: str | None, mapping: Mapping[str, Any] | None) -> Conn:
    """The connection a dataset's ``connection:`` names."""
    if not logical:
        raise ConnectionNotFound("this dataset names no connection")
    conn_id = (mapping or {}).get(logical, logical)
    conn = from_env(conn_id) or from_airflow(conn_id)
    if conn is None:
        raise ConnectionNotFound(
            f"connection '{logical}' (Airflow connection id '{conn_id}') is not defined: set "
            f"AIRFLOW_CONN_{conn_id.upper()} (a URI such as postgresql://user@host:5432/db) "
            f"or define it in Airflow")
    return conn

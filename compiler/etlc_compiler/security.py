"""Analyse stage: no literal secrets in a spec (E5xx).

Specs name Airflow connections; credentials live in Airflow (or the environment), never in
YAML that gets committed. Three checks over every string in the spec: a secret-named key
with a literal value (E501), credentials inside a URL (E502), and values shaped like
well-known secrets whatever their key (E503). Templates and `${ENV}` references pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from .diagnostics import Diagnostic
from .loader import LoadedSpec

SECRET_KEY = re.compile(r"(pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|access[_-]?key|credential|auth)$",
                        re.IGNORECASE)
URL_CREDENTIALS = re.compile(r"\b[a-z][a-z0-9+.-]*://([^/\s:@]+):([^/\s@]+)@", re.IGNORECASE)
SHAPES = (
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"), "a GitHub token"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"), "a Slack token"),
    (re.compile(r"\bBearer\s+[A-Za-z0-9._~+/-]{16,}=*", re.IGNORECASE), "a bearer token"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"), "a JSON Web Token"),
    (re.compile(r"\bsk-[A-Za-z0-9]{20,}\b"), "an API secret key"),
)
_REFERENCE = re.compile(r"^\s*(\{\{.*\}\}|\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Za-z_][A-Za-z0-9_]*)\s*$", re.DOTALL)
_NOT_SECRET_KEYS = {"key", "partition_key", "auth_type"}


def _walk(value: Any, path: tuple) -> Iterator[tuple[tuple, Any]]:
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, path + (i,))


def check(loaded: LoadedSpec) -> list[Diagnostic]:
    diags = []
    for path, value in _walk(loaded.data, ()):
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            continue
        key = path[-1] if path and isinstance(path[-1], str) else ""
        if key == "default" and len(path) == 3 and path[0] == "params":
            key = str(path[1])
        text = str(value)
        if (key and key.lower() not in _NOT_SECRET_KEYS and SECRET_KEY.search(key) and text
                and not _REFERENCE.match(text) and path[:1] != ("connections",)):
            diags.append(loaded.diag("E501", f"'{key}' holds a literal secret", path,
                                     help="keep credentials in an Airflow connection or an environment variable, "
                                          "and name the connection here"))
            continue
        if not isinstance(value, str):
            continue
        m = URL_CREDENTIALS.search(text)
        if m and not _REFERENCE.match(m.group(2)) and "{{" not in m.group(2):
            line, col, end_col = loaded.span_in_string(path, m.start(1), m.end(2))
            diags.append(Diagnostic(loaded.path, line, col, "E502", "credentials inside a URL", "error", line, end_col,
                                    "drop 'user:password@' and put the credentials in a connection"))
            continue
        for pattern, what in SHAPES:
            m = pattern.search(text)
            if m:
                line, col, end_col = loaded.span_in_string(path, m.start(), m.end())
                diags.append(Diagnostic(loaded.path, line, col, "E503", f"this looks like {what}", "error", line, end_col,
                                        "never put secrets in a spec; use a connection or an environment variable"))
                break
    return diags

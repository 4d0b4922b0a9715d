"""Analyse stage: no literal secrets in a spec (E5xx).

Specs name Airflow connections; credentials live in Airflow (or the environment), never in
YAML that gets committed. Every scalar of the spec is checked (the `connections` section,
which maps names to connection ids, excepted):

- E501, a literal under a secret name: a mapping key (a param's name for its `default`),
  a `NAME=value` assignment inside a string (`PGPASSWORD=x psql`, `?api_key=x`), a
  `--NAME=value` / `--NAME value` option, MySQL's `-p<value>` after a MySQL-family client or
  `sshpass` (`sshpass -p <value>` too) in the same string or an earlier item of the same list.
  curl's `-u`/`--user user:password` with a literal password.
- E502, credentials inside a URL: `scheme://user:pw@host` and `scheme://:pw@host`.
- E503, a value shaped like a secret whatever its key: an `Authorization:` header with a
  literal credential, AWS key ids, private keys, GitHub/Slack tokens, bearer tokens, JWTs.

A name is secret by its words, never by its letters: names split on `_`, `-`, `.`, spaces,
camelCase and digits (`pgPassword2` -> pg, password). The last word decides: it is one of
pw, pwd, pass, passwd, password, passphrase, secret, token, apikey, credential(s),
authorization; or it ends with password, passwd, pwd, secret, token, apikey, accesskey,
secretkey or privatekey (compounds written as one word: PGPASSWORD, PGPWD, AUTHTOKEN); or it
is `key` after a qualifier such as api, access, secret, private, client (API_KEY, apiKey).
So BYPASS, KEYBOARD, PASSENGER, TOKENIZER, partition_key, password_file and max_tokens pass.
A name whose first word is `no` (`--no-password`) never counts.

Values that only refer to a secret pass: empty ones, templates (`{{ conn.x.password }}`),
environment references (`${ENV}`, `$ENV`, `$(cat file)`), placeholders (`<password>`, `***`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .diagnostics import Diagnostic
from .loader import JsonPath, LoadedSpec

SECRET_WORDS = frozenset({"pw", "pwd", "pass", "passwd", "password", "passphrase", "secret", "token",
                          "apikey", "credential", "credentials", "authorization"})
SECRET_SUFFIXES = ("password", "passwd", "pwd", "secret", "token", "apikey", "accesskey", "secretkey",
                   "privatekey")
KEY_QUALIFIERS = frozenset({"api", "access", "secret", "private", "client", "signing", "encryption", "master",
                            "account", "app", "consumer", "license", "subscription", "shared", "hmac", "sas",
                            "auth", "ssh"})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")

_VALUE = r"(\"[^\"]*\"|'[^']*'|[^\s;&|'\"<>()`]+)"
ASSIGNMENT = re.compile(r"(?<![\w$.\-/])([A-Za-z_][A-Za-z0-9_]*)=(?!=)" + _VALUE)
LONG_OPTION = re.compile(r"(?<![\w-])--([A-Za-z][A-Za-z0-9_-]*)(=|[ \t]+)" + _VALUE)
SHORT_P = re.compile(r"(?<![\w-])-p(?=[^\s=])" + _VALUE)
SPACED_P = re.compile(r"(?<![\w-])-p[ \t]+" + _VALUE)
P_CLIENTS = re.compile(r"\b(mysql\w*|mariadb[\w-]*|sshpass)\b", re.IGNORECASE)
SSHPASS = re.compile(r"\bsshpass\b")
CURL_USER = re.compile(r"(?<![\w-])(?:-u|--user)(?:[ \t]+|=)?" + _VALUE)
CURL = re.compile(r"\bcurl\b")
PG_CLIENTS = re.compile(r"\b(psql|pg_\w+|createdb|dropdb|createuser|dropuser|vacuumdb|reindexdb|clusterdb)\b")
URL_CREDENTIALS = re.compile(r"\b[a-z][a-z0-9+.-]*://([^/\s:@]*):([^/\s@]+)@", re.IGNORECASE)
AUTH_HEADER = re.compile(r"\bAuthorization\s*:\s*(Basic|Bearer|Token|Digest|ApiKey)\s+(\"[^\"]*\"|'[^']*'|[^\s'\"]+)",
                         re.IGNORECASE)
SHAPES = (
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"), "a GitHub token"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"), "a Slack token"),
    (re.compile(r"\bBearer\s+[A-Za-z0-9._~+/-]{16,}=*", re.IGNORECASE), "a bearer token"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"), "a JSON Web Token"),
    (re.compile(r"\bsk-[A-Za-z0-9]{20,}\b"), "an API secret key"),
)
_REFERENCE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\$\{[^}]*\}|\$\([^)]*\)?|\$[A-Za-z_][A-Za-z0-9_]*|\$\d", re.DOTALL)
_PLACEHOLDER = re.compile(r"^(<[^<>]*>|\*+|\.\.\.|(Basic|Bearer|Token)\s*)$", re.IGNORECASE)

NO_CREDENTIALS_HELP = "keep credentials in an Airflow connection or an environment variable, and name the connection here"
NO_SECRETS_HELP = "never put secrets in a spec; use a connection or an environment variable"


def key_words(name: str) -> list[str]:
    """The words of a name, lower case, digits dropped: 'pgPassword2' -> ['pg', 'password']."""
    return [w.lower() for w in _WORD.findall(name) if not w.isdigit()]


def is_secret_name(name: str) -> bool:
    words = key_words(name)
    if not words or words[0] == "no":
        return False
    last = words[-1]
    if last in SECRET_WORDS:
        return True
    if last == "key":
        return len(words) > 1 and words[-2] in KEY_QUALIFIERS
    return any(last.endswith(s) and len(last) > len(s) for s in SECRET_SUFFIXES)


def is_literal(value: str) -> bool:
    """True when value holds literal text rather than only references to a secret."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    if value.startswith(("$", "{{", "{%")):
        return False
    rest = _REFERENCE.sub("", value).strip()
    return bool(rest) and not _PLACEHOLDER.match(rest)


@dataclass(frozen=True)
class Finding:
    start: int
    end: int
    code: str
    message: str
    help: str


def _walk(value: Any, path: JsonPath, before: str = "") -> Iterator[tuple[JsonPath, Any, str]]:
    """Every node with its path and, for a list item, the text of the items before it."""
    yield path, value, before
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, path + (k,))
    elif isinstance(value, list):
        seen: list[str] = []
        for i, v in enumerate(value):
            yield from _walk(v, path + (i,), " ".join(seen))
            if isinstance(v, (str, int)) and not isinstance(v, bool):
                seen.append(str(v))


def _in_string(text: str, before: str) -> list[Finding]:
    """Secrets inside one string; `before` is the text of earlier items of its list."""
    found: list[Finding] = []
    for m in ASSIGNMENT.finditer(text):
        if is_secret_name(m.group(1)) and is_literal(m.group(2)):
            found.append(Finding(m.start(), m.end(), "E501", f"'{m.group(1)}' is assigned a literal secret",
                                 NO_CREDENTIALS_HELP))
    for m in LONG_OPTION.finditer(text):
        name, sep, value = m.groups()
        if not is_secret_name(name) or not is_literal(value) or value.startswith("-"):
            continue
        if sep != "=" and PG_CLIENTS.search(before + " " + text[:m.start()]):
            continue  # psql --password takes no value: it asks for one
        found.append(Finding(m.start(), m.end(), "E501", f"'--{name}' is given a literal secret",
                             NO_CREDENTIALS_HELP))
    for m in SHORT_P.finditer(text):
        if P_CLIENTS.search(before + " " + text[:m.start()]) and is_literal(m.group(1)):
            found.append(Finding(m.start(), m.end(), "E501", "'-p' is given a literal password", NO_CREDENTIALS_HELP))
    for m in SPACED_P.finditer(text):
        if SSHPASS.search(before + " " + text[:m.start()]) and is_literal(m.group(1)):
            found.append(Finding(m.start(), m.end(), "E501", "'sshpass -p' is given a literal password",
                                 NO_CREDENTIALS_HELP))
    for m in CURL_USER.finditer(text):
        password = m.group(1).strip("'\"").partition(":")[2]
        command = re.split(r"[;&|\n]", before + " " + text[:m.start()])[-1]  # this command only
        if password and is_literal(password) and CURL.search(command):
            found.append(Finding(m.start(), m.end(), "E501", "curl's '-u user:password' is given a "
                                 "literal password", NO_CREDENTIALS_HELP))
    for m in URL_CREDENTIALS.finditer(text):
        if is_literal(m.group(2)) and "{{" not in m.group(2):
            found.append(Finding(m.start(1), m.end(2), "E502", "credentials inside a URL",
                                 "drop 'user:password@' and put the credentials in a connection"))
    for m in AUTH_HEADER.finditer(text):
        if is_literal(m.group(2)):
            found.append(Finding(m.start(), m.end(), "E503", f"an Authorization header with a literal "
                                 f"{m.group(1)} credential", NO_SECRETS_HELP))
    for pattern, what in SHAPES:
        for m in pattern.finditer(text):
            found.append(Finding(m.start(), m.end(), "E503", f"this looks like {what}", NO_SECRETS_HELP))
    kept: list[Finding] = []
    for f in sorted(found, key=lambda f: (f.start, -f.end)):
        if not kept or f.start >= kept[-1].end:
            kept.append(f)
    return kept


def check(loaded: LoadedSpec) -> list[Diagnostic]:
    diags = []
    for path, value, before in _walk(loaded.data, ()):
        if not isinstance(value, (str, int)) or isinstance(value, bool) or path[:1] == ("connections",):
            continue
        key = path[-1] if path and isinstance(path[-1], str) else ""
        if key == "default" and len(path) == 3 and path[0] == "params":
            key = str(path[1])
        text = str(value)
        if key and is_secret_name(key) and is_literal(text):
            diags.append(loaded.diag("E501", f"'{key}' holds a literal secret", path, help=NO_CREDENTIALS_HELP))
            continue
        if not isinstance(value, str):
            continue
        for f in _in_string(text, before):
            line, col, end_col = loaded.span_in_string(path, f.start, f.end)
            diags.append(Diagnostic(loaded.path, line, col, f.code, f.message, "error", line, end_col, f.help))
    return diags

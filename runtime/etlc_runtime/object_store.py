"""File datasets on S3 (and MinIO): credentials, and the object-store form of the commit.

S3 has no rename, so the local commit protocol (:mod:`.commit`: build the next version beside
the target, swap it in) cannot work there.  Instead a dataset ``s3://bucket/prefix/`` holds:

- part objects whose names carry the writing attempt's random token,
  ``prefix/[col=value/]part-<token>-NNNNN.<ext>`` (append: ``part-<key>-<token>-NNNNN``), so
  two attempts never write the same object;
- one manifest object, ``prefix/_etlc_manifest.json``: the list of parts that make up the
  current version (with their rows and bytes), the format and the attempt's token.
  **Publishing the manifest (one PUT, atomic on S3) is the commit point**; etlc's reads
  list the manifest's parts only, so a reader sees the whole old version or the whole new
  one, never a mix.

:class:`ObjectCommit` writes a version: ``part_url(i, partition)`` names each new part;
``commit(parts)`` publishes the manifest, carrying over the previous manifest's parts that the
mode keeps (``overwrite``: none; ``overwrite_partitions``: those outside the partitions
written; ``append``: all but the same append key's) and then deletes every ``part-*`` object
under the prefix that the new manifest does not list: the previous version's dropped parts
and the parts of attempts killed before their commit (garbage that every later commit removes).
A retry is a new attempt: it writes new parts and publishes its own manifest.  One writer per
dataset at a time (as Airflow runs one task instance of a task): two concurrent writers of one
prefix are not serialised (the later manifest wins, and its cleanup may remove the other's
parts before that one commits, which then fails reading them back, never mixing).

Credentials and endpoint (never from the spec): the dataset's connection (an ``aws``
connection: login = access key id, password = secret key, extra ``endpoint_url``,
``region_name``, ``aws_session_token``) or, without one, the standard AWS environment
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL``, ``AWS_REGION``), read
by s3fs/botocore themselves.  Secrets are never logged or written into a manifest.
"""

from __future__ import annotations

import json
import posixpath
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .connections import resolve
from .errors import EtlcRuntimeError

MANIFEST = "_etlc_manifest.json"
MANIFEST_VERSION = 1
_ETLC_PART = re.compile(r"part-(?:.+-)?[0-9a-f]{16}-\d{5}\.")


class ObjectStoreError(EtlcRuntimeError):
    """R220: an object-store dataset whose manifest cannot be read (names the URL)."""

    code = "R220"

    def __init__(self, url: str, reason: str):
        self.url, self.reason = url, reason
        super().__init__(f"{self.code} object-store dataset {url}: {reason}")


def is_s3(url: str) -> bool:
    return str(url).lower().startswith(("s3://", "s3a://"))


def split(url: str) -> str:
    """``bucket/prefix`` (no scheme, no trailing slash) of an ``s3://`` URL."""
    text = str(url).split("://", 1)[1]
    return text.rstrip("/")


@dataclass(frozen=True)
class S3Options:
    """What s3fs needs; ``secret`` and ``token`` never appear in a repr."""

    key: str | None = None
    secret: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    endpoint_url: str | None = None
    region: str | None = None

    def fsspec(self) -> dict[str, Any]:
        """Keyword arguments of ``s3fs.S3FileSystem`` (empty: the AWS environment)."""
        out: dict[str, Any] = {}
        if self.key:
            out.update(key=self.key, secret=self.secret)
        if self.token:
            out["token"] = self.token
        client: dict[str, Any] = {}
        if self.endpoint_url:
            out["endpoint_url"] = self.endpoint_url
        if self.region:
            client["region_name"] = self.region
        if client:
            out["client_kwargs"] = client
        return out


def s3_options(dataset: Mapping[str, Any], connections: Mapping[str, Any] | None) -> S3Options:
    """The credentials and endpoint of a dataset (its connection, else the environment)."""
    logical = dataset.get("connection")
    if not logical:
        return S3Options()
    conn = resolve(logical, connections)
    extra = conn.extra or {}
    endpoint = extra.get("endpoint_url") or (extra.get("service_config") or {}).get(
        "s3", {}).get("endpoint_url")
    if not endpoint and conn.host:
        endpoint = (f"{extra.get('scheme', 'http')}://{conn.host}"
                    + (f":{conn.port}" if conn.port else ""))
    return S3Options(key=conn.login or extra.get("aws_access_key_id"),
                     secret=conn.password or extra.get("aws_secret_access_key"),
                     token=extra.get("aws_session_token"), endpoint_url=endpoint,
                     region=extra.get("region_name"))


def filesystem(options: S3Options):
    """An ``s3fs.S3FileSystem`` for these options (s3fs imported here only)."""
    import s3fs

    return s3fs.S3FileSystem(skip_instance_cache=True, **options.fsspec())


def read_manifest(fs, url: str) -> dict | None:
    """The dataset's committed manifest, or None when it has none."""
    path = f"{split(url)}/{MANIFEST}"
    try:
        body = fs.cat_file(path)        # one GET (an open asks for the size first)
    except FileNotFoundError:
        return None
    try:
        data = json.loads(body)
        if data.get("etlc_manifest") != MANIFEST_VERSION or not isinstance(data.get("parts"),
                                                                           list):
            raise ValueError("not an etlc manifest of a known version")
        return data
    except ValueError as exc:
        raise ObjectStoreError(url, f"unreadable manifest {MANIFEST}: {exc}") from exc


def current_parts(fs, url: str) -> list[str]:
    """The part objects (``s3://`` URLs) of the dataset's current version: the manifest's;
    without a manifest (data not written by etlc), every object under the prefix whose name
    does not start with ``.`` or ``_`` at any level, less etlc's own part names (the parts of
    a first write killed before its commit)."""
    return list(version_parts(fs, url).parts)


@dataclass(frozen=True)
class Version:
    """A dataset's current version: its part URLs, whether etlc's manifest lists them (its
    partitioned parts never hold their partition columns, so their folders alone give those
    values) and the byte sizes the manifest records (parts are never rewritten: a part's name
    carries its attempt's random token, so a recorded size stays true)."""

    parts: tuple[str, ...]
    ours: bool
    sizes: Mapping[str, int] = field(default_factory=dict)


def version_parts(fs, url: str) -> Version:
    """The dataset's current version (:func:`current_parts`, :class:`Version`)."""
    manifest = read_manifest(fs, url)
    base = split(url)
    if manifest is not None:
        parts = tuple(f"s3://{base}/{p['path']}" for p in manifest["parts"])
        sizes = {u: p["bytes"] for u, p in zip(parts, manifest["parts"])
                 if isinstance(p.get("bytes"), int)}
        return Version(parts, True, sizes)
    found = []
    for path in sorted(fs.find(base)):
        rel = path[len(base):].lstrip("/")
        if rel and not any(seg.startswith((".", "_")) for seg in rel.split("/")) \
                and not _ETLC_PART.match(posixpath.basename(rel)):
            found.append(f"s3://{path}")
    return Version(tuple(found), False)


def _partition_of(rel: str) -> str:
    return posixpath.dirname(rel)


class ObjectCommit:
    """One attempt's write of an ``s3://`` dataset folder (see the module doc)."""

    def __init__(self, fs, url: str, mode: str, *, ext: str, fmt: str,
                 append_key: str | None = None):
        if mode not in ("overwrite", "overwrite_partitions", "append"):
            raise ValueError(f"unknown write mode {mode!r}")
        if mode == "append" and not append_key:
            raise ValueError("append needs the run's append key")
        self.fs, self.url, self.mode = fs, url, mode
        self.base = split(url)
        self.ext, self.fmt, self.append_key = ext.lstrip("."), fmt, append_key
        self.token = secrets.token_hex(8)

    def part_url(self, index: int, partition: str | None = None) -> str:
        """Where new part ``index`` goes (``partition``: ``col=value[/col=value]`` or None)."""
        stem = (f"part-{self.append_key}-{self.token}" if self.mode == "append"
                else f"part-{self.token}")
        rel = f"{stem}-{index:05d}.{self.ext}"
        if partition:
            rel = f"{partition.strip('/')}/{rel}"
        return f"s3://{self.base}/{rel}"

    def _rel(self, url: str) -> str:
        path = split(url) if "://" in url else url.rstrip("/")
        if not path.startswith(self.base + "/"):
            raise ValueError(f"part {url} lies outside the dataset {self.url}")
        return path[len(self.base) + 1:]

    def _kept(self, previous: dict | None, written: set[str]) -> list[dict]:
        if previous is None or self.mode == "overwrite":
            return []
        old = previous["parts"]
        if self.mode == "overwrite_partitions":
            return [p for p in old if _partition_of(p["path"]) not in written]
        mine = f"part-{self.append_key}-"
        return [p for p in old if not posixpath.basename(p["path"]).startswith(mine)]

    def commit(self, parts: Iterable[tuple]) -> dict:
        """Publish the manifest of the new version (``parts``: (URL, rows or None[, bytes])
        of the new part objects, all written), then remove the objects no version lists.
        Returns it."""
        new = [{"path": self._rel(u), "rows": None if rows is None else int(rows),
                **({"bytes": int(size[0])} if size else {})} for u, rows, *size in parts]
        previous = read_manifest(self.fs, self.url)
        written = {_partition_of(p["path"]) for p in new}
        listed = self._kept(previous, written) + new
        manifest = {"etlc_manifest": MANIFEST_VERSION, "format": self.fmt,
                    "token": self.token, "mode": self.mode, "parts": listed,
                    "rows": None if any(p["rows"] is None for p in listed)
                    else sum(p["rows"] for p in listed)}
        body = json.dumps(manifest, indent=1, sort_keys=True).encode()
        self.fs.pipe(f"{self.base}/{MANIFEST}", body)          # the commit point
        self.collect(manifest)
        return manifest

    def collect(self, manifest: dict) -> list[str]:
        """Delete every ``part-*`` object under the prefix that ``manifest`` does not list."""
        keep = {p["path"] for p in manifest["parts"]}
        gone = []
        for path in self.fs.find(self.base):
            rel = path[len(self.base) + 1:]
            if posixpath.basename(rel).startswith("part-") and rel not in keep:
                gone.append(path)
        if gone:
            self.fs.rm(gone)
        return gone

"""Static checks of the compose stack under docker/ (no Docker engine needed).

- every compose file validates against the Compose Specification's JSON Schema
  (../shared/compose-spec.json beside the repository; the tests that need it skip, saying so,
  when it is absent);
- every `extends` resolves to a file and a service, every named volume and network a service
  uses is declared, every bind mount, build context and Dockerfile exists, every `depends_on`
  names a service of the stack;
- every service has a healthcheck; the stack file only wires (extends, names, depends_on,
  networks, profiles);
- every connection id the specs use (`connections:` values in specs/*.yaml) is wired as
  AIRFLOW_CONN_<ID> in every Airflow service, and in the native stack (scripts/stack.py);
- no secret literal: passwords, keys and tokens are only ever ${VAR} references, and every
  required variable is listed in docker/.env.example.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
STACK_FILE = DOCKER / "docker-stack-compose.yml"
SCHEMA = ROOT.parent / "shared" / "compose-spec.json"
COMPOSE_FILES = sorted([STACK_FILE, *DOCKER.glob("*/*-compose.yml")])
AIRFLOW_SERVICES = ["airflow-init", "airflow-api-server", "airflow-scheduler",
                    "airflow-dag-processor", "airflow-triggerer", "airflow-worker",
                    "airflow-flower"]
BUCKETS = {"raw", "curated", "etlc-staging", "mlflow-artifacts"}
STACK_KEYS = {"extends", "container_name", "hostname", "depends_on", "networks", "profiles"}

VAR_REF = re.compile(r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}")
ESCAPED_REF = re.compile(r"\$\$\{?[A-Za-z_][A-Za-z0-9_]*\}?")
SECRET_KEY = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|ACCESS_KEY|PRIVATE_KEY|FERNET|"
                        r"REQUIREPASS|_PASS$|^PASS$|AUTH$)", re.IGNORECASE)
NOT_SECRET_KEY = re.compile(r"(_FILE|_PATH|_DIR|_URL_PREFIX)$", re.IGNORECASE)
REF = "\x00"


def rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


# --------------------------------------------------------------------------- resolution


def resolve_service(path: Path, name: str, seen: tuple = ()) -> tuple[dict, list[Path]]:
    """The service merged along its `extends` chain, and the files it came from.

    A simplified merge (mappings merge, the extending side wins; sequences are the extending
    side's when it has one) that is enough to know what a service ends up with.
    """
    key = (path.resolve(), name)
    assert key not in seen, f"extends cycle: {seen + (key,)}"
    doc = load(path)
    services = doc.get("services") or {}
    assert name in services, f"{rel(path)}: no service '{name}'"
    svc = dict(services[name] or {})
    ext = svc.pop("extends", None)
    if ext is None:
        return svc, [path]
    if isinstance(ext, str):
        ext = {"service": ext}
    base_path = (path.parent / ext["file"]) if "file" in ext else path
    assert base_path.exists(), f"{rel(path)}: service {name} extends missing file {ext.get('file')}"
    base, files = resolve_service(base_path, ext["service"], seen + (key,))
    merged = dict(base)
    for k, v in svc.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            merged[k] = {**base[k], **v}
        else:
            merged[k] = v
    return merged, [path, *files]


def defining_file(path: Path, name: str) -> Path:
    """The file where the service's own settings (not only `extends`) are written."""
    svc = (load(path).get("services") or {})[name]
    ext = svc.get("extends")
    if ext is None:
        return path
    if isinstance(ext, str):
        return defining_file(path, ext)
    return defining_file(path.parent / ext["file"], ext["service"])


def env_of(svc: dict) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def interpolate(text: str) -> str:
    """Compose-style interpolation with placeholder values, to parse what a value becomes."""
    text = VAR_REF.sub(lambda m: m["arg"] if m["op"] in (":-", "-") else f"<{m['name']}>", text)
    return text.replace("$$", "$")


def stack_services() -> dict[str, dict]:
    return {n: resolve_service(STACK_FILE, n)[0] for n in load(STACK_FILE)["services"]}


def spec_connection_ids() -> set[str]:
    ids = set()
    for spec in sorted((ROOT / "specs").glob("*.yaml")):
        conns = (load(spec) or {}).get("connections") or {}
        ids.update(str(v) for v in conns.values())
    return ids


# --------------------------------------------------------------------------- schema


def test_compose_files_exist():
    assert STACK_FILE.exists()
    folders = sorted(p for p in DOCKER.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert folders, "no service folders under docker/"
    for folder in folders:
        assert (folder / f"{folder.name}-compose.yml").exists(), \
            f"docker/{folder.name}/ has no {folder.name}-compose.yml"


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=rel)
def test_validates_against_compose_spec(path):
    if not SCHEMA.exists():
        pytest.skip(f"Compose Specification schema not found at {SCHEMA} "
                    "(expected at ../shared/compose-spec.json relative to the repository root)")
    import jsonschema
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(load(path)), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{rel(path)}: {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in errors[:20])


# --------------------------------------------------------------------------- references


def test_stack_file_only_wires():
    doc = load(STACK_FILE)
    assert set(doc["networks"]) == {"core"}
    for name, svc in doc["services"].items():
        extra = set(svc) - STACK_KEYS
        assert not extra, f"stack service {name} configures {extra}: put it in its own file"
        assert "extends" in svc, f"stack service {name} does not extend a service file"
        assert svc["networks"] == ["core"], name


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=rel)
def test_every_extends_resolves(path):
    for name in load(path).get("services") or {}:
        svc, _files = resolve_service(path, name)
        assert "image" in svc or "build" in svc, f"{rel(path)}: {name} has no image nor build"


def test_stack_covers_every_service_file():
    """Each service defined in a per-service file is wired into the stack exactly once."""
    wired = {}
    for name, svc in load(STACK_FILE)["services"].items():
        ext = svc["extends"]
        wired[(str((DOCKER / ext["file"]).resolve()), ext["service"])] = name
    for path in COMPOSE_FILES:
        if path == STACK_FILE:
            continue
        for name in load(path).get("services") or {}:
            assert (str(path.resolve()), name) in wired, f"{rel(path)}: {name} is not in the stack"


def test_depends_on_names_stack_services():
    doc = load(STACK_FILE)
    names = set(doc["services"])
    for name, svc in doc["services"].items():
        deps = svc.get("depends_on") or {}
        for dep, cond in (deps.items() if isinstance(deps, dict) else ((d, {}) for d in deps)):
            assert dep in names, f"{name} depends on unknown service {dep}"
            assert dep != name
            if cond.get("condition") == "service_healthy":
                assert stack_services()[dep].get("healthcheck"), f"{dep} has no healthcheck"


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=rel)
def test_volumes_networks_and_paths_resolve(path):
    doc = load(path)
    top_volumes = set(doc.get("volumes") or {})
    top_networks = set(doc.get("networks") or {})
    for name in doc.get("services") or {}:
        svc, _ = resolve_service(path, name)
        where = defining_file(path, name)
        for vol in svc.get("volumes") or []:
            source = vol.split(":", 1)[0] if isinstance(vol, str) else vol.get("source", "")
            if not source:
                continue
            if source.startswith((".", "/", "~")):
                target = (where.parent / source).resolve()
                assert target.exists(), f"{rel(where)}: {name} mounts missing {source}"
            else:
                assert source in top_volumes, \
                    f"{rel(path)}: {name} uses volume '{source}' not declared in this file"
        nets = svc.get("networks") or []
        for net in nets if isinstance(nets, list) else list(nets):
            assert net in top_networks, f"{rel(path)}: {name} uses undeclared network {net}"
        build = svc.get("build")
        if build:
            ctx = where.parent / (build if isinstance(build, str) else build.get("context", "."))
            assert ctx.is_dir(), f"{rel(where)}: {name} build context {ctx} missing"
            dockerfile = ctx / (build.get("dockerfile", "Dockerfile") if isinstance(build, dict)
                                else "Dockerfile")
            assert dockerfile.is_file(), f"{rel(where)}: {name} has no {dockerfile}"


def test_every_service_has_a_healthcheck():
    for path in COMPOSE_FILES:
        for name in load(path).get("services") or {}:
            svc, _ = resolve_service(path, name)
            hc = svc.get("healthcheck")
            assert hc and hc.get("test") and not hc.get("disable"), \
                f"{rel(path)}: {name} has no healthcheck"


# --------------------------------------------------------------------------- contents


def test_spec_connections_are_wired_in_every_airflow_service():
    ids = spec_connection_ids()
    assert ids, "no specs/*.yaml declares connections"
    services = stack_services()
    for name in AIRFLOW_SERVICES:
        env = env_of(services[name])
        for cid in sorted(ids):
            var = f"AIRFLOW_CONN_{cid.upper()}"
            assert var in env, f"{name}: connection {cid} is not wired ({var})"
            conn = json.loads(interpolate(env[var]))
            assert conn.get("conn_type"), f"{name}: {var} has no conn_type"


def test_spec_connections_are_wired_in_the_native_stack(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    from native_stack.environment import connections
    from native_stack.settings import Settings

    env = connections(Settings(state_dir="/tmp/x", dags_folder="/tmp/d"))
    for cid in spec_connection_ids():
        assert f"AIRFLOW_CONN_{cid.upper()}" in env, f"native stack lacks connection {cid}"
    for value in env.values():
        assert json.loads(value)["conn_type"]


def test_minio_init_creates_the_buckets_the_specs_use():
    svc = stack_services()["minio-init"]
    buckets = set(env_of(svc)["ETLC_BUCKETS"].split())
    used = set()
    for spec in (ROOT / "specs").glob("*.yaml"):
        used.update(re.findall(r"s3://([a-z0-9][a-z0-9.-]+)/", spec.read_text()))
    assert BUCKETS <= buckets
    assert used <= buckets, f"buckets used by specs but not created: {used - buckets}"


def test_postgres_init_creates_the_databases():
    sql = "\n".join(p.read_text() for p in (DOCKER / "postgres" / "init").glob("*.sql"))
    for db in ("airflow", "mlflow", "warehouse"):
        assert re.search(rf"CREATE DATABASE\s+\"?{db}\"?\s*;", sql, re.IGNORECASE), db
    env = env_of(stack_services()["airflow-scheduler"])
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres:5432/airflow")
    assert "/mlflow" in env_of(stack_services()["mlflow"])["MLFLOW_BACKEND_STORE_URI"]


def test_airflow_image_is_official_airflow_3_with_etlc():
    text = (DOCKER / "airflow" / "Dockerfile").read_text()
    assert re.search(r"apache/airflow:3\.\d+", text)
    assert re.search(r"pip install .*/opt/etlc\[", text)
    services = stack_services()
    assert services["airflow-worker"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    mounts = " ".join(services["airflow-scheduler"]["volumes"])
    assert "generated_dags:/opt/airflow/dags" in mounts


def test_gpu_worker_reserves_nvidia_devices():
    svc = stack_services()["dask-cuda-worker"]
    devices = svc["deploy"]["resources"]["reservations"]["devices"]
    assert any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", []) for d in devices)
    assert "rapidsai" in (DOCKER / "dask" / "Dockerfile").read_text()
    assert svc["command"][:3] == ["dask", "cuda", "worker"]


def test_observability_wiring():
    mapping = load(DOCKER / "statsd-exporter" / "mapping.yml")
    matches = {m["match"]: m["name"] for m in mapping["mappings"]}
    for metric in ("etlc.step.rows", "etlc.step.seconds", "etlc.step.bytes"):
        assert metric in matches, metric
    dash = json.loads((DOCKER / "grafana" / "dashboards" / "etlc.json").read_text())
    exprs = json.dumps(dash)
    for name in ("etlc_step_rows_total", "etlc_step_seconds", "airflow_ti_finish_total"):
        assert name in exprs, f"dashboard does not use {name}"
    uids = {d["uid"] for d in load(DOCKER / "grafana" / "provisioning" / "datasources" /
                                   "datasources.yml")["datasources"]}
    used = set(re.findall(r'"uid": "([^"]+)"', exprs)) - {dash["uid"]}
    assert used <= uids, f"dashboard uses unknown data sources {used - uids}"
    prom = load(DOCKER / "prometheus" / "prometheus.yml")
    targets = {t for job in prom["scrape_configs"] for sc in job["static_configs"]
               for t in sc["targets"]}
    assert "statsd-exporter:9102" in targets
    env = env_of(stack_services()["airflow-worker"])
    assert env["AIRFLOW__METRICS__STATSD_HOST"] == env["ETLC_STATSD_HOST"] == "statsd-exporter"


# --------------------------------------------------------------------------- secrets


def mask(value: str) -> str:
    """Variable references become REF; a reference with a default becomes that literal default."""
    def sub(m: re.Match) -> str:
        return m["arg"] if m["op"] in (":-", "-", ":+", "+") and m["arg"] else REF
    return ESCAPED_REF.sub(REF, VAR_REF.sub(sub, value))


def _only_refs(value: str) -> bool:
    """True when the value is made of variable references only (no literal, no default)."""
    return mask(value).replace(REF, "").strip() == ""


def secret_findings(doc, where: str) -> list[str]:
    """Secret literals in a parsed compose document (or any YAML-ish structure)."""
    found: list[str] = []

    def check_string(key: str, value: str, path: str) -> None:
        secret_key = SECRET_KEY.search(key) and not NOT_SECRET_KEY.search(key)
        if secret_key and value and not _only_refs(value):
            found.append(f"{path}: {key} is a literal: {value!r}")
        masked = mask(value)
        for m in re.finditer(r"[a-z][a-z0-9+.-]*://[^:/@\s]*:([^@\s]+)@", masked):
            if m.group(1).replace(REF, ""):
                found.append(f"{path}: URL with a literal password: {value!r}")
        for m in re.finditer(r'"(password|secret|token|api_key|aws_secret_access_key)"\s*:\s*"([^"]*)"',
                             masked, re.IGNORECASE):
            if m.group(2).replace(REF, "").strip():
                found.append(f"{path}: JSON {m.group(1)} literal: {value!r}")
        for m in re.finditer(r"--(?:requirepass|password|token|secret)[= ]+(\S+)", masked):
            if m.group(1).strip("'\"").replace(REF, ""):
                found.append(f"{path}: flag with a literal secret: {m.group(0)!r}")
        if re.search(r"AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----", value):
            found.append(f"{path}: looks like a credential: {value[:40]!r}")

    def walk(node, path: str, key: str = "") -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{path}/{k}", str(k))
        elif isinstance(node, list):
            prev = ""
            for i, v in enumerate(node):
                if isinstance(v, str) and "=" in v and not v.startswith("-"):
                    k, val = v.split("=", 1)
                    check_string(k, val, f"{path}[{i}]")
                elif isinstance(v, str) and re.fullmatch(r"--?(requirepass|password|token|secret)", prev):
                    check_string(prev.lstrip("-"), v, f"{path}[{i}]")
                else:
                    walk(v, f"{path}[{i}]", key)
                prev = v if isinstance(v, str) else ""
        elif isinstance(node, str):
            check_string(key, node, path)
        elif node is not None and SECRET_KEY.search(key) and not NOT_SECRET_KEY.search(key):
            found.append(f"{path}: {key} is a literal: {node!r}")

    walk(doc, where)
    return found


def test_secret_scanner_catches_literals():
    bad = {"services": {"x": {
        "environment": {"POSTGRES_PASSWORD": "hunter2", "API_TOKEN": "${TOKEN:-abc}",
                        "DB": "postgresql://u:pw@db/x",
                        "AIRFLOW_CONN_X": '{"conn_type": "http", "password": "s3cr3t"}'},
        "command": ["redis-server", "--requirepass", "letmein"]}}}
    found = secret_findings(bad, "bad")
    assert len(found) == 5, found
    good = {"services": {"x": {
        "environment": ["POSTGRES_PASSWORD=${POSTGRES_PASSWORD:?set it}",
                        "DB=postgresql://${U}:${P}@db/x"],
        "command": ["redis-server", "--requirepass", "${REDIS_PASSWORD}"]}}}
    assert secret_findings(good, "good") == []


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=rel)
def test_no_secret_literals_in_compose_files(path):
    assert secret_findings(load(path), rel(path)) == []


def test_no_secret_literals_in_other_docker_files():
    for path in sorted(DOCKER.rglob("*")):
        if not path.is_file() or path.name in (".env.example", ".gitignore", ".env"):
            continue
        text = path.read_text(errors="replace")
        if path.suffix in (".yml", ".yaml"):
            findings = secret_findings(yaml.safe_load(text), rel(path))
        elif path.suffix == ".json":
            findings = secret_findings(json.loads(text), rel(path))
        else:
            findings = secret_findings(text.splitlines(), rel(path))
        assert findings == [], findings


def test_env_example_lists_every_variable_and_env_is_ignored():
    example = (DOCKER / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, re.MULTILINE))
    required = set()
    for path in COMPOSE_FILES:
        for m in VAR_REF.finditer(path.read_text()):
            if m["op"] in (":?", "?") or not m["op"]:
                required.add(m["name"])
    missing = required - listed
    assert not missing, f"variables used without default but not in docker/.env.example: {missing}"
    assert ".env" in (DOCKER / ".gitignore").read_text().split()
    assert not (DOCKER / ".env").exists() or ".env" in (DOCKER / ".gitignore").read_text()

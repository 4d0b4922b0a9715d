"""The secret scan's corpus: true positives must give their code where the secret starts,
false positives must give nothing.

Each case is a fragment of an operator step's `args:` (written at column 1 here, indented
into a spec by the test). A true positive names its code and a marker: the diagnostic must
sit on the first line of the fragment that holds the marker, at the marker's first character.
"""

from __future__ import annotations

import pytest
from etlc_compiler import api, loader, security

HEAD = """\
etlc: 1
pipeline: secrets_case
datasets:
  src: {format: csv, path: in/x.csv, columns: {a: {type: int}}}
steps:
  raw:
    read: src
  job:
    operator: "airflow.providers.standard.operators.bash:BashOperator"
    after: [raw]
    args:
"""
INDENT = 6

TRUE_POSITIVES = [
    # secret-named keys with literal values (E501, at the value)
    ("pgpwd_key", "env: {PGPWD: s3cret}", "E501", "s3cret"),
    ("db_pw_key", "env: {DB_PW: hunter2}", "E501", "hunter2"),
    ("mysql_pwd_key", 'env:\n  MYSQL_PWD: "pa55"', "E501", '"pa55"'),
    ("pgpassword_key", "env: {PGPASSWORD: x, HOST: db}", "E501", "x,"),
    ("camel_client_secret", "clientSecret: abc123", "E501", "abc123"),
    ("dashed_api_key", "x-api-key: abc123", "E501", "abc123"),
    ("apikey_one_word", "APIKEY: abc123", "E501", "abc123"),
    ("camel_auth_token", "authToken: t0k3n", "E501", "t0k3n"),
    ("integer_password", "password: 123456", "E501", "123456"),
    ("pass_word", "pass: hunter2", "E501", "hunter2"),
    ("passphrase", "passphrase: correct-horse", "E501", "correct-horse"),
    ("aws_secret_camel", "awsSecretAccessKey: wJalrXUtnFEMIK7MDENG", "E501", "wJalr"),
    ("authorization_key", 'headers: {Authorization: "Basic dXNlcjpwdw=="}', "E501", '"Basic'),
    ("numbered_password", "db:\n  password2: letmein", "E501", "letmein"),
    # NAME=value inside strings (E501, at NAME)
    ("pgpassword_in_command", "bash_command: \"PGPASSWORD=x psql -h db -c 'select 1'\"", "E501", "PGPASSWORD="),
    ("export_db_pw", 'bash_command: "export DB_PW=hunter2 && ./load.sh"', "E501", "DB_PW="),
    ("assignment_in_list", 'env_list: ["HOST=db", "PGPWD=s3cret"]', "E501", "PGPWD="),
    ("api_key_in_query", 'endpoint: "https://api.example.com/v1/orders?api_key=abc123&page=1"', "E501", "api_key="),
    ("quoted_assignment", "bash_command: \"TOKEN='abc 123' ./sync.sh\"", "E501", "TOKEN="),
    # options inside commands (E501, at the option)
    ("mysql_p_attached", 'bash_command: "mysql -uroot -psecret etl < load.sql"', "E501", "-psecret"),
    ("mysqldump_p_quoted", "bash_command: \"mysqldump -u etl -p'hunter2' dwh > dump.sql\"", "E501", "-p'"),
    ("mysql_p_in_arg_list", "arguments: [mysql, -uroot, -psecret, etl]", "E501", "-psecret"),
    ("sshpass_p_spaced", 'bash_command: "sshpass -p hunter2 ssh etl@host ./run.sh"', "E501", "-p hunter2"),
    ("password_equals", 'bash_command: "mysqladmin --password=hunter2 status"', "E501", "--password="),
    ("password_spaced", 'bash_command: "mongodump --password hunter2 --db x"', "E501", "--password "),
    ("api_token_option", 'bash_command: "./cli --api-token=abc123 sync"', "E501", "--api-token"),
    # credentials inside URLs (E502, at user:password)
    ("redis_password_only", 'bash_command: "redis-cli -u redis://:pw@cache:6379 ping"', "E502", ":pw@"),
    ("amqp_user_password", 'url: "amqp://etl:s3cret@mq:5672/"', "E502", "etl:s3cret"),
    ("dsn_in_command", "bash_command: \"psql postgresql://etl:pw@db/dwh -c 'select 1'\"", "E502", "etl:pw"),
    # Authorization headers and secret shapes (E503, at the header or the secret)
    ("authorization_basic_curl",
     "bash_command: \"curl -H 'Authorization: Basic dXNlcjpwdw==' https://x\"", "E503", "Authorization"),
    ("authorization_token_curl", "bash_command: 'curl -H \"Authorization: Token abc\" https://x'", "E503",
     "Authorization"),
    ("authorization_bearer_short", 'header_line: "Authorization: Bearer abc123"', "E503", "Authorization"),
    ("github_token", 'bash_command: "GH=ghp_abcdefghijklmnopqrstuvwxyz0123456789 ./x"', "E503", "ghp_"),
    ("aws_key_id", "note: uses AKIAIOSFODNN7EXAMPLE", "E503", "AKIA"),
]

FALSE_POSITIVES = [
    ("bypass", 'env: {BYPASS: "1"}'),
    ("keyboard", "env: {KEYBOARD: us}"),
    ("passenger", 'env: {PASSENGER_COUNT: "4"}'),
    ("tokenizer", "TOKENIZER: bert-base"),
    ("compass", "description: Compass heading and bypass lanes"),
    ("partition_key", "partition_key: region"),
    ("sort_and_cache_key", "sort_key: updated_at\ncache_key: orders-v2\nbucket_key: raw/x.csv"),
    ("password_file", "password_file: /run/secrets/pg"),
    ("max_tokens", "max_tokens: 1000"),
    ("secret_name", "secret_name: etl-db-credentials"),
    ("token_url", "token_url: https://auth.example.com/token"),
    ("access_key_id_template", 'AWS_ACCESS_KEY_ID: "{{ conn.aws.login }}"'),
    ("password_template", 'password: "{{ conn.pg.password }}"'),
    ("env_reference_braced", 'PGPASSWORD: "${PGPASSWORD}"'),
    ("env_reference_plain", "token: $API_TOKEN"),
    ("empty_password", 'password: ""'),
    ("placeholder_password", 'password: "<your password>"'),
    ("assignment_of_reference", 'bash_command: "PGPASSWORD=$PGPASSWORD psql -h db"'),
    ("assignment_of_command", 'bash_command: "export DB_PW=$(cat /run/secrets/db) && ./load.sh"'),
    ("assignment_of_template", "bash_command: \"TOKEN={{ var.value.api_token }} ./sync.sh\""),
    ("mkdir_p", 'bash_command: "mkdir -p /tmp/out && cp a b"'),
    ("docker_port", 'bash_command: "docker run -p8080:80 etl:latest"'),
    ("ssh_port", 'bash_command: "ssh -p2222 etl@host ./run.sh"'),
    ("gcc_pthread", 'bash_command: "gcc -pthread main.c"'),
    ("mysql_prompt", 'bash_command: "mysql -uroot -p etl < load.sql"'),
    ("psql_password_prompt", 'bash_command: "psql --password -h db dwh"'),
    ("psql_password_prompt_db", 'bash_command: "psql --password dwh"'),
    ("psql_no_password", "bash_command: \"psql --no-password -h db -c 'select 1'\""),
    ("password_file_option", 'bash_command: "./cli --password-file /run/secrets/pg"'),
    ("token_url_option", 'bash_command: "./run.sh --token-url https://auth.example.com/token"'),
    ("authorization_template",
     "bash_command: \"curl -H 'Authorization: Bearer {{ conn.api.password }}' https://x\""),
    ("authorization_env", "bash_command: 'curl -H \"Authorization: Bearer $TOKEN\" https://x'"),
    ("authorization_key_template", 'headers: {Authorization: "Bearer {{ conn.api.password }}"}'),
    ("url_with_port", 'url: "https://example.com:8443/path"'),
    ("redis_without_password", 'url: "redis://cache:6379/0"'),
    ("url_template_credentials", 'url: "postgresql://{{ conn.pg.login }}:{{ conn.pg.password }}@db/dwh"'),
    ("git_ssh", 'bash_command: "git clone git@github.com:org/repo.git"'),
    ("comparison_not_assignment", "filter_text: \"status=='ok' and token_count > 5\""),
    ("placeholder_in_command", "bash_command: \"echo 'set PASSWORD=<your-password>'\""),
    ("masked_in_command", 'bash_command: "echo PASSWORD=*** > /dev/null"'),
]


def spec_text(fragment: str) -> str:
    return HEAD + "".join(" " * INDENT + line + "\n" for line in fragment.splitlines())


def scan(fragment: str):
    loaded, diags = loader.load(spec_text(fragment), "case.yaml")
    assert loaded is not None, diags
    return sorted(security.check(loaded), key=lambda d: (d.line, d.col))


def test_corpus_is_large_enough():
    assert len(TRUE_POSITIVES) >= 25 and len(FALSE_POSITIVES) >= 25
    assert {code for *_, code, _ in TRUE_POSITIVES} == {"E501", "E502", "E503"}


@pytest.mark.parametrize("case", TRUE_POSITIVES, ids=lambda c: c[0])
def test_true_positive(case):
    _, fragment, code, marker = case
    lines = fragment.splitlines()
    number = next(i for i, line in enumerate(lines) if marker in line)
    expected = (code, HEAD.count("\n") + number + 1, INDENT + lines[number].index(marker) + 1)
    found = scan(fragment)
    assert found, f"no diagnostic; expected {expected}"
    assert (found[0].code, found[0].line, found[0].col) == expected, found[0].message


@pytest.mark.parametrize("case", FALSE_POSITIVES, ids=lambda c: c[0])
def test_false_positive(case):
    assert scan(case[1]) == []


@pytest.mark.parametrize("name", ["PGPWD", "PGPASSWORD", "MYSQL_PWD", "DB_PW", "apiKey", "APIKey", "x-api-key",
                                  "aws.secret", "clientSecret", "AUTH_TOKEN", "password2", "SECRET_KEY"])
def test_secret_names(name):
    assert security.is_secret_name(name)


@pytest.mark.parametrize("name", ["BYPASS", "KEYBOARD", "PASSENGER", "TOKENIZER", "SECRETARY", "partition_key",
                                  "password_file", "max_tokens", "AWS_ACCESS_KEY_ID", "s3_key", "no-password",
                                  "auth_type", "monkey"])
def test_not_secret_names(name):
    assert not security.is_secret_name(name)


def test_validate_reports_secret_in_command(tmp_path):
    spec = tmp_path / "case.yaml"
    spec.write_text(spec_text('bash_command: "PGPASSWORD=x psql -h db"'))
    codes = [(d.code, d.line, d.col) for d in api.validate_paths([spec])]
    assert ("E501", HEAD.count("\n") + 1, INDENT + len('bash_command: "') + 1) in codes

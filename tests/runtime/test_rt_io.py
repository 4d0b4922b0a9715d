"""Reading every format and writing every mode, on real files, checked against DuckDB."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from etlc_runtime.errors import DataError, NotAvailable, StepError
from etlc_runtime.io_read import read_dataset
from etlc_runtime.io_write import write_dataset
from etlc_runtime.templating import macros
from exact_rows import assert_same

M = macros("manual__2025-01-02", dt.date(2025, 1, 2), {"region": "north"})

SALES_COLUMNS = {
    "order_id": {"type": "int", "nullable": False},
    "order_date": {"type": "date", "format": "%Y-%m-%d"},
    "region": {"type": "string"},
    "quantity": {"type": "int"},
    "unit_price": {"type": "decimal", "scale": 2},
    "discount": {"type": "float"},
    "paid": {"type": "bool"},
    "customer": {"type": "string"},
}
SALES_CSV = """order_id,order_date,region,quantity,unit_price,discount,paid,customer
1,2025-01-02,north,3,9.90,0.1,true,c1
2,2025-01-03,south,1,4.75,0,false,
3,2025-01-03,north,,12.00,0.25,true,c3
4,2025-02-10,"east, far",2,1.05,0.5,,c4
"""


def write_sales(project):
    path = project / "data" / "sales.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SALES_CSV)
    return path


def test_read_csv_typed(project, duck):
    path = write_sales(project)
    df = read_dataset({"format": "csv", "path": "data/sales.csv", "columns": SALES_COLUMNS},
                      M, project)
    assert list(df.columns) == list(SALES_COLUMNS)
    assert str(df["order_id"].dtype) == "Int64"
    assert str(df["order_date"].dtype).startswith("date32")
    assert str(df["unit_price"].dtype) == "decimal128(38, 2)[pyarrow]"  # exact (issue 10)
    assert str(df["paid"].dtype) == "boolean"
    ref = duck.sql(f"""select order_id::bigint order_id, order_date::date order_date, region,
        quantity::bigint quantity, unit_price::decimal(18,2) unit_price, discount::double discount,
        paid::boolean paid, customer from read_csv('{path}', all_varchar=true)""").to_arrow_table()
    assert_same(df, ref)


def test_read_csv_options_and_glob(project, duck):
    folder = project / "in"
    folder.mkdir()
    for i in range(3):
        (folder / f"part_{i}.csv").write_text(
            f"# comment\nid;name\n{i};n{i}\n{i + 10};NULL\n")
    (folder / "ignore.txt").write_text("x")
    ds = {"format": "csv", "path": "in/part_*.csv",
          "options": {"delimiter": ";", "skip_rows": 1, "null_value": "NULL"},
          "columns": {"id": {"type": "int"}, "name": {"type": "string"}}}
    df = read_dataset(ds, M, project)
    ref = duck.sql(f"""select id::bigint id, nullif(name, 'NULL') as name from read_csv(
        '{folder}/part_*.csv', delim=';', skip=1, header=true, all_varchar=true)""").to_arrow_table()
    assert_same(df, ref)
    assert len(df) == 6


def test_read_csv_bad_value_names_the_column(project):
    (project / "bad.csv").write_text("id\n1\nx\n")
    with pytest.raises(ValueError, match="column 'id'.*'x'"):
        read_dataset({"format": "csv", "path": "bad.csv", "columns": {"id": {"type": "int"}}},
                     M, project)


def test_read_csv_nullable_false(project):
    (project / "n.csv").write_text("id\n1\n\n2\n")
    (project / "n.csv").write_text("id,v\n1,a\n,b\n")
    with pytest.raises(ValueError, match="nullable: false"):
        read_dataset({"format": "csv", "path": "n.csv",
                      "columns": {"id": {"type": "int", "nullable": False}}}, M, project)


def test_read_untyped_csv_infers(project):
    (project / "u.csv").write_text("a,b\n1,x\n2,y\n")
    df = read_dataset({"format": "csv", "path": "u.csv"}, M, project)
    assert df["a"].tolist() == [1, 2] and df["b"].tolist() == ["x", "y"]


def test_read_templated_path(project):
    d = project / "raw" / "20250102"
    d.mkdir(parents=True)
    (d / "north.csv").write_text("v\n1\n2\n")
    df = read_dataset({"format": "csv", "path": "raw/{{ ds_nodash }}/{{ params.region }}.csv",
                       "columns": {"v": {"type": "int"}}}, M, project)
    assert df["v"].tolist() == [1, 2]
    with pytest.raises(FileNotFoundError, match="raw/20250102/south.csv"):
        read_dataset({"format": "csv", "path": "raw/{{ ds_nodash }}/south.csv"}, M, project)


def test_read_json_lines(project, duck):
    path = project / "docs.jsonl"
    path.write_text('{"id": 1, "title": "a", "score": 1.5, "ok": true, "day": "2025-01-02"}\n'
                    '\n{"id": 2, "title": null, "score": 2, "ok": false}\n'
                    '{"id": 3, "title": "c\\u00e9", "score": null, "ok": null, "day": "2025-03-01",'
                    ' "extra": 1}\n')
    cols = {"id": {"type": "int"}, "title": {"type": "string"}, "score": {"type": "float"},
            "ok": {"type": "bool"}, "day": {"type": "date"}}
    df = read_dataset({"format": "json", "path": "docs.jsonl", "columns": cols}, M, project)
    assert list(df.columns) == list(cols)
    ref = duck.sql(f"""select id::bigint id, title, score::double score, ok::boolean ok,
        day::date "day" from read_json('{path}', format='newline_delimited',
        columns={{id: 'BIGINT', title: 'VARCHAR', score: 'DOUBLE', ok: 'BOOLEAN', day: 'DATE'}})
        """).to_arrow_table()
    assert_same(df, ref)


def test_read_parquet_file_folder_and_hive(project, duck):
    folder = project / "lake"
    for region, rows in {"north": [1, 2], "south": [3]}.items():
        sub = folder / f"region={region}"
        sub.mkdir(parents=True)
        pq.write_table(pa.table({"id": rows, "amount": [r * 1.5 for r in rows]}),
                       sub / "part-0.parquet")
    (folder / "_SUCCESS").write_text("")
    (folder / ".tmp").mkdir()
    pq.write_table(pa.table({"id": [99], "amount": [0.0]}), folder / ".tmp" / "junk.parquet")
    cols = {"id": {"type": "int"}, "amount": {"type": "float"}, "region": {"type": "string"}}
    df = read_dataset({"format": "parquet", "path": "lake/", "columns": cols}, M, project)
    ref = duck.sql(f"""select id::bigint id, amount, region from read_parquet(
        '{folder}/region=*/*.parquet', hive_partitioning=true)""").to_arrow_table()
    assert_same(df, ref)
    one = read_dataset({"format": "parquet", "path": "lake/region=north/part-0.parquet"}, M,
                       project, select=["amount"])
    assert list(one.columns) == ["amount"] and len(one) == 2


COTAHIST = [
    "00COTAHIST.2025BOVESPA 20250102" + " " * 214,
    "012025010202PETR4       010PETROBRAS   PN      N2   R$  000000000383000000000039000000000037900000000003850",
    "012025010296VALE3F      020VALE        ON      NM   R$  000000000600000000000061000000000059500000000006010",
    "012025010302ITUB4       010ITAU        PN           R$                                                    ",
    "99COTAHIST.2025BOVESPA 2025010200000000004",
]


def test_read_fixed_width(project, duck):
    path = project / "cota.txt"
    path.write_bytes("\n".join(COTAHIST).encode("latin-1") + b"\n")
    cols = {"tipreg": {"type": "int", "span": [1, 2]},
            "trade_date": {"type": "date", "span": [3, 10], "format": "%Y%m%d"},
            "codbdi": {"type": "string", "span": [11, 12]},
            "ticker": {"type": "string", "span": [13, 24]},
            "tpmerc": {"type": "int", "span": [25, 27]},
            "open": {"type": "decimal", "span": [57, 69], "scale": 2},
            "high": {"type": "decimal", "span": [70, 82], "scale": 2}}
    ds = {"format": "fixed_width", "path": "cota.txt", "columns": cols,
          "options": {"encoding": "latin-1", "record_types": ["01"]}}
    df = read_dataset(ds, M, project)
    ref = duck.sql(f"""select substr(l, 1, 2)::bigint tipreg,
        strptime(substr(l, 3, 8), '%Y%m%d')::date trade_date, substr(l, 11, 2) codbdi,
        substr(l, 13, 12) ticker, substr(l, 25, 3)::bigint tpmerc,
        (nullif(trim(substr(l, 57, 13)), '')::decimal(18,0) / 100)::decimal(18,2) open,
        (nullif(trim(substr(l, 70, 13)), '')::decimal(18,0) / 100)::decimal(18,2) high
        from read_csv('{path}', columns={{l: 'VARCHAR'}}, header=false, delim=chr(1),
        quote='', encoding='latin-1') where substr(l, 1, 2) = '01'""").to_arrow_table()
    assert_same(df, ref)
    assert df["ticker"].tolist()[0] == "PETR4       "  # raw text; trim() in a derive
    assert [str(v) for v in df["open"].tolist()[:2]] == ["38.30", "60.00"]  # exact decimals
    # without record_types, the header's date does not parse: R040 at its line, never a null
    ds["options"] = {"encoding": "latin-1"}
    with pytest.raises(DataError) as info:
        read_dataset(ds, M, project)
    assert (info.value.column, info.value.line, info.value.value) == ("trade_date", 1,
                                                                      "COTAHIST")
    # unless on_error says so, and then it is counted
    ds["options"] = {"encoding": "latin-1", "on_error": "null"}
    df = read_dataset(ds, M, project)
    assert len(df) == 5 and df["trade_date"].isna().sum() == 2
    assert df.attrs["etlc_read_errors"]["trade_date"] == {"nulled": 2}


# -- writes -------------------------------------------------------------------------

def frame(ids, region="north"):
    return pd.DataFrame({"id": pd.array(ids, dtype="Int64"),
                         "region": pd.array([region] * len(ids), dtype="string"),
                         "day": pd.Series([dt.date(2025, 1, 2)] * len(ids),
                                          dtype=pd.ArrowDtype(pa.date32())),
                         "amount": pd.array([i * 1.25 for i in ids], dtype="Float64")})


def duck_ids(duck, pattern, hive=False):
    return sorted(r[0] for r in duck.sql(
        f"select id from read_parquet('{pattern}', hive_partitioning={str(hive).lower()})"
    ).fetchall())


def test_parquet_overwrite(project, duck):
    ds = {"format": "parquet", "path": "out/t/"}
    write_dataset(frame([1, 2]), ds, "overwrite", M, project, "r1")
    write_dataset(frame([3]), ds, "overwrite", M, project, "r2")
    assert duck_ids(duck, f"{project}/out/t/*.parquet") == [3]
    assert not [p for p in (project / "out").iterdir() if p.name.startswith(".")]


def test_parquet_single_file_overwrite_and_decimal_columns(project, duck):
    ds = {"format": "parquet", "path": "out/t.parquet",
          "columns": {"amount": {"type": "decimal", "scale": 2}}}
    write_dataset(frame([1, 2]), ds, "overwrite", M, project, "r1")
    write_dataset(frame([1, 2, 3]), ds, "overwrite", M, project, "r1")
    types = dict(duck.sql(f"describe select * from '{project}/out/t.parquet'").fetchall()
                 and [(r[0], r[1]) for r in duck.sql(
                     f"describe select * from '{project}/out/t.parquet'").fetchall()])
    assert types["amount"] == "DECIMAL(38,2)" and types["day"] == "DATE"
    assert duck_ids(duck, f"{project}/out/t.parquet") == [1, 2, 3]


def test_parquet_append_is_keyed_by_run_id(project, duck):
    ds = {"format": "parquet", "path": "out/a/"}
    write_dataset(frame([1, 2]), ds, "append", M, project, "scheduled__2025-01-01T00:00:00+00:00")
    write_dataset(frame([3]), ds, "append", M, project, "scheduled__2025-01-02T00:00:00+00:00")
    # the second run is retried: it replaces its own part file, it does not add one
    write_dataset(frame([3]), ds, "append", M, project, "scheduled__2025-01-02T00:00:00+00:00")
    assert duck_ids(duck, f"{project}/out/a/*.parquet") == [1, 2, 3]
    assert len(list((project / "out/a").glob("*.parquet"))) == 2


def test_parquet_append_partitioned_retry(project, duck):
    ds = {"format": "parquet", "path": "out/ap/", "partition_by": ["region"]}
    both = pd.concat([frame([1, 2], "north"), frame([3], "south")], ignore_index=True)
    write_dataset(both, ds, "append", M, project, "r1")
    write_dataset(frame([4], "north"), ds, "append", M, project, "r2")
    write_dataset(frame([4], "north"), ds, "append", M, project, "r2")   # retry
    assert duck_ids(duck, f"{project}/out/ap/*/*.parquet", hive=True) == [1, 2, 3, 4]


def test_parquet_overwrite_partitions(project, duck):
    ds = {"format": "parquet", "path": "out/p/", "partition_by": ["region", "day"]}
    first = pd.concat([frame([1, 2], "north"), frame([3], "south"), frame([5], "a/b c%")],
                      ignore_index=True)
    write_dataset(first, ds, "overwrite_partitions", M, project, "r1")
    assert (project / "out/p/region=north/day=2025-01-02").is_dir()
    # the next run replaces north only; south stays; a retry changes nothing
    for _ in range(2):
        info = write_dataset(frame([10, 11], "north"), ds, "overwrite_partitions", M, project,
                             "r2")
        assert info["partitions"] == 1 and info["rows"] == 2
        assert duck_ids(duck, f"{project}/out/p/*/*/*.parquet", hive=True) == [3, 5, 10, 11]
    got = duck.sql(f"""select region, day, count(*) from read_parquet(
        '{project}/out/p/*/*/*.parquet', hive_partitioning=true) group by all order by 1"""
                   ).fetchall()
    assert [g[0] for g in got] == ["a/b c%", "north", "south"]
    back = read_dataset({**ds, "columns": {"id": {"type": "int"}, "region": {"type": "string"},
                                           "day": {"type": "date"}}}, M, project)
    assert sorted(back["region"].tolist()) == ["a/b c%", "north", "north", "south"]
    assert set(back["day"].tolist()) == {dt.date(2025, 1, 2)}


def test_overwrite_partitions_needs_partition_by(project):
    with pytest.raises(StepError, match="partition_by"):
        write_dataset(frame([1]), {"format": "parquet", "path": "o/"}, "overwrite_partitions",
                      M, project, "r")


KILLED_WRITE = """
import sys, pandas as pd
from etlc_runtime.io_write import write_dataset
from etlc_runtime.templating import macros
df = pd.DataFrame({"id": pd.array([7, 8, 9], dtype="Int64")})
write_dataset(df, {"format": "parquet", "path": "out/k/"}, "overwrite",
              macros("r2", "2025-01-02", {}), sys.argv[1], "r2")
"""


@pytest.mark.parametrize("point,ids", [("journal_committed", [1, 2]), ("exchanged", [7, 8, 9])])
def test_killed_overwrite_leaves_old_or_new_data(project, duck, point, ids):
    """The real protocol, killed with SIGKILL just before and just after its swap."""
    ds = {"format": "parquet", "path": "out/k/"}
    write_dataset(frame([1, 2]), ds, "overwrite", M, project, "r1")
    env = {**os.environ, "ETLC_FAULT_AT": point}
    done = subprocess.run([sys.executable, "-c", KILLED_WRITE, str(project)], env=env,
                          check=False)
    assert done.returncode == -signal.SIGKILL
    assert duck_ids(duck, f"{project}/out/k/*.parquet") == ids
    assert [p for p in (project / "out").iterdir() if p.name.startswith(".")]  # leftovers
    write_dataset(frame([3]), ds, "overwrite", M, project, "r3")  # the next write cleans up
    assert duck_ids(duck, f"{project}/out/k/*.parquet") == [3]
    assert not [p for p in (project / "out").iterdir() if p.name.startswith(".")]


def test_csv_overwrite_and_append(project, duck):
    ds = {"format": "csv", "path": "out/x.csv", "options": {"delimiter": ";"}}
    write_dataset(frame([1, 2]), ds, "overwrite", M, project, "r1")
    write_dataset(frame([1, 2, 3]), ds, "overwrite", M, project, "r1")
    # DuckDB's sniffer reads the text back as the frame's types: BIGINT, VARCHAR, DATE, DOUBLE
    ref = duck.sql(f"select * from read_csv('{project}/out/x.csv', delim=';')")
    assert_same(ref.to_arrow_table(), frame([1, 2, 3]), ordered=True)
    folder = {"format": "csv", "path": "out/c/"}
    write_dataset(frame([1]), folder, "append", M, project, "r1")
    write_dataset(frame([2]), folder, "append", M, project, "r2")
    write_dataset(frame([2]), folder, "append", M, project, "r2")
    ids = sorted(r[0] for r in duck.sql(f"select id from read_csv('{project}/out/c/*.csv')"
                                        ).fetchall())
    assert ids == [1, 2]
    with pytest.raises(StepError, match="folder path"):
        write_dataset(frame([1]), ds, "append", M, project, "r1")


def test_csv_round_trip_nulls_and_bools(project):
    df = pd.DataFrame({"a": pd.array([1, None], dtype="Int64"),
                       "b": pd.array([True, None], dtype="boolean"),
                       "s": pd.array(["x,y", None], dtype="string")})
    ds = {"format": "csv", "path": "out/r.csv",
          "columns": {"a": {"type": "int"}, "b": {"type": "bool"}, "s": {"type": "string"}}}
    write_dataset(df, ds, "overwrite", M, project, "r")
    back = read_dataset(ds, M, project)
    assert back["a"].tolist()[0] == 1 and pd.isna(back["a"].tolist()[1])
    assert back["b"].tolist()[0] is True and pd.isna(back["b"].tolist()[1])
    assert back["s"].tolist()[0] == "x,y" and pd.isna(back["s"].tolist()[1])


def test_services_not_available_yet(project):
    with pytest.raises(NotAvailable, match="services issue"):
        write_dataset(frame([1]), {"format": "qdrant", "collection": "c", "key": ["id"]},
                      "upsert", M, project, "r")
    with pytest.raises(NotAvailable, match="services issue"):
        write_dataset(frame([1]), {"format": "parquet", "path": "o/"}, "upsert", M, project,
                      "r")
    with pytest.raises(NotAvailable, match="services issue"):
        read_dataset({"format": "parquet", "path": "s3://b/k/"}, M, project)
    with pytest.raises(NotAvailable):
        read_dataset({"format": "qdrant", "collection": "c"}, M, project)

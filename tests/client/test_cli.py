"""The `datainfra` command through click's runner against the API on the real stores: what a shell
user types, what is printed, and the exit codes and stderr lines a script relies on."""

from __future__ import annotations

import json
import uuid
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from datainfra_client.cli.main import cli

from tests.fuzz.api_process import RunningApi

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]


def run(env: dict[str, str], *args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == code, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def test_register_saves_the_key_and_later_commands_read_it(api: RunningApi, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    env = {"DATAINFRA_URL": api.base_url, "DATAINFRA_CONFIG": str(config), "DATAINFRA_API_KEY": ""}
    key = run(env, "register", "--save").stdout.strip()
    assert key in config.read_text() and oct(config.stat().st_mode & 0o777) == "0o600"
    only_config = {"DATAINFRA_CONFIG": str(config), "DATAINFRA_API_KEY": "", "DATAINFRA_URL": ""}
    made = run(only_config, "sessions", "create", "from-config").stdout.strip()
    listed = json.loads(run(only_config, "sessions", "ls", "--format", "json").stdout)
    assert [s["id"] for s in listed] == [made]


def test_a_tabular_walk_through_import_records_query_export_and_clean_up(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    session = f"cli-{uuid.uuid4().hex[:6]}"
    session_id = run(cli_env, "sessions", "create", session, "-d", "from the CLI").stdout.strip()
    run(
        cli_env,
        "datasets",
        "create",
        "people",
        "-s",
        session,
        "-c",
        "id:integer!",
        "-c",
        "name:text",
        "-c",
        "age:integer",
        "-k",
        "id",
    )
    schema = json.loads(run(cli_env, "datasets", "schema", "people", "-s", session).stdout)
    assert [c["name"] for c in schema["columns"]] == ["id", "name", "age"]

    source = tmp_path / "people.csv"
    source.write_text("id,name,age\n1,Ada,36\n2,Linus,28\n3,Grace,45\n")
    imported = run(cli_env, "import", str(source), "--session", session, "--dataset", "people")
    assert "3 inserted" in imported.stdout
    assert "datainfra: import people.csv: done:" in imported.stderr and "\x1b[" not in imported.stderr

    found = run(
        cli_env, "records", "-s", session, "-d", "people", "-w", "age=gte:30", "--sort", "age:desc", "-f", "csv"
    )
    assert found.stdout.splitlines() == ["id,name,age", "3,Grace,45", "1,Ada,36"]
    limited = run(cli_env, "records", "-s", session, "-d", "people", "-n", "2", "-f", "ndjson")
    assert [json.loads(line)["id"] for line in limited.stdout.splitlines()] == [1, 2]
    table = run(cli_env, "records", "-s", session, "-d", "people", "-w", "name=Ada")
    assert "Ada" in table.stdout and "Linus" not in table.stdout

    answer = run(
        cli_env,
        "query",
        "-s",
        session,
        "--sql",
        "SELECT name FROM people WHERE age < $1 ORDER BY name",
        "-p",
        "40",
        "-f",
        "json",
    )
    assert json.loads(answer.stdout) == [{"name": "Ada"}, {"name": "Linus"}]

    out = tmp_path / "old.ndjson"
    run(cli_env, "export", "-s", session, "-d", "people", "-o", str(out), "-w", "age=gt:30")
    assert sorted(json.loads(line)["name"] for line in out.read_text().splitlines()) == ["Ada", "Grace"]
    archive = tmp_path / "session.zip"
    run(cli_env, "export", "-s", session_id, "-o", str(archive))
    assert {"manifest.json", "people.csv"} <= set(zipfile.ZipFile(archive).namelist())

    copy = run(cli_env, "sessions", "create", f"{session}-copy").stdout.strip()
    assert (
        "imported people2 (tabular)"
        in run(cli_env, "import", str(archive), "-s", copy, "--rename", "people:people2").stdout
    )
    assert "people2" in run(cli_env, "datasets", "ls", "-s", copy).stdout

    run(cli_env, "datasets", "rm", "people", "-s", session)
    assert json.loads(run(cli_env, "datasets", "ls", "-s", session, "-f", "json").stdout) == []
    run(cli_env, "sessions", "rm", session_id)
    run(cli_env, "sessions", "rm", copy)


def test_import_create_makes_datasets_from_csv_parquet_and_node_link_files(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    session = run(cli_env, "sessions", "create", "create-from-files").stdout.strip()
    measures = tmp_path / "measures.csv"
    measures.write_text("id,when,value,ok,note\n1,2024-01-02,1.5,true,\n2,2024-01-03T04:05:06Z,2,false,x\n")
    run(cli_env, "import", str(measures), "-s", session, "-d", "measures", "--create")
    columns = json.loads(run(cli_env, "datasets", "schema", "measures", "-s", session).stdout)["columns"]
    assert {c["name"]: c["type"] for c in columns} == {
        "id": "integer",
        "when": "timestamp",
        "value": "float",
        "ok": "boolean",
        "note": "text",
    }

    table = tmp_path / "cities.parquet"
    pq.write_table(pa.table({"name": ["Paris", "Oslo"], "population": [2_100_000, 700_000]}), table)
    assert "2 inserted" in run(cli_env, "import", str(table), "-s", session, "-d", "cities", "--create").stdout

    graph = tmp_path / "friends.json"
    graph.write_text(
        json.dumps(
            {
                "directed": True,
                "multigraph": True,
                "graph": {},
                "nodes": [{"id": "a", "labels": ["P"], "properties": {"name": "Ada"}}, {"id": "b", "labels": ["P"]}],
                "edges": [{"source": "a", "target": "b", "type": "KNOWS", "properties": {}}],
            }
        )
    )
    run(cli_env, "import", str(graph), "-s", session, "-d", "friends", "--create")
    answer = run(
        cli_env,
        "query",
        "-s",
        session,
        "-d",
        "friends",
        "--cypher",
        "MATCH (a {name: $n})-[:KNOWS]->(b) RETURN datainfra.key(b) AS k",
        "-p",
        "n=Ada",
        "-f",
        "csv",
    )
    assert answer.stdout.splitlines() == ["k", "b"]


def test_exit_codes_and_error_lines_a_script_can_rely_on(cli_env: dict[str, str], tmp_path: Path) -> None:
    session = run(cli_env, "sessions", "create", "errors").stdout.strip()
    missing = run(cli_env, "records", "-s", session, "-d", "nope", code=4)
    assert missing.stderr.startswith("datainfra: error: 404 ") and "nope" in missing.stderr
    run(cli_env, "datasets", "create", "t", "-s", session, "-c", "n:integer")
    refused = run(cli_env, "records", "-s", session, "-d", "t", "-w", "n=between:1", code=1)
    assert refused.stderr.startswith("datainfra: error: 400 ") and "parameter=n" in refused.stderr
    bad_rows = tmp_path / "bad.csv"
    bad_rows.write_text("n\n1\nlots\n")
    invalid = run(cli_env, "import", str(bad_rows), "-s", session, "-d", "t", code=1)
    last = invalid.stderr.splitlines()[-1]  # after the progress log line
    assert last.startswith("datainfra: error: 422 ") and "field=n" in last and "index=1" in last
    assert "Usage:" in run(cli_env, "query", "-s", session, code=2).stderr  # neither --sql nor --cypher
    assert run(cli_env, "import", str(tmp_path / "absent.csv"), "-s", session, "-d", "t", code=2).stderr
    unknown = run({**cli_env, "DATAINFRA_API_KEY": ""}, "sessions", "ls", code=2)
    assert unknown.stderr.startswith("datainfra: error: no API key")

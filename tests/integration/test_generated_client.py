"""Issue 13: a client generated from the OpenAPI document by a standard generator (openapi-python-client,
pinned in pyproject's dev extras) works against the API on the real stores.

The client is generated at test time from the document the running API serves (nothing generated is
checked in; the generator needs no network), imported, and used as a new user would: register, make
a session and a tabular dataset, write records, page with a filter and a sort, export CSV, run SQL.
Only the generated functions and models are used, so a document that lies (a missing parameter, a
wrong body or answer schema) breaks this test."""

from __future__ import annotations

import csv
import importlib
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests

from tests.fuzz.api_process import RunningApi, fresh_database, running_api

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]

PACKAGE = "generated_datainfra_client"  # not datainfra_client: that is clients/python, installed beside
GENERATOR_CONFIG = """\
post_hooks: []
content_type_overrides:
  application/zip: application/octet-stream
"""
PEOPLE = [
    {"id": 1, "name": "Ada", "age": 36},
    {"id": 2, "name": "Alan", "age": 41},
    {"id": 3, "name": "Grace", "age": 29},
    {"id": 4, "name": "Edsger", "age": 72},
]


@pytest.fixture(scope="module")
def api(postgres_runtime: Any, neo4j_runtime: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApi]:
    workdir = tmp_path_factory.mktemp("client-api")
    with (
        fresh_database(postgres_runtime.url()) as database_url,
        running_api(database_url, neo4j_runtime.endpoint(), workdir) as running,
    ):
        yield running


@pytest.fixture(scope="module")
def client_package(api: RunningApi, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated package, imported (and forgotten afterwards)."""
    where = tmp_path_factory.mktemp("generated")
    document = where / "openapi.json"
    document.write_bytes(requests.get(f"{api.base_url}/schema/openapi.json", timeout=30).content)
    config = where / "config.yaml"
    config.write_text(GENERATOR_CONFIG)
    generator = Path(sys.executable).parent / "openapi-python-client"
    command = [str(generator), "generate", "--path", str(document), "--output-path", str(where / PACKAGE)]
    done = subprocess.run(
        [*command, "--config", str(config), "--meta", "none"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(where))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(where))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_the_generator_makes_every_operation_the_walkthrough_needs(client_package: ModuleType) -> None:
    for name in [
        "api.users.users_register",
        "api.sessions.session_create",
        "api.datasets.dataset_create",
        "api.records.record_write",
        "api.records.record_query",
        "api.export.export_export_dataset",
        "api.query.query_run",
    ]:
        assert hasattr(_module(name), "sync_detailed"), name


def test_a_generated_client_walks_the_readme(api: RunningApi, client_package: ModuleType) -> None:
    models = _module("models")
    anonymous = client_package.Client(base_url=api.base_url, raise_on_unexpected_status=True)
    issued = _module("api.users.users_register").sync(client=anonymous)
    assert isinstance(issued, models.IssuedKeyOut), issued
    client = client_package.AuthenticatedClient(
        base_url=api.base_url, token=issued.api_key, raise_on_unexpected_status=True
    )

    session = _module("api.sessions.session_create").sync(
        client=client, body=models.SessionCreate(name="generated", description="made by a generated client")
    )
    assert isinstance(session, models.SessionOut), session

    schema = {
        "columns": [
            {"name": "id", "type": "integer", "nullable": False},
            {"name": "name", "type": "text"},
            {"name": "age", "type": "integer"},
        ],
        "primary_key": ["id"],
    }
    dataset = _module("api.datasets.dataset_create").sync(
        session.id,
        client=client,
        body=models.DatasetCreate(
            name="people", kind=models.DatasetCreateKind.TABULAR, schema=models.DatasetCreateSchema.from_dict(schema)
        ),
    )
    assert isinstance(dataset, models.DatasetOut), dataset
    assert dataset.kind == "tabular"

    written = _module("api.records.record_write").sync(
        session.id,
        dataset.id,
        client=client,
        body=models.RecordsWrite(records=[models.RecordsWriteRecordsItem.from_dict(p) for p in PEOPLE]),
    )
    assert isinstance(written, models.WriteResultOut), written
    assert (written.inserted, written.updated, written.ignored) == (4, 0, 0)

    page = _module("api.records.record_query").sync(
        session.id,
        dataset.id,
        client=client,
        filters=models.RecordQueryFilters.from_dict({"age": "gte:30"}),
        sort="age:desc",
        limit=2,
        count=models.RecordQueryCount.EXACT,
    )
    assert isinstance(page, models.RecordPageOut), page
    assert [item.to_dict()["name"] for item in page.items] == ["Edsger", "Alan"]
    assert page.total == 3 and isinstance(page.next_, str)

    exported = _module("api.export.export_export_dataset").sync_detailed(session.id, dataset.id, client=client)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert [(row["id"], row["name"], row["age"]) for row in rows] == [
        (str(p["id"]), p["name"], str(p["age"])) for p in PEOPLE
    ]

    result = _module("api.query.query_run").sync(
        session.id,
        client=client,
        body=models.SqlQueryIn(
            language=models.SqlQueryInLanguage.SQL,
            query="SELECT name, age FROM people WHERE age < $1 ORDER BY age",
            parameters=[40],
        ),
    )
    assert isinstance(result, models.QueryResultOut), result
    assert [column.name for column in result.columns] == ["name", "age"]
    assert result.rows == [["Grace", 29], ["Ada", 36]]
    assert result.row_count == 2 and result.truncated is False


def test_a_generated_client_reads_a_problem_document(api: RunningApi, client_package: ModuleType) -> None:
    models = _module("models")
    client = client_package.AuthenticatedClient(base_url=api.base_url, token="short")  # not a key's shape
    answer = _module("api.sessions.session_list_sessions").sync_detailed(client=client)
    assert answer.status_code == 401
    assert isinstance(answer.parsed, models.ProblemOut), answer.parsed
    assert answer.parsed.status == 401 and answer.parsed.title


def test_the_query_endpoints_prefilled_example_is_accepted(api: RunningApi) -> None:
    """The one example tests/unit/http/test_openapi_document.py cannot send: SQL needs PostgreSQL."""
    document = requests.get(f"{api.base_url}/schema/openapi.json", timeout=30).json()
    media = document["paths"]["/sessions/{session_id}/query"]["post"]["requestBody"]["content"]["application/json"]
    examples = [example["value"] for example in media["examples"].values()]
    key = requests.post(f"{api.base_url}/users", timeout=30).json()["api_key"]
    headers = {"X-API-Key": key}
    session = requests.post(f"{api.base_url}/sessions", json={"name": "examples"}, headers=headers, timeout=30).json()
    assert examples
    for example in examples:
        answer = requests.post(
            f"{api.base_url}/sessions/{session['id']}/query", json=example, headers=headers, timeout=30
        )
        assert answer.status_code == 200, (example, answer.text)
        assert answer.json()["rows"] == [[42]]

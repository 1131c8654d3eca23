"""Issue 13: the OpenAPI document is the contract. Errors are problem documents of one schema,
public routes need no key, the key is a security scheme (not a nullable header), query parameters
come from typed Structs, and every example a docs UI pre-fills is a body the API accepts."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import msgspec
import pytest
from litestar.testing import TestClient
from msgspec import Meta

from datainfra.adapters.http.openapi.components import Components
from datainfra.adapters.http.openapi.parameters import query_parameters

PUBLIC = {"GET /health", "GET /ready", "GET /metrics", "POST /users"}
PROBLEM = "application/problem+json"
DS = "/sessions/{session_id}/datasets/{dataset_id}"
HTTP_METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    answer: dict[str, Any] = client.get("/schema/openapi.json").json()
    return answer


def _operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def test_public_routes_need_no_key_and_every_other_takes_the_key_or_a_bearer_token(document: dict[str, Any]) -> None:
    for label, operation in _operations(document).items():
        expected = [] if label in PUBLIC else [{"ApiKey": []}, {"Bearer": []}]
        assert operation["security"] == expected, label
    schemes = document["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {**schemes["ApiKey"], "type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["Bearer"]["scheme"] == "bearer"


def test_no_operation_declares_the_key_as_a_header_parameter_or_any_header_as_nullable(
    document: dict[str, Any],
) -> None:
    for label, operation in _operations(document).items():
        for parameter in operation.get("parameters", []):
            assert parameter["name"].lower() not in ("x-api-key", "authorization"), label
            assert "null" not in msgspec.json.encode(parameter["schema"]).decode(), (label, parameter)


def test_every_error_is_a_problem_document_and_litestars_own_shape_is_gone(document: dict[str, Any]) -> None:
    problem = document["components"]["schemas"]["ProblemOut"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert {"field", "parameter", "index", "key"} <= set(problem["properties"])
    for label, operation in _operations(document).items():
        for status, answer in operation["responses"].items():
            if int(status) >= 400 and label != "GET /ready":
                assert answer["content"] == {PROBLEM: {"schema": {"$ref": "#/components/schemas/ProblemOut"}}}, (
                    label,
                    status,
                )
    assert "status_code" not in msgspec.json.encode(document).decode()


@pytest.mark.parametrize(
    ("label", "statuses"),
    [
        ("GET /sessions", {400, 401, 403, 503, 504}),
        ("POST /users", {403, 503, 504}),
        (f"GET {DS}/records", {400, 401, 403, 404, 503, 504}),
        (f"POST {DS}/records", {400, 401, 403, 404, 409, 413, 415, 422, 503, 504}),
        (f"PUT {DS}", {400, 401, 403, 404, 409, 412, 413, 422, 503, 504}),
        ("POST /sessions/{session_id}/query", {400, 401, 403, 404, 409, 413, 422, 429, 503, 504}),
    ],
)
def test_each_operation_lists_the_error_statuses_it_can_answer(
    document: dict[str, Any], label: str, statuses: set[int]
) -> None:
    answers = _operations(document)[label]["responses"]
    assert {int(s) for s in answers if int(s) >= 400} == statuses


def test_exports_and_the_query_result_are_documented_in_their_media_types(document: dict[str, Any]) -> None:
    operations = _operations(document)
    exported = operations[f"GET {DS}/export"]["responses"]["200"]["content"]
    assert set(exported) == {
        "text/csv",
        "application/json",
        "application/x-ndjson",
        "application/graphml+xml",
        "application/vnd.apache.parquet",
        "application/vnd.apache.arrow.stream",
    }
    binary = {"schema": {"type": "string", "format": "binary"}}
    assert exported["application/vnd.apache.parquet"] == exported["application/vnd.apache.arrow.stream"] == binary
    archive = operations["GET /sessions/{session_id}/export"]["responses"]["200"]["content"]
    assert archive == {"application/zip": {"schema": {"type": "string", "format": "binary"}}}
    imported = operations["POST /sessions/{session_id}/import"]["requestBody"]["content"]
    assert imported == {"application/zip": {"schema": {"type": "string", "format": "binary"}}}
    result = operations["POST /sessions/{session_id}/query"]["responses"]["200"]["content"]["application/json"]
    assert result["schema"] == {"$ref": "#/components/schemas/QueryResultOut"}
    assert {"columns", "rows", "row_count", "truncated"} <= set(
        document["components"]["schemas"]["QueryResultOut"]["properties"]
    )


def test_the_records_write_documents_every_format_it_reads(document: dict[str, Any]) -> None:
    body = _operations(document)[f"POST {DS}/records"]["requestBody"]["content"]
    assert set(body) == {
        "application/json",
        "text/csv",
        "application/x-ndjson",
        "application/graphml+xml",
        "application/vnd.apache.parquet",
        "application/vnd.apache.arrow.stream",
    }
    assert body["application/vnd.apache.parquet"]["schema"] == {"type": "string", "format": "binary"}


# -- query parameters from a Struct ---------------------------------------------------------------


class _PageQuery(msgspec.Struct, frozen=True, kw_only=True):
    filters: ClassVar[str] = "records"
    sort: Annotated[str, Meta(description="the order", examples=["age:desc"])] | None = None
    limit: Annotated[int, Meta(ge=0, le=1000)] = 50
    dataset: str


def test_a_query_struct_becomes_one_parameter_per_field_and_the_filters() -> None:
    params = {p["name"]: p for p in query_parameters(_PageQuery, Components({}))}
    assert params["sort"] == {
        "name": "sort",
        "in": "query",
        "required": False,
        "description": "the order",
        "example": "age:desc",
        "schema": {"type": "string"},
    }
    assert params["limit"]["schema"] == {"type": "integer", "minimum": 0, "maximum": 1000, "default": 50}
    assert params["dataset"]["required"] is True
    filters = params["filters"]
    assert (filters["in"], filters["style"], filters["explode"]) == ("query", "form", True)
    assert filters["schema"]["propertyNames"]["not"] == {"enum": ["dataset", "limit", "sort"]}
    assert filters["schema"]["additionalProperties"]["pattern"].startswith("^(eq|ne|")
    assert "eq, ne, gt, gte, lt, lte, in, nin, like, ilike, is" in filters["description"]


def test_the_records_page_documents_its_query_parameters(document: dict[str, Any]) -> None:
    names = {p["name"] for p in _operations(document)[f"GET {DS}/records"]["parameters"] if p["in"] == "query"}
    assert {"select", "sort", "limit", "offset", "cursor", "count", "filters"} <= names


# -- the examples: every one is accepted ----------------------------------------------------------


def _examples(document: dict[str, Any], label: str) -> list[tuple[str, Any]]:
    content = _operations(document)[label]["requestBody"]["content"]
    return [
        (media_type, example["value"])
        for media_type, media in content.items()
        for example in media.get("examples", {}).values()
    ]


def test_every_prefilled_example_is_accepted(client: TestClient, document: dict[str, Any]) -> None:
    """In the order of the story they tell: a session, `people` and `friends`, their records and
    nodes, a search, one record replaced and patched, a migration, the algorithms. (The query
    endpoint's example needs PostgreSQL: tests/integration/test_generated_client.py sends it.)"""
    headers = {"X-API-Key": client.post("/users").json()["api_key"]}
    sent: set[str] = set()

    def send(method: str, label: str, url: str, expected: int, **extra: Any) -> list[Any]:
        answers = []
        for media_type, example in _examples(document, label):
            body = msgspec.json.encode(example)
            answer = client.request(method, url, content=body, headers={**headers, "Content-Type": media_type, **extra})
            assert answer.status_code == expected, (label, example, answer.text)
            answers.append(answer.json())
        assert answers, f"{label} has no example"
        sent.add(label)
        return answers

    (session,) = send("POST", "POST /sessions", "/sessions", 201)
    sid = session["id"]
    send("PATCH", "PATCH /sessions/{session_id}", f"/sessions/{sid}", 200)
    people, friends = send("POST", "POST /sessions/{session_id}/datasets", f"/sessions/{sid}/datasets", 201)
    assert (people["kind"], friends["kind"]) == ("tabular", "graph")
    tabular, graph = f"/sessions/{sid}/datasets/{people['id']}", f"/sessions/{sid}/datasets/{friends['id']}"
    records = _examples(document, f"POST {DS}/records")
    assert client.post(f"{tabular}/records", json=records[0][1], headers=headers).status_code == 201
    assert client.post(f"{graph}/records", json=records[1][1], headers=headers).status_code == 201
    sent.add(f"POST {DS}/records")
    send("PUT", f"PUT {DS}/records", f"{tabular}/records", 200)
    (page,) = send("POST", f"POST {DS}/records/search", f"{tabular}/records/search", 200)
    assert [item["name"] for item in page["items"]] == ["Alan", "Ada"]
    send("POST", f"POST {DS}/nodes/search", f"{graph}/nodes/search", 200)
    send("PUT", f"PUT {DS}/records/{{key}}", f"{tabular}/records/1", 200)
    send("PATCH", f"PATCH {DS}/records/{{key}}", f"{tabular}/records/1", 200)
    tag = client.get(tabular, headers=headers).headers["etag"]
    send("PUT", f"PUT {DS}", tabular, 200, **{"If-Match": tag})
    for name in ("shortest_path", "all_shortest_paths", "pagerank", "connected_components", "degree"):
        send("POST", f"POST {DS}/algorithms/{name}", f"{graph}/algorithms/{name}", 200)

    with_examples = {
        label
        for label, operation in _operations(document).items()
        if any(media.get("examples") for media in operation.get("requestBody", {}).get("content", {}).values())
    }
    assert with_examples - sent == {"POST /sessions/{session_id}/query"}

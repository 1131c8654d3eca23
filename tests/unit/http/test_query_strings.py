"""The HTTP edge's translation, server-free: query strings → the query Structs and filter terms
(adapters/http/query_strings.py), search bodies → PageRequest (adapters/http/requests.py), and a
next page's request → its URL or body."""

from __future__ import annotations

import inspect
import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import msgspec.inspect as mi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar.handlers import HTTPRouteHandler
from litestar.testing import TestClient

from datainfra.adapters.http.query_strings import (
    AlgorithmQuery,
    EdgeFilterQuery,
    EdgePageQuery,
    ExportQuery,
    GraphExportQuery,
    ImportQuery,
    NeighborsQuery,
    NodeFilterQuery,
    NodePageQuery,
    QueryParameters,
    RecordFilterQuery,
    RecordPageQuery,
    SearchQuery,
    SessionExportQuery,
    WriteQuery,
    export_request,
    field_shapes,
    names,
    page_request,
    page_url,
    read_query,
    repeated,
)
from datainfra.adapters.http.requests import NodeSearch, RecordSearch, next_search, read_search, search_request
from datainfra.adapters.http.routes import exports, graph, records
from datainfra.domain.errors import InvalidRequest
from datainfra.domain.filters import FilterTerm, Operator
from datainfra.domain.graph import MAX_TRAVERSAL_DEPTH
from datainfra.domain.query import MAX_LIMIT, CountMode, PageRequest, SortKey
from datainfra.domain.where import WhereNot, WhereTest
from tests.support.hypothesis_budget import examples
from tests.unit.http.api import new_key, tabular
from tests.unit.http.api import problem as problem_doc

ALL_SHAPES: list[type[QueryParameters]] = [
    RecordPageQuery,
    NodePageQuery,
    EdgePageQuery,
    RecordFilterQuery,
    NodeFilterQuery,
    EdgeFilterQuery,
    NeighborsQuery,
    AlgorithmQuery,
    ExportQuery,
    GraphExportQuery,
    SessionExportQuery,
    ImportQuery,
    WriteQuery,
    SearchQuery,
]


def problem(pairs: list[tuple[str, str]], shape: type[QueryParameters]) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as raised:
        read_query(pairs, shape)
    return raised.value


# -- named parameters and filters ------------------------------------------------------------------


def test_named_parameters_are_typed_and_the_rest_are_filters_in_order() -> None:
    query, filters = read_query(
        [("age", "gt:3"), ("limit", "10"), ("where.limit", "eq:2"), ("sort", "age:desc"), ("name", "in:a,b")],
        RecordPageQuery,
    )
    assert (query.limit, query.sort) == (10, "age:desc")
    assert filters == (
        FilterTerm("age", Operator.GT, "3"),
        FilterTerm("where.limit", Operator.EQ, "2"),
        FilterTerm("name", Operator.IN, "a,b"),
    )
    assert filters[1].field == "limit"


def test_a_value_keeps_everything_after_the_first_colon() -> None:
    _, filters = read_query([("t", "eq:a:b:"), ("u", "like:")], RecordPageQuery)
    assert [(f.op, f.text) for f in filters] == [(Operator.EQ, "a:b:"), (Operator.LIKE, "")]


@pytest.mark.parametrize(
    ("pairs", "shape", "parameter", "detail"),
    [
        ([("limit", "1"), ("limit", "2")], RecordPageQuery, "limit", "limit given more than once"),
        ([("limit", "ten")], RecordPageQuery, "limit", "limit must be a non-negative integer"),
        ([("limit", "-1")], RecordPageQuery, "limit", "limit must be a non-negative integer"),
        ([("limit", "²")], RecordPageQuery, "limit", "limit must be a non-negative integer"),
        ([("offset", "1e3")], AlgorithmQuery, "offset", "offset must be a non-negative integer"),
        ([("depth", "x")], NeighborsQuery, "depth", f"depth must be 1..{MAX_TRAVERSAL_DEPTH}"),
        ([("count", "maybe")], RecordPageQuery, "count", "count must be exact or estimated"),
        ([("direction", "up")], NeighborsQuery, "direction", "direction must be out, in or both"),
        ([("all", "yes")], RecordFilterQuery, "all", "all must be true or false"),
        ([("on_conflict", "merge")], WriteQuery, "on_conflict", "on_conflict must be error, update or ignore"),
        ([("age", "3")], RecordPageQuery, "age", "expected age=<operator>:<value>, e.g. age=eq:3"),
        ([("age", "near:3")], RecordFilterQuery, "age", "unknown operator 'near'"),
        ([("x", "1")], NeighborsQuery, "x", "unknown parameter 'x'"),
        ([("sort", "a")], AlgorithmQuery, "sort", "unknown parameter 'sort'; algorithms take limit and offset"),
        ([("limit", "5")], ExportQuery, "limit", "an export streams every matching record; limit is not accepted"),
        ([("age", "gt:1")], GraphExportQuery, "age", "a graph export holds the whole graph; 'age' is not accepted"),
        ([("format", "csv")], SessionExportQuery, "format", "a session export takes no parameters"),
        ([("name", "x")], ImportQuery, "name", "unknown parameter 'name'; an import takes rename=old:new"),
        ([("age", "gt:3")], SearchQuery, "age", "a search takes its parameters in the JSON body"),
    ],
)
def test_problems_name_the_parameter_in_the_services_words(
    pairs: list[tuple[str, str]], shape: type[QueryParameters], parameter: str, detail: str
) -> None:
    raised = problem(pairs, shape)
    assert raised.parameter == parameter
    assert raised.detail.startswith(detail), raised.detail


def test_list_parameters_repeat_and_reserved_names_are_not_filters() -> None:
    query, filters = read_query([("label", "A"), ("label", '"B,C",D'), ("all", "true")], NodePageQuery)
    assert (query.label, filters) == (["A", '"B,C",D'], ())  # `all` means nothing on a page: ignored
    assert names(query.label, "label") == ("A", "B,C", "D")
    edges, edge_filters = read_query([("type", "KNOWS"), ("all", "eq:1")], EdgePageQuery)
    assert edges.type == ["KNOWS"] and edge_filters == (FilterTerm("all", Operator.EQ, "1"),)
    renames, _ = read_query([("rename", "a:b"), ("rename", "c:d")], ImportQuery)
    assert renames.rename == ["a:b", "c:d"]


def test_a_write_ignores_what_it_does_not_read() -> None:
    query, filters = read_query([("anything", "x"), ("on_conflict", "update")], WriteQuery)
    assert (query.on_conflict, filters) == ("update", ())


def test_integers_past_every_bound_stay_integers_for_the_service_to_refuse() -> None:
    query, _ = read_query([("limit", "9" * 5000), ("offset", "0" * 30 + "7")], RecordPageQuery)
    assert query.limit is not None and query.limit > MAX_LIMIT
    assert query.offset is not None and query.offset > 10**18


# -- the property: a query string parses, or is a 400 naming one of its parameters ----------------

known_names = st.sampled_from(
    sorted({name for shape in ALL_SHAPES for name in field_shapes(shape)} | {"all", "where.x", "age"})
)
any_name = known_names | st.text(max_size=8)
any_value = st.one_of(
    st.text(max_size=12),
    st.from_regex(r"(eq|ne|gt|in|like|is|zz)?:?[-0-9a-z,:\"]{0,8}", fullmatch=True),
    st.sampled_from(["true", "false", "exact", "both", "10", "1001", "-1", "²", "a:desc,b", ""]),
)


@settings(max_examples=examples(600))
@given(st.sampled_from(ALL_SHAPES), st.lists(st.tuples(any_name, any_value), max_size=8))
def test_any_query_string_parses_or_is_refused_naming_a_parameter(
    shape: type[QueryParameters], pairs: list[tuple[str, str]]
) -> None:
    try:
        query, filters = read_query(pairs, shape)
        if isinstance(query, RecordPageQuery | NodePageQuery | EdgePageQuery):
            page_request(query, filters)
        elif isinstance(query, ExportQuery):
            export_request(query, filters)
        if isinstance(query, NodePageQuery | NodeFilterQuery):
            names(query.label, "label")
    except InvalidRequest as exc:
        assert exc.parameter in {name for name, _ in pairs}, (exc.parameter, exc.detail)
        assert exc.field is None


# -- the next page, rendered --------------------------------------------------------------------------

plain_names = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True).filter(
    lambda n: n not in field_shapes(NodePageQuery) and n != "all"
)
free_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=10)
filter_terms = st.builds(
    FilterTerm,
    st.one_of(plain_names, plain_names.map(lambda n: f"where.{n}"), st.sampled_from(["where.limit", "where.all"])),
    st.sampled_from(list(Operator)),
    free_text,
)
page_requests = st.builds(
    PageRequest,
    filters=st.lists(filter_terms, max_size=4).map(tuple),
    select=st.none() | st.lists(plain_names, min_size=1, max_size=3).map(tuple),
    sort=st.lists(st.builds(SortKey, plain_names, st.booleans()), max_size=3).map(tuple),
    limit=st.none() | st.integers(0, MAX_LIMIT),
    offset=st.none() | st.integers(0, 10**18 - 1),
    cursor=st.none() | free_text,
    count=st.none() | st.sampled_from(list(CountMode)),
)


def read_back(url: str, shape: type[Any]) -> tuple[Any, PageRequest]:
    parts = urlsplit(url)
    query, filters = read_query(parse_qsl(parts.query, keep_blank_values=True), shape)
    return query, page_request(query, filters)


@settings(max_examples=examples(300))
@given(page_requests, st.lists(free_text.filter(lambda t: '"' not in t), max_size=3))
def test_a_next_url_reads_back_as_the_same_request(page: PageRequest, labels: list[str]) -> None:
    url = page_url("/sessions/s/datasets/d/nodes", page, repeated("label", labels))
    assert url.startswith("/sessions/s/datasets/d/nodes?")
    query, again = read_back(url, NodePageQuery)
    assert again == page
    assert (query.label or []) == labels


def test_a_next_url_carries_the_cursor_or_the_offset_last() -> None:
    page = PageRequest(filters=(FilterTerm("age", Operator.GT, "3"),), sort=(SortKey("age", True),), limit=2)
    assert page_url("/p", PageRequest(limit=2, offset=2)) == "/p?limit=2&offset=2"
    url = page_url("/p", PageRequest(**{**_fields(page), "cursor": "abc"}))
    assert url == "/p?age=gt%3A3&sort=age%3Adesc&limit=2&cursor=abc"


def _fields(page: PageRequest) -> dict[str, Any]:
    return {name: getattr(page, name) for name in PageRequest.__dataclass_fields__}


# -- search bodies ------------------------------------------------------------------------------------


def test_a_search_body_becomes_a_page_request() -> None:
    body = read_search(
        json.dumps(
            {"where": {"not": {"name": "Cat"}}, "select": ["a", "b"], "sort": "age:desc", "limit": 2, "count": "exact"}
        ).encode(),
        RecordSearch,
    )
    page = search_request(body)
    assert page.where == WhereNot(WhereTest("name", Operator.EQ, "Cat", "where.not.name", "where.not.name"))
    assert (page.select, page.sort, page.limit, page.count) == (("a", "b"), (SortKey("age", True),), 2, CountMode.EXACT)
    assert read_search(b"  ", NodeSearch) == NodeSearch()


@pytest.mark.parametrize(
    ("body", "field", "detail"),
    [
        (
            {"wher": {}},
            "wher",
            "unknown member 'wher'; a search takes count, cursor, limit, offset, select, sort, where",
        ),
        ({"label": "A"}, "label", "unknown member 'label'"),
        ({"limit": "10"}, "limit", "limit must be a non-negative integer"),
        ({"limit": True}, "limit", "limit must be a non-negative integer"),
        ({"sort": 3}, "sort", "sort must be a string or an array of strings"),
        ({"select": ["a", 1]}, "select", "select must be a string or an array of strings"),
        ({"count": "maybe"}, "count", "count must be exact or estimated"),
        ({"cursor": 1}, "cursor", "cursor must be a string"),
    ],
)
def test_a_search_body_problem_names_the_member(body: dict[str, Any], field: str, detail: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        read_search(json.dumps(body).encode(), RecordSearch)
    assert raised.value.field == field
    assert raised.value.detail.startswith(detail), raised.value.detail


def test_the_next_search_body_is_the_same_search_moved_on() -> None:
    body = read_search(b'{"where": {"age": {"gt": 1.50}}, "limit": 2, "offset": 2, "label": ["P"]}', NodeSearch)
    following = next_search(body, PageRequest(offset=4))
    assert following == {"where": body.where, "limit": 2, "label": ["P"], "offset": 4}
    assert next_search(body, PageRequest(cursor="c")) == {
        "where": body.where,
        "limit": 2,
        "label": ["P"],
        "cursor": "c",
    }


# -- every route that reads its query string declares it ------------------------------------------


def _handlers() -> list[HTTPRouteHandler]:
    found = []
    for module in (records, graph, exports):
        for _, controller in inspect.getmembers(module, inspect.isclass):
            if controller.__module__ != module.__name__:
                continue
            found += [value for value in vars(controller).values() if isinstance(value, HTTPRouteHandler)]
    return found


def test_every_handler_reading_the_request_declares_its_query_struct() -> None:
    handlers = _handlers()
    assert len(handlers) > 20
    for handler in handlers:
        reads_request = "request" in inspect.signature(handler.fn).parameters
        declared = handler.opt.get("query")
        assert (declared is not None) == reads_request, handler
        for struct in declared if isinstance(declared, tuple) else (declared,) if declared is not None else ():
            assert issubclass(struct, QueryParameters)  # one Struct, or one per dataset kind the route serves
            for shape in field_shapes(struct).values():
                assert shape.kind != "json", (handler, shape)  # a query parameter is text


def test_every_query_field_is_documented_with_an_example() -> None:
    for shape in ALL_SHAPES:
        info = mi.type_info(shape)
        assert isinstance(info, mi.StructType)
        for field in info.fields:
            meta = field.type.types[0] if isinstance(field.type, mi.UnionType) else field.type
            assert isinstance(meta, mi.Metadata), (shape, field.name)
            assert {"description", "examples"} <= set(meta.extra_json_schema or {}), (shape, field.name)


# -- through the app: what changed for clients ------------------------------------------------------


def test_a_non_ascii_digit_is_a_400_not_a_500(client: TestClient, auth: dict[str, str]) -> None:
    url = tabular(client, auth)
    for query in ("limit=²", "offset=١٢", f"limit={'9' * 5000}"):
        doc = problem_doc(client.get(f"{url}/records?{query}", headers=auth), 400)
        assert doc["parameter"] == query.split("=")[0], doc


def test_a_bad_on_conflict_in_the_query_string_is_a_400_naming_the_parameter(
    client: TestClient, auth: dict[str, str]
) -> None:
    url = tabular(client, auth)
    response = client.post(
        f"{url}/records?on_conflict=merge", content=b"id\n1\n", headers={**auth, "content-type": "text/csv"}
    )
    assert problem_doc(response, 400)["parameter"] == "on_conflict"


def test_the_path_dataset_is_resolved_after_the_key_and_through_its_owner(
    client: TestClient, auth: dict[str, str]
) -> None:
    url = tabular(client, auth)
    problem_doc(client.get(f"{url}/records?limit=x"), 401)
    problem_doc(client.get(f"{url}/records?limit=x", headers=new_key(client)), 404)
    problem_doc(client.get(f"{url}/records?limit=x", headers=auth), 400)

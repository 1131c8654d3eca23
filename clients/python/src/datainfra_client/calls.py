"""Every API operation as a `Call` (sans-IO): what the sync and async clients send. A function per
operation, named as the client method that runs it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

import httpx
import msgspec

from datainfra_client.core import (
    Body,
    Call,
    FilterValue,
    dataset_path,
    decode_as,
    decode_json,
    decode_nothing,
    page_call,
    query_params,
    segment,
)
from datainfra_client.models import (
    Dataset,
    ImportResult,
    IssuedKey,
    Page,
    Path,
    Paths,
    QueryResult,
    Session,
    Subgraph,
    WriteResult,
)

T = TypeVar("T")
OnConflict = Literal["error", "update", "ignore"]
Direction = Literal["out", "in", "both"]


class _Items(msgspec.Struct):
    items: list[Any]


def _items_of(shape: type[T]) -> Callable[[httpx.Response], list[T]]:
    def decode(response: httpx.Response) -> list[T]:
        items = msgspec.json.decode(response.content, type=_Items).items
        return [msgspec.convert(item, shape) for item in items]

    return decode


def _dataset(response: httpx.Response) -> Dataset:
    dataset = msgspec.json.decode(response.content, type=Dataset)
    etag = response.headers.get("etag")
    return msgspec.structs.replace(dataset, etag=etag) if etag else dataset


def _drop_none(document: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in document.items() if value is not None}


# -- users, sessions, datasets ---------------------------------------------------------------------


def register() -> Call[IssuedKey]:
    return Call("POST", "/users", decode_as(IssuedKey))


def openapi() -> Call[Any]:
    """The service's OpenAPI document (what each route accepts)."""
    return Call("GET", "/schema/openapi.json", decode_json)


def list_sessions() -> Call[list[Session]]:
    return Call("GET", "/sessions", _items_of(Session))


def create_session(name: str, description: str | None = None) -> Call[Session]:
    return Call(
        "POST", "/sessions", decode_as(Session), body=Body.json(_drop_none({"name": name, "description": description}))
    )


def get_session(session: str) -> Call[Session]:
    return Call("GET", f"/sessions/{segment(session)}", decode_as(Session))


def delete_session(session: str) -> Call[None]:
    return Call("DELETE", f"/sessions/{segment(session)}", decode_nothing)


def list_datasets(session: str) -> Call[list[Dataset]]:
    return Call("GET", f"/sessions/{segment(session)}/datasets", _items_of(Dataset))


def create_dataset(session: str, name: str, kind: str, schema: Mapping[str, Any] | None) -> Call[Dataset]:
    document = {"name": name, "kind": kind, "schema": dict(schema or {})}
    return Call("POST", f"/sessions/{segment(session)}/datasets", _dataset, body=Body.json(document))


def get_dataset(session: str, dataset: str) -> Call[Dataset]:
    return Call("GET", dataset_path(session, dataset), _dataset)


def migrate_dataset(
    session: str,
    dataset: str,
    schema: Mapping[str, Any],
    renames: Mapping[str, str] | None = None,
    if_match: str | None = None,
) -> Call[Dataset]:
    document: dict[str, Any] = {"schema": dict(schema)}
    if renames:
        document["renames"] = dict(renames)
    headers = (("If-Match", if_match),) if if_match else ()
    return Call("PUT", dataset_path(session, dataset), _dataset, body=Body.json(document), headers=headers)


def delete_dataset(session: str, dataset: str) -> Call[None]:
    return Call("DELETE", dataset_path(session, dataset), decode_nothing)


# -- records ---------------------------------------------------------------------------------------


def write(session: str, dataset: str, body: Body, on_conflict: OnConflict | None = None) -> Call[WriteResult]:
    """A bulk write of any body (JSON, CSV, NDJSON, Parquet, GraphML, node-link)."""
    params = (("on_conflict", on_conflict),) if on_conflict and body.content_type != "application/json" else ()
    return Call("POST", f"{dataset_path(session, dataset)}/records", decode_as(WriteResult), params=params, body=body)


def write_records(
    session: str, dataset: str, records: Sequence[Mapping[str, Any]], on_conflict: OnConflict | None = None
) -> Call[WriteResult]:
    document: dict[str, Any] = {"records": list(records)}
    if on_conflict:
        document["on_conflict"] = on_conflict
    return write(session, dataset, Body.json(document))


def records(
    session: str,
    dataset: str,
    filters: Mapping[str, FilterValue] | None = None,
    *,
    select: Sequence[str] | str | None = None,
    sort: Sequence[str] | str | None = None,
    limit: int | None = None,
    count: bool = False,
    label: Sequence[str] | str | None = None,
) -> Call[Page]:
    params = query_params(filters, select=select, sort=sort, limit=limit, count=count, label=label)
    return page_call(f"{dataset_path(session, dataset)}/records", params)


def search(
    session: str,
    dataset: str,
    where: Mapping[str, Any] | None = None,
    *,
    select: Sequence[str] | None = None,
    sort: str | None = None,
    limit: int | None = None,
    count: bool = False,
    label: Sequence[str] | None = None,
    nodes: bool = False,
) -> Call[Page]:
    document = _drop_none(
        {
            "where": dict(where) if where else None,
            "select": list(select) if select is not None else None,
            "sort": sort,
            "limit": limit,
            "count": "exact" if count else None,
            "label": list(label) if label else None,
        }
    )
    path = f"{dataset_path(session, dataset)}/{'nodes' if nodes else 'records'}/search"
    return Call("POST", path, decode_as(Page), body=Body.json(document), paging="search")


def update_records(session: str, dataset: str, records: Sequence[Mapping[str, Any]]) -> Call[int]:
    body = Body.json({"records": list(records)})
    return Call("PUT", f"{dataset_path(session, dataset)}/records", _count("updated"), body=body)


def update_where(
    session: str, dataset: str, filters: Mapping[str, FilterValue], values: Mapping[str, Any]
) -> Call[int]:
    body = Body.json({"set": dict(values)})
    params = query_params(filters) if filters else (("all", "true"),)
    return Call("PUT", f"{dataset_path(session, dataset)}/records", _count("updated"), params=params, body=body)


def delete_where(session: str, dataset: str, filters: Mapping[str, FilterValue]) -> Call[int]:
    params = query_params(filters) if filters else (("all", "true"),)
    return Call("DELETE", f"{dataset_path(session, dataset)}/records", _count("deleted"), params=params)


def get_record(session: str, dataset: str, key: str) -> Call[dict[str, Any]]:
    return Call("GET", f"{dataset_path(session, dataset)}/records/{key}", decode_json)


def _count(name: str) -> Any:
    return lambda response: int(msgspec.json.decode(response.content)[name])


# -- graphs ----------------------------------------------------------------------------------------


def write_graph(
    session: str,
    dataset: str,
    nodes: Sequence[Mapping[str, Any]] = (),
    edges: Sequence[Mapping[str, Any]] = (),
    on_conflict: OnConflict | None = None,
) -> Call[WriteResult]:
    document: dict[str, Any] = {"nodes": list(nodes), "edges": list(edges)}
    if on_conflict:
        document["on_conflict"] = on_conflict
    return write(session, dataset, Body.json(document))


def nodes(
    session: str,
    dataset: str,
    filters: Mapping[str, FilterValue] | None = None,
    *,
    label: Sequence[str] | str | None = None,
    select: Sequence[str] | str | None = None,
    sort: Sequence[str] | str | None = None,
    limit: int | None = None,
    count: bool = False,
) -> Call[Page]:
    params = query_params(filters, select=select, sort=sort, limit=limit, count=count, label=label)
    return page_call(f"{dataset_path(session, dataset)}/nodes", params)


def edges(
    session: str,
    dataset: str,
    filters: Mapping[str, FilterValue] | None = None,
    *,
    type: Sequence[str] | str | None = None,
    sort: Sequence[str] | str | None = None,
    limit: int | None = None,
    count: bool = False,
) -> Call[Page]:
    params = query_params(filters, sort=sort, limit=limit, count=count, type=type)
    return page_call(f"{dataset_path(session, dataset)}/edges", params)


def node(session: str, dataset: str, node_id: str) -> Call[dict[str, Any]]:
    return Call("GET", f"{dataset_path(session, dataset)}/nodes/{segment(node_id)}", decode_json)


def delete_node(session: str, dataset: str, node_id: str) -> Call[None]:
    return Call("DELETE", f"{dataset_path(session, dataset)}/nodes/{segment(node_id)}", decode_nothing)


def delete_edge(session: str, dataset: str, edge_id: str) -> Call[None]:
    return Call("DELETE", f"{dataset_path(session, dataset)}/edges/{segment(edge_id)}", decode_nothing)


def neighbors(
    session: str,
    dataset: str,
    node_id: str,
    *,
    direction: Direction | None = None,
    types: Sequence[str] | str | None = None,
    depth: int | None = None,
    limit: int | None = None,
) -> Call[Subgraph]:
    params = query_params(direction=direction, type=types, depth=depth, limit=limit)
    path = f"{dataset_path(session, dataset)}/nodes/{segment(node_id)}/neighbors"
    return Call("GET", path, decode_as(Subgraph), params=params)


def shortest_path(session: str, dataset: str, source: str | int, target: str | int, **options: Any) -> Call[Path]:
    """options: direction, types, weight, max_depth."""
    body = Body.json(_drop_none({"source": source, "target": target, **options}))
    return Call("POST", f"{dataset_path(session, dataset)}/algorithms/shortest_path", decode_as(Path), body=body)


def all_shortest_paths(session: str, dataset: str, source: str | int, target: str | int, **options: Any) -> Call[Paths]:
    """options: direction, types, weight, max_depth, limit."""
    body = Body.json(_drop_none({"source": source, "target": target, **options}))
    return Call("POST", f"{dataset_path(session, dataset)}/algorithms/all_shortest_paths", decode_as(Paths), body=body)


def algorithm(session: str, dataset: str, name: str, limit: int | None = None, **options: Any) -> Call[Page]:
    """A ranked algorithm (pagerank, connected_components, degree): its pages are POSTs of the same body."""
    params = query_params(limit=limit)
    body = Body.json(_drop_none(options))
    path = f"{dataset_path(session, dataset)}/algorithms/{name}"
    return Call("POST", path, decode_as(Page), params=params, body=body, paging="repost")


# -- query, export, import -------------------------------------------------------------------------


def query(session: str, document: Mapping[str, Any]) -> Call[QueryResult]:
    body = Body.json(_drop_none(dict(document)))
    return Call("POST", f"/sessions/{segment(session)}/query", decode_as(QueryResult), body=body)


def export(
    session: str,
    dataset: str,
    format: str | None = None,
    filters: Mapping[str, FilterValue] | None = None,
    *,
    select: Sequence[str] | str | None = None,
    sort: Sequence[str] | str | None = None,
) -> Call[None]:
    """A dataset export: streamed by the transport (decode is unused)."""
    params = query_params(filters, select=select, sort=sort, format=format)
    return Call("GET", f"{dataset_path(session, dataset)}/export", decode_nothing, params=params)


def export_session(session: str) -> Call[None]:
    return Call("GET", f"/sessions/{segment(session)}/export", decode_nothing)


def import_session(session: str, body: Body, renames: Mapping[str, str] | None = None) -> Call[ImportResult]:
    params = tuple(("rename", f"{old}:{new}") for old, new in (renames or {}).items())
    path = f"/sessions/{segment(session)}/import"
    return Call("POST", path, decode_as(ImportResult), params=params, body=body)

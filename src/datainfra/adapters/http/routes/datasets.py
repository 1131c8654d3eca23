"""Datasets: create, list, read (with record count), migrate the schema, delete.

A dataset's ETag (on create, read and migrate) versions its definition, the schema a migration
changes (domain.record_versions.dataset_etag), not the record count shown beside it; a migration
with If-Match and a stale tag answers 412 and changes nothing; the service checks the tag atomically
with the catalog update (a compare-and-swap), so of two migrations with the same tag one wins."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.datastructures import ResponseHeader
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody

from datainfra.adapters.http.conventions import LOCATION_DOC, created
from datainfra.adapters.http.dependencies import CurrentUser, Datasets, PathDataset
from datainfra.adapters.http.encoding import json_response
from datainfra.adapters.http.preconditions import IfMatchHeader, if_match
from datainfra.adapters.http.presenters import dataset_doc
from datainfra.adapters.http.schemas import (
    DatasetCreate,
    DatasetCreateBody,
    DatasetList,
    DatasetOut,
    DatasetSchemaChange,
    DatasetSchemaChangeBody,
)
from datainfra.domain.model import Dataset
from datainfra.domain.record_versions import dataset_etag

ETAG = [
    ResponseHeader(
        name="ETag",
        description="Versions the dataset's schema (not its record count); send it in If-Match to migrate.",
        documentation_only=True,
    )
]


MIGRATION_LOST = {
    status: ResponseSpec(None, description=text, media_type="application/problem+json", generate_examples=False)
    for status, text in [
        (412, "If-Match names no current tag of the dataset (another migration won); nothing changed."),
        (409, "Without If-Match: another migration changed the dataset meanwhile; nothing changed, read and retry."),
    ]
}


def _tagged(response: Response[Any], dataset: Dataset) -> Response[Any]:
    response.headers["ETag"] = dataset_etag(dataset)
    return response


class DatasetRoutes(Controller):
    path = "/sessions/{session_id:str}/datasets"
    tags = ["datasets"]

    @post(
        "/",
        summary="Create a tabular or graph dataset",
        status_code=201,
        response_headers=[*ETAG, *LOCATION_DOC],
        opt={"body": {"application/json": DatasetCreateBody}},
    )
    async def create(
        self,
        session_id: FromPath[str],
        data: JSONBody[DatasetCreate],
        datasets: Datasets,
        user: CurrentUser,
    ) -> Response[DatasetOut]:
        dataset = await datasets.create(user, session_id, data.name, data.kind, data.schema)
        location = f"/sessions/{dataset.session_id}/datasets/{dataset.id}"
        return _tagged(created(json_response(dataset_doc(dataset), 201), location), dataset)

    @get("/", summary="List the session's datasets")
    async def list_datasets(
        self, session_id: FromPath[str], datasets: Datasets, user: CurrentUser
    ) -> Response[DatasetList]:
        items = [dataset_doc(d) for d in await datasets.list(user, session_id)]
        return json_response({"items": items})

    @get("/{dataset_id:str}", summary="Read a dataset, with its record count", response_headers=ETAG)
    async def read(self, dataset: PathDataset, datasets: Datasets) -> Response[DatasetOut]:
        return _tagged(json_response(dataset_doc(dataset, await datasets.count(dataset))), dataset)

    @put(
        "/{dataset_id:str}",
        summary="Migrate the schema (add/drop/rename columns, types, nullability, indexes); If-Match: its ETag",
        response_headers=ETAG,
        responses=MIGRATION_LOST,
        opt={"body": {"application/json": DatasetSchemaChangeBody}, "errors": (412,)},
    )
    async def change_schema(
        self,
        request: Request[Any, Any, Any],
        session_id: FromPath[str],
        dataset_id: FromPath[str],
        data: JSONBody[DatasetSchemaChange],
        datasets: Datasets,
        user: CurrentUser,
        if_match_header: IfMatchHeader = None,
    ) -> Response[DatasetOut]:
        dataset = await datasets.change_schema(
            user, session_id, dataset_id, data.schema, data.renames, if_match=if_match(request)
        )
        return _tagged(json_response(dataset_doc(dataset)), dataset)

    @delete("/{dataset_id:str}", summary="Delete a dataset and its data", status_code=204)
    async def remove(
        self, session_id: FromPath[str], dataset_id: FromPath[str], datasets: Datasets, user: CurrentUser
    ) -> None:
        await datasets.delete(user, session_id, dataset_id)

"""Datasets: create, list, read (with record count), migrate the schema, delete."""

from __future__ import annotations

from litestar import Controller, Response, delete, get, post, put
from litestar.params import FromPath, JSONBody

from datainfra.adapters.http.conventions import LOCATION_DOC, created
from datainfra.adapters.http.dependencies import CurrentUser, Datasets
from datainfra.adapters.http.encoding import json_response
from datainfra.adapters.http.presenters import dataset_doc
from datainfra.adapters.http.schemas import DatasetCreate, DatasetList, DatasetOut, DatasetSchemaChange


class DatasetRoutes(Controller):
    path = "/sessions/{session_id:str}/datasets"
    tags = ["datasets"]

    @post("/", summary="Create a tabular or graph dataset", status_code=201, response_headers=LOCATION_DOC)
    async def create(
        self,
        session_id: FromPath[str],
        data: JSONBody[DatasetCreate],
        datasets: Datasets,
        user: CurrentUser,
    ) -> Response[DatasetOut]:
        dataset = await datasets.create(user, session_id, data.name, data.kind, data.schema)
        location = f"/sessions/{dataset.session_id}/datasets/{dataset.id}"
        return created(json_response(dataset_doc(dataset), 201), location)

    @get("/", summary="List the session's datasets")
    async def list_datasets(
        self, session_id: FromPath[str], datasets: Datasets, user: CurrentUser
    ) -> Response[DatasetList]:
        items = [dataset_doc(d) for d in await datasets.list(user, session_id)]
        return json_response({"items": items})

    @get("/{dataset_id:str}", summary="Read a dataset, with its record count")
    async def read(
        self, session_id: FromPath[str], dataset_id: FromPath[str], datasets: Datasets, user: CurrentUser
    ) -> Response[DatasetOut]:
        dataset = await datasets.get(user, session_id, dataset_id)
        return json_response(dataset_doc(dataset, await datasets.count(dataset)))

    @put("/{dataset_id:str}", summary="Migrate the schema (add/drop/rename columns, types, nullability, indexes)")
    async def change_schema(
        self,
        session_id: FromPath[str],
        dataset_id: FromPath[str],
        data: JSONBody[DatasetSchemaChange],
        datasets: Datasets,
        user: CurrentUser,
    ) -> Response[DatasetOut]:
        dataset = await datasets.change_schema(user, session_id, dataset_id, data.schema, data.renames)
        return json_response(dataset_doc(dataset))

    @delete("/{dataset_id:str}", summary="Delete a dataset and its data", status_code=204)
    async def remove(
        self, session_id: FromPath[str], dataset_id: FromPath[str], datasets: Datasets, user: CurrentUser
    ) -> None:
        await datasets.delete(user, session_id, dataset_id)

"""Imports: a session archive made by the export recreates its datasets (schemas, then data) in a
session. Each dataset's data is written in one all-or-nothing store call, and an import that fails
anywhere drops every dataset it created, so nothing half-imported is left behind."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from datainfra.domain.errors import Conflict, InvalidInput, InvalidRequest
from datainfra.domain.json_value import JsonValue
from datainfra.domain.model import Dataset, DatasetKind, Session, User
from datainfra.domain.names import name_problem
from datainfra.domain.ports import ArchiveSource, Catalog
from datainfra.domain.records import OnConflict
from datainfra.domain.tabular_schema import TabularSchema
from datainfra.domain.types import BadValue, FieldType, parse_text
from datainfra.services.datasets import DatasetService
from datainfra.services.exports import ARCHIVE_FORMAT, ARCHIVE_VERSION, GRAPH_FORMATS
from datainfra.services.graphs import GraphService
from datainfra.services.records import RecordService

RENAME_PARAM = "rename"
TABULAR_IMPORT_FORMATS = ("csv", "ndjson")
MAX_IMPORT_DATASETS = 1000
"""Datasets one archive may create: each is a table or a graph namespace with its own DDL."""


@dataclass(frozen=True, slots=True)
class PlannedDataset:
    name: str
    kind: DatasetKind
    file: str
    format: str
    schema: JsonValue
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class ImportedDataset:
    dataset: Dataset
    counts: dict[str, int]


def parse_renames(values: Sequence[str]) -> dict[str, str]:
    """The values of the repeated `rename=old:new` query parameter."""
    renames: dict[str, str] = {}
    for value in values:
        old, sep, new = value.partition(":")
        if not sep or not old or not new:
            raise InvalidRequest("rename must be old:new", parameter=RENAME_PARAM)
        problem = name_problem(new)
        if problem is not None:
            raise InvalidRequest(f"dataset name {new!r} {problem}", parameter=RENAME_PARAM)
        if old in renames:
            raise InvalidRequest(f"{old!r} is renamed twice", parameter=RENAME_PARAM)
        renames[old] = new
    return renames


def plan_import(manifest: JsonValue, renames: Mapping[str, str], source: ArchiveSource) -> list[PlannedDataset]:
    """Check the manifest and apply the renames; 400 for an archive this service did not make."""
    if not isinstance(manifest, Mapping) or manifest.get("format") != ARCHIVE_FORMAT:
        raise InvalidRequest("manifest.json is not a datainfra session export")
    if manifest.get("format_version") != ARCHIVE_VERSION:
        raise InvalidRequest(f"unsupported export format_version {manifest.get('format_version')!r}")
    items = manifest.get("datasets")
    if not isinstance(items, list):
        raise InvalidRequest("manifest.json: datasets must be a list")
    if len(items) > MAX_IMPORT_DATASETS:
        raise InvalidRequest(
            f"an archive may hold at most {MAX_IMPORT_DATASETS} datasets ({len(items)} listed); import it in parts",
            field="datasets",
        )
    planned: list[PlannedDataset] = []
    for i, item in enumerate(items):
        where = f"datasets[{i}]"
        if not isinstance(item, Mapping):
            raise InvalidRequest("manifest.json: a dataset must be an object", field=where)
        try:
            kind = DatasetKind(str(item.get("kind")))
        except ValueError:
            raise InvalidRequest("manifest.json: kind must be tabular or graph", field=f"{where}.kind") from None
        name, file, fmt = item.get("name"), item.get("file"), item.get("format")
        if not isinstance(name, str) or not isinstance(file, str) or not source.has_file(file):
            raise InvalidRequest("manifest.json: a dataset needs a name and a file in the archive", field=where)
        allowed = TABULAR_IMPORT_FORMATS if kind is DatasetKind.TABULAR else GRAPH_FORMATS
        if fmt not in allowed:
            raise InvalidRequest(f"manifest.json: format must be one of {', '.join(allowed)}", field=f"{where}.format")
        counts = {k: v for k, v in item.items() if k in ("records", "nodes", "edges") and isinstance(v, int)}
        planned.append(PlannedDataset(renames.get(name, name), kind, file, str(fmt), item.get("schema"), counts))
    names = [p.name for p in planned]
    unknown = sorted(set(renames) - {item.get("name") for item in items if isinstance(item, Mapping)})
    if unknown:
        raise InvalidRequest(f"rename names {unknown[0]!r}, which the archive does not hold", parameter=RENAME_PARAM)
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InvalidRequest(f"two datasets would be named {name!r}", parameter=RENAME_PARAM)
        seen.add(name)
    return planned


class ImportService:
    def __init__(
        self, catalog: Catalog, datasets: DatasetService, records: RecordService, graphs: GraphService
    ) -> None:
        self._catalog = catalog
        self._datasets = datasets
        self._records = records
        self._graphs = graphs

    async def session(self, user: User, session_id: str) -> Session:
        return await self._datasets.session(user, session_id)

    async def import_archive(
        self, user: User, session_id: str, manifest: JsonValue, renames: Mapping[str, str], source: ArchiveSource
    ) -> list[ImportedDataset]:
        session = await self._datasets.session(user, session_id)
        planned = plan_import(manifest, renames, source)
        clashes = [p.name for p in planned if await self._catalog.find_dataset(user.id, session.id, p.name)]
        if clashes:
            raise Conflict(
                f"the session already holds {', '.join(clashes)}; import them under other names with "
                "rename=old:new (repeat it for each)",
                key={"names": clashes},
            )
        imported: list[ImportedDataset] = []
        try:
            for plan in planned:
                dataset = await self._datasets.create(user, session.id, plan.name, plan.kind.value, plan.schema)
                imported.append(ImportedDataset(dataset, {}))
                counts = await self._load(dataset, plan, source)
                imported[-1] = ImportedDataset(dataset, counts)
        except BaseException:
            for done in imported:
                with contextlib.suppress(Exception):
                    await self._datasets.delete(user, session.id, done.dataset.id)
            raise
        return imported

    async def _load(self, dataset: Dataset, plan: PlannedDataset, source: ArchiveSource) -> dict[str, int]:
        if plan.kind is DatasetKind.TABULAR:
            schema = dataset.tabular_schema
            if plan.format == "csv":
                rows: AsyncIterable[Mapping[str, Any]] = typed_csv_rows(schema, source.csv_rows(plan.file))
            else:
                rows = source.ndjson_rows(plan.file)
            result = await self._records.insert(dataset, rows, OnConflict.ERROR)
            counts = {"records": result.inserted}
        else:
            nodes, edges = await source.graph(plan.file, plan.format)
            await self._graphs.write(dataset, nodes, edges, OnConflict.ERROR)
            counts = {"nodes": len(nodes), "edges": len(edges)}
        for key, expected in plan.counts.items():
            if counts.get(key) != expected:
                raise InvalidInput(
                    f"{plan.file} holds {counts.get(key)} {key}, the manifest says {expected}", field=plan.file
                )
        return counts


async def typed_csv_rows(
    schema: TabularSchema, rows: AsyncIterable[Mapping[str, str | None]]
) -> AsyncIterator[dict[str, Any]]:
    """CSV cells in PostgreSQL's text forms → typed values; json columns hold JSON text (which the
    records route's CSV path cannot take), decoded with exact numbers."""
    index = 0
    async for row in rows:
        record: dict[str, Any] = {}
        for name, cell in row.items():
            column = schema.column(name)
            if column is None:
                raise InvalidInput(f"unknown field {name!r}", index=index, field=name)
            if cell is None:
                record[name] = None
                continue
            try:
                if column.type is FieldType.JSON:
                    record[name] = json.loads(cell, parse_float=Decimal)
                else:
                    record[name] = parse_text(cell, column.type)
            except (BadValue, ValueError) as exc:
                raise InvalidInput(f"field {name!r}: {exc}", index=index, field=name) from None
        index += 1
        yield record

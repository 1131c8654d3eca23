"""Records of tabular datasets: bulk writes (JSON, CSV, NDJSON), filtered reads, updates, deletes;
and one record by its key (SingleRecordService), with ETags and If-Match."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import cast

from datainfra.domain.errors import InvalidInput, InvalidRequest, NotFound
from datainfra.domain.filters import parse_filters
from datainfra.domain.json_value import JsonValue
from datainfra.domain.model import Dataset, DatasetKind
from datainfra.domain.ports import TabularStore
from datainfra.domain.query import PageRequest, Selection
from datainfra.domain.record_versions import (
    IfMatch,
    RecordChange,
    RecordKey,
    describe_key,
    merge_patch,
    record_etag,
)
from datainfra.domain.records import OnConflict, Record, RecordRows, WriteResult
from datainfra.domain.tabular_schema import TabularSchema
from datainfra.domain.types import FieldType
from datainfra.services.paging import PageResult, next_request, parse_tabular_query, sort_values

UNFILTERED_GUARD = "all"


def parse_on_conflict(value: str | None) -> OnConflict:
    """A body's on_conflict member (None: error)."""
    try:
        return OnConflict(value or "error")
    except ValueError:
        raise InvalidInput("on_conflict must be error, update or ignore", field="on_conflict") from None


def require_tabular(dataset: Dataset) -> TabularSchema:
    if dataset.kind is not DatasetKind.TABULAR:
        raise InvalidRequest(f"dataset {dataset.name!r} is a graph; this operation is for tabular datasets")
    return dataset.tabular_schema


def guard_unfiltered(selection: Selection, filtered: bool) -> None:
    """Touching every row needs `all=true`, so a forgotten filter never wipes a table."""
    if not filtered and not selection.every:
        raise InvalidRequest(
            "no filter given: add filters, or all=true to act on every record", parameter=UNFILTERED_GUARD
        )


async def typed_records(
    schema: TabularSchema, raw: AsyncIterable[Mapping[str, JsonValue]] | Sequence[JsonValue], *, text_values: bool
) -> AsyncIterator[Record]:
    """Check and type each incoming record, filling absent columns with their default (or NULL), so
    stores receive complete rows. The generated key stays absent unless the client gave it."""

    def coerce(item: object, index: int) -> Record:
        if text_values:  # CSV rows: every value is text or absent
            return schema.coerce_text_record(cast("Mapping[str, str | None]", item), index, fill_defaults=True)
        return schema.coerce_record(item, index, fill_defaults=True)

    if isinstance(raw, Sequence):  # a decoded JSON body: no stream to await between records
        for index, item in enumerate(raw):
            yield coerce(item, index)
        return
    index = 0
    async for row in raw:
        yield coerce(row, index)
        index += 1


@dataclass(frozen=True, slots=True)
class VersionedRecord:
    """A record as stored, with its ETag (domain.record_versions.record_etag)."""

    record: Record
    etag: str


class RecordService:
    def __init__(self, tabular: TabularStore) -> None:
        self._tabular = tabular

    async def insert(
        self,
        dataset: Dataset,
        raw: AsyncIterable[Mapping[str, JsonValue]] | Sequence[JsonValue],
        on_conflict: OnConflict,
        *,
        text_values: bool = False,
    ) -> WriteResult:
        schema = require_tabular(dataset)
        return await self._tabular.insert_records(
            dataset, typed_records(schema, raw, text_values=text_values), on_conflict
        )

    async def insert_typed(
        self,
        dataset: Dataset,
        records: AsyncIterable[Record | RecordRows] | Iterable[RecordRows],
        on_conflict: OnConflict,
    ) -> WriteResult:
        """Records already typed and completed by the schema's own rules: exactly what `typed_records`
        makes of the body they came from (the HTTP edge's typed decoders, adapters/http/typed_records.py,
        are held to that by tests), so they go to the store as they are."""
        require_tabular(dataset)
        return await self._tabular.insert_records(dataset, _as_stream(records), on_conflict)

    async def insert_csv(self, dataset: Dataset, body: AsyncIterable[bytes], on_conflict: OnConflict) -> WriteResult:
        """A CSV body as it arrives (domain.csv_records' dialect): the store reads it (TabularStore.insert_csv)."""
        require_tabular(dataset)
        return await self._tabular.insert_csv(dataset, body, on_conflict)

    async def query(self, dataset: Dataset, request: PageRequest) -> PageResult[Record]:
        """A page of records. The request's `where` tree is ANDed with its filters; its errors name
        their JSON path under `where`."""
        schema = require_tabular(dataset)
        types = schema.field_types
        parsed = parse_tabular_query(schema, request)
        query = parsed.query
        wanted = query.select
        if wanted is not None:
            extra = tuple(k.field for k in query.sort if k.field not in wanted)
            query = replace(query, select=wanted + extra)
        page = await self._tabular.query(dataset, query)
        last = sort_values(page.items[-1], query.sort) if page.items else None
        items = page.items if wanted is None else [{k: item[k] for k in wanted} for item in page.items]
        return PageResult(
            items=items,
            limit=query.limit,
            offset=query.offset,
            total=page.total,
            next=next_request(request, parsed, page.has_more, last, types),
        )

    async def update_by_key(self, dataset: Dataset, records: Sequence[JsonValue]) -> int:
        schema = require_tabular(dataset)
        typed: list[Record] = []
        for index, raw in enumerate(records):
            record = schema.coerce_record(raw, index, partial=True)
            for name in schema.primary_key:
                if record.get(name) is None:
                    raise InvalidInput(f"the key field {name!r} is required to update by key", index=index, field=name)
            typed.append(record)
        return await self._tabular.update_by_key(dataset, typed)

    async def update_where(self, dataset: Dataset, selection: Selection, changes: Mapping[str, JsonValue]) -> int:
        schema = require_tabular(dataset)
        spec = parse_filters(selection.filters, schema.field_types)
        guard_unfiltered(selection, not spec.empty)
        typed = schema.coerce_record(changes, 0, partial=True)
        for name in schema.primary_key:
            if name in typed:
                raise InvalidInput("the primary key cannot be set by filter", field=f"set.{name}")
        if not typed:
            raise InvalidInput("set must name at least one field", field="set")
        return await self._tabular.update_where(dataset, spec, typed)

    async def delete_where(self, dataset: Dataset, selection: Selection) -> int:
        schema = require_tabular(dataset)
        spec = parse_filters(selection.filters, schema.field_types)
        guard_unfiltered(selection, not spec.empty)
        return await self._tabular.delete_where(dataset, spec)

    # -- one record by its key (ETags, If-Match checked atomically by the store) -----------------

    async def get_one(self, dataset: Dataset, key: RecordKey) -> VersionedRecord:
        schema = require_tabular(dataset)
        record = await self._tabular.get_by_key(dataset, key)
        if record is None:
            raise NotFound(f"no record has the key {describe_key(key)}", key=dict(key))
        return VersionedRecord(record, record_etag(schema, record))

    async def replace_one(
        self, dataset: Dataset, key: RecordKey, body: Mapping[str, JsonValue], expected: IfMatch | None
    ) -> VersionedRecord:
        """Every non-key column from `body`: a column left out takes its default (NULL when it has
        none; a NOT NULL column without default must be given)."""
        schema = require_tabular(dataset)
        typed = _unindexed(lambda: schema.coerce_record(body, 0, partial=True))
        assignments = _without_key(schema, key, typed)
        for column in schema.columns:
            if column.name in assignments or column.name in key or column.generated:
                continue
            if column.default is None and not column.nullable:
                raise InvalidInput(f"field {column.name!r} is required", field=column.name)
            assignments[column.name] = column.default
        return await self._write_one(dataset, key, lambda _current: assignments, expected)

    async def patch_one(
        self, dataset: Dataset, key: RecordKey, patch: Mapping[str, JsonValue], expected: IfMatch | None
    ) -> VersionedRecord:
        """JSON merge patch (RFC 7396) over the record: a member sets its column (null: NULL), a
        member left out keeps its column; an object given for a json column merges into the object
        stored there."""
        schema = require_tabular(dataset)
        typed = _unindexed(lambda: schema.coerce_record(patch, 0, partial=True))
        assignments = _without_key(schema, key, typed)
        json_columns = {c.name for c in schema.columns if c.type is FieldType.JSON}

        def change(current: Record) -> Record:
            return {
                name: merge_patch(current.get(name), cast("JsonValue", value)) if name in json_columns else value
                for name, value in assignments.items()
            }

        return await self._write_one(dataset, key, change, expected)

    async def delete_one(self, dataset: Dataset, key: RecordKey, expected: IfMatch | None) -> None:
        require_tabular(dataset)
        await self._tabular.delete_record(dataset, key, expected)

    async def _write_one(
        self, dataset: Dataset, key: RecordKey, change: RecordChange, expected: IfMatch | None
    ) -> VersionedRecord:
        record = await self._tabular.update_record(dataset, key, change, expected)
        return VersionedRecord(record, record_etag(dataset.tabular_schema, record))


async def _as_stream(
    records: AsyncIterable[Record | RecordRows] | Iterable[RecordRows],
) -> AsyncIterator[Record | RecordRows]:
    if isinstance(records, AsyncIterable):
        async for record in records:
            yield record
        return
    for rows in records:
        yield rows


def _unindexed(coerce: Callable[[], Record]) -> Record:
    """A single record's problems name its field, not an index in a list it is not part of."""
    try:
        return coerce()
    except InvalidInput as exc:
        exc.index = None
        raise


def _without_key(schema: TabularSchema, key: RecordKey, typed: Record) -> Record:
    """The assignments without the key columns; a body giving a key column another value is refused
    (a record's key is its identity: move it with a DELETE and a POST)."""
    for name in schema.primary_key:
        if name in typed and typed[name] != key[name]:
            raise InvalidInput(
                f"the key field {name!r} cannot be changed (the URL names {key[name]!s}, the body {typed[name]!s})",
                field=name,
            )
    return {n: v for n, v in typed.items() if n not in schema.primary_key}

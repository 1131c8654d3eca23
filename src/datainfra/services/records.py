"""Records of tabular datasets: bulk writes (JSON, CSV, NDJSON), filtered reads, updates, deletes."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from datainfra.domain.errors import InvalidInput, InvalidRequest
from datainfra.domain.model import Dataset, DatasetKind
from datainfra.domain.ports import TabularStore
from datainfra.domain.records import OnConflict, Record, WriteResult
from datainfra.domain.tabular_schema import TabularSchema
from datainfra.domain.where import parse_where
from datainfra.services.paging import (
    PageResult,
    Params,
    ParsedQuery,
    next_params,
    parse_filter_only,
    parse_query,
    single,
    sort_values,
)

UNFILTERED_GUARD = "all"


def parse_on_conflict(value: str | None) -> OnConflict:
    try:
        return OnConflict(value or "error")
    except ValueError:
        raise InvalidInput("on_conflict must be error, update or ignore", field="on_conflict") from None


def require_tabular(dataset: Dataset) -> TabularSchema:
    if dataset.kind is not DatasetKind.TABULAR:
        raise InvalidRequest(f"dataset {dataset.name!r} is a graph; this operation is for tabular datasets")
    return dataset.tabular_schema


def guard_unfiltered(params: Params, filtered: bool) -> None:
    """Touching every row needs `all=true`, so a forgotten filter never wipes a table."""
    flag = single(params, UNFILTERED_GUARD)
    if flag not in (None, "true", "false"):
        raise InvalidRequest("all must be true or false", parameter=UNFILTERED_GUARD)
    if not filtered and flag != "true":
        raise InvalidRequest("no filter given: add filters, or all=true to act on every record", parameter="all")


async def typed_records(
    schema: TabularSchema, raw: AsyncIterable[Mapping[str, Any]] | Sequence[Any], *, text_values: bool
) -> AsyncIterator[Record]:
    """Check and type each incoming record, filling absent columns with their default (or NULL), so
    stores receive complete rows. The generated key stays absent unless the client gave it."""
    coerce = schema.coerce_text_record if text_values else schema.coerce_record
    if isinstance(raw, Sequence):  # a decoded JSON body: no stream to await between records
        for index, item in enumerate(raw):
            yield coerce(item, index, fill_defaults=True)
        return
    index = 0
    async for item in raw:
        yield coerce(item, index, fill_defaults=True)
        index += 1


class RecordService:
    def __init__(self, tabular: TabularStore) -> None:
        self._tabular = tabular

    async def insert(
        self,
        dataset: Dataset,
        raw: AsyncIterable[Mapping[str, Any]] | Sequence[Any],
        on_conflict: OnConflict,
        *,
        text_values: bool = False,
    ) -> WriteResult:
        schema = require_tabular(dataset)
        return await self._tabular.insert_records(
            dataset, typed_records(schema, raw, text_values=text_values), on_conflict
        )

    async def query(self, dataset: Dataset, params: Params, *, where: Any = None) -> PageResult[Record]:
        """A page of records. `where` is a JSON where tree (domain.where) ANDed with the parameter
        filters; its errors name their JSON path under `where`."""
        schema = require_tabular(dataset)
        types = schema.field_types
        parsed = parse_query(
            params,
            types=types,
            key=schema.primary_key,
            non_nullable={c.name for c in schema.columns if not c.nullable},
            reserved={UNFILTERED_GUARD},
        )
        tree = parse_where(where, types)
        if tree is not None:
            parsed = ParsedQuery(replace(parsed.query, filter=replace(parsed.query.filter, where=tree)), parsed.keyset)
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
            next_params=next_params(params, parsed, page.has_more, last, types),
        )

    async def update_by_key(self, dataset: Dataset, records: Sequence[Any]) -> int:
        schema = require_tabular(dataset)
        typed: list[Record] = []
        for index, raw in enumerate(records):
            record = schema.coerce_record(raw, index, partial=True)
            for name in schema.primary_key:
                if record.get(name) is None:
                    raise InvalidInput(f"the key field {name!r} is required to update by key", index=index, field=name)
            typed.append(record)
        return await self._tabular.update_by_key(dataset, typed)

    async def update_where(self, dataset: Dataset, params: Params, changes: Any) -> int:
        schema = require_tabular(dataset)
        spec = parse_filter_only(params, schema.field_types, {UNFILTERED_GUARD})
        guard_unfiltered(params, not spec.empty)
        typed = schema.coerce_record(changes, 0, partial=True)
        for name in schema.primary_key:
            if name in typed:
                raise InvalidInput("the primary key cannot be set by filter", field=f"set.{name}")
        if not typed:
            raise InvalidInput("set must name at least one field", field="set")
        return await self._tabular.update_where(dataset, spec, typed)

    async def delete_where(self, dataset: Dataset, params: Params) -> int:
        schema = require_tabular(dataset)
        spec = parse_filter_only(params, schema.field_types, {UNFILTERED_GUARD})
        guard_unfiltered(params, not spec.empty)
        return await self._tabular.delete_where(dataset, spec)

"""InMemoryJsonPages: the JsonPages port over any Catalog and TabularStore (the in-memory build's):
the guard read from the catalog, the page from the store, the items written by the API's JSON
encoder (so its JSON is byte for byte what the GET route writes from the same page)."""

from __future__ import annotations

from dataclasses import replace

import msgspec

from datainfra.domain.errors import NotFound
from datainfra.domain.model import DatasetKind
from datainfra.domain.ports import Catalog, TabularStore
from datainfra.domain.ports.json_pages import JsonPage, JsonPages, PageGuard
from datainfra.domain.query import RecordQuery

_encoder = msgspec.json.Encoder(decimal_format="number")
"""adapters/http/encoding.py's encoder settings: numbers exact, Decimal as a JSON number."""


class InMemoryJsonPages(JsonPages):
    """No await between the guard's reads and the page's: under asyncio they see one state (the
    in-memory stores change state without awaiting)."""

    def __init__(self, catalog: Catalog, tabular: TabularStore) -> None:
        self._catalog = catalog
        self._tabular = tabular

    async def page(self, guard: PageGuard, query: RecordQuery) -> JsonPage | None:
        dataset = guard.dataset
        user = await self._catalog.user_for_key(guard.key_hash)
        if user is None or user.id != dataset.owner_id or dataset.kind is not DatasetKind.TABULAR:
            return None
        current = await self._catalog.get_dataset(dataset.owner_id, dataset.session_id, dataset.id)
        if current != dataset:
            return None
        wanted = query.select if query.select is not None else dataset.tabular_schema.column_names
        read = tuple(dict.fromkeys([*wanted, *(k.field for k in query.sort)]))
        try:
            page = await self._tabular.query(dataset, replace(query, select=read, count=None))
        except NotFound:
            return None  # the table went
        items = [{name: item[name] for name in wanted} for item in page.items]
        last = None
        if page.has_more and page.items and query.sort:
            last = tuple(page.items[-1].get(k.field) for k in query.sort)
        return JsonPage(items=_encoder.encode(items), has_more=page.has_more, last=last)

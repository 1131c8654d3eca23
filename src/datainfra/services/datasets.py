"""Datasets: a catalog entry plus its home in a store (a table or a graph namespace).

A migration is a compare-and-swap on the catalog entry: it first claims the new schema in the catalog,
only if the entry still holds the schema the migration was planned from (and the If-Match tag named),
then changes the table or graph, and puts the old schema back if that change fails. So of two
migrations planned from the same schema exactly one proceeds, and the loser touches nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import replace

from datainfra.domain.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from datainfra.domain.graph_schema import GraphSchema, parse_graph_schema
from datainfra.domain.json_value import JsonValue
from datainfra.domain.model import Dataset, DatasetKind, Session, User
from datainfra.domain.names import validate_name
from datainfra.domain.ports import Catalog, Clock, GraphStore, IdGenerator, TabularStore
from datainfra.domain.record_versions import IfMatch, check_dataset
from datainfra.domain.tabular_schema import parse_tabular_schema, plan_migration


class DatasetService:
    def __init__(
        self, catalog: Catalog, tabular: TabularStore, graph: GraphStore, clock: Clock, ids: IdGenerator
    ) -> None:
        self._catalog = catalog
        self._tabular = tabular
        self._graph = graph
        self._clock = clock
        self._ids = ids

    async def session(self, user: User, session_id: str) -> Session:
        session = await self._catalog.get_session(user.id, session_id)
        if session is None:
            raise NotFound(f"no session {session_id!r}", parameter="session_id")
        return session

    async def get(self, user: User, session_id: str, dataset_id: str) -> Dataset:
        # The catalog lookup is already scoped by owner and session, so the session is looked up
        # only to tell "no such session" from "no such dataset" (one catalog read on the hot path).
        dataset = await self._catalog.get_dataset(user.id, session_id, dataset_id)
        if dataset is None:
            await self.session(user, session_id)
            raise NotFound(f"no dataset {dataset_id!r} in this session", parameter="dataset_id")
        return dataset

    async def find(self, user: User, session_id: str, ref: str) -> Dataset | None:
        """The session's dataset with id `ref`, else the one named `ref`, else None. One catalog read
        for an id; names and ids never clash (a name holds no '-', which every generated id has)."""
        found = await self._catalog.get_dataset(user.id, session_id, ref)
        return found if found is not None else await self._catalog.find_dataset(user.id, session_id, ref)

    async def list(self, user: User, session_id: str) -> list[Dataset]:
        datasets = await self._catalog.list_datasets(user.id, session_id)
        if not datasets:  # an empty session, or none at all (404)
            await self.session(user, session_id)
        return datasets

    async def create(self, user: User, session_id: str, name: str, kind: str, schema: JsonValue) -> Dataset:
        session = await self.session(user, session_id)
        validate_name(name, what="dataset name", field="name")
        try:
            dataset_kind = DatasetKind(kind)
        except ValueError:
            raise InvalidInput("kind must be 'tabular' or 'graph'", field="kind") from None
        parsed = parse_tabular_schema(schema) if dataset_kind is DatasetKind.TABULAR else parse_graph_schema(schema)
        now = self._clock.now()
        dataset = Dataset(
            id=self._ids.new_id(),
            session_id=session.id,
            owner_id=user.id,
            name=name,
            kind=dataset_kind,
            schema=parsed,
            created_at=now,
            updated_at=now,
        )
        await self._catalog.add_dataset(dataset)  # reserves the name (Conflict on a clash)
        try:
            if dataset_kind is DatasetKind.TABULAR:
                await self._tabular.create_table(dataset)
            else:
                await self._graph.create_graph(dataset)
        except BaseException:
            await self._catalog.remove_dataset(user.id, session.id, dataset.id)
            raise
        return dataset

    async def count(self, dataset: Dataset) -> int:
        if dataset.kind is DatasetKind.TABULAR:
            return await self._tabular.count(dataset)
        return await self._graph.count_nodes(dataset)

    async def change_schema(
        self,
        user: User,
        session_id: str,
        dataset_id: str,
        schema: JsonValue,
        renames: Mapping[str, str] | None,
        if_match: IfMatch | None = None,
    ) -> Dataset:
        """Migrate to `schema`. With `if_match`, PreconditionFailed (and no change) unless the dataset's
        ETag is one of its tags when the migration claims it; without, Conflict if another migration
        changed the dataset between this one's read and its claim."""
        dataset = await self.get(user, session_id, dataset_id)
        check_dataset(dataset, if_match)
        now = self._clock.now()
        if dataset.kind is DatasetKind.TABULAR:
            after_schema = parse_tabular_schema(schema)
            plan = plan_migration(dataset.tabular_schema, after_schema, dict(renames or {}))
            changed = replace(dataset, schema=after_schema, updated_at=now)
            await self._claim(dataset, changed, if_match)
            if not plan.empty:
                await self._undoing_claim(dataset, changed, self._tabular.migrate_table(changed, plan))
        else:
            if renames:
                raise InvalidInput("renames apply to tabular datasets only", field="renames")
            graph_schema: GraphSchema = parse_graph_schema(schema)
            changed = replace(dataset, schema=graph_schema, updated_at=now)
            await self._claim(dataset, changed, if_match)
            await self._undoing_claim(dataset, changed, self._graph.migrate_graph(dataset, changed))
        return changed

    async def _claim(self, before: Dataset, after: Dataset, if_match: IfMatch | None) -> None:
        if await self._catalog.update_dataset(after, expected_schema=before.schema):
            return
        current = await self._catalog.get_dataset(before.owner_id, before.session_id, before.id)
        if current is None:
            raise NotFound(f"no dataset {before.id!r} in this session", parameter="dataset_id")
        if if_match is not None:
            raise PreconditionFailed(f"the dataset {current.name!r} has changed since the tag given in If-Match")
        raise Conflict(f"the dataset {current.name!r} was changed by another migration meanwhile; read it and retry")

    async def _undoing_claim(self, before: Dataset, after: Dataset, store_change: Awaitable[None]) -> None:
        try:
            await store_change
        except BaseException:
            await self._catalog.update_dataset(before, expected_schema=after.schema)
            raise

    async def delete(self, user: User, session_id: str, dataset_id: str) -> None:
        dataset = await self.get(user, session_id, dataset_id)
        if dataset.kind is DatasetKind.TABULAR:
            await self._tabular.drop_table(dataset)
        else:
            await self._graph.drop_graph(dataset)
        await self._catalog.remove_dataset(user.id, session_id, dataset.id)

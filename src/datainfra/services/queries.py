"""The query endpoint: one SQL statement over a session, one Cypher query over a graph dataset, or a
structured query compiled by us. The request arrives typed and checked (domain.query_requests, decoded
at the HTTP edge); this service resolves whose session and which dataset it runs over; the runners
(adapters) enforce isolation in the stores themselves."""

from __future__ import annotations

from datainfra.domain.errors import InvalidRequest, NotFound
from datainfra.domain.model import Dataset, DatasetKind, User
from datainfra.domain.ports.query_runners import CypherQueryRunner, SqlQueryRunner
from datainfra.domain.ports.tabular_store import TabularStore
from datainfra.domain.queries import QueryResult
from datainfra.domain.query_requests import CypherRequest, QueryRequest, StructuredRequest
from datainfra.domain.structured_plan import resolve_structured
from datainfra.services.datasets import DatasetService


class QueryService:
    def __init__(
        self, datasets: DatasetService, sql: SqlQueryRunner, cypher: CypherQueryRunner, tabular: TabularStore
    ) -> None:
        self._datasets = datasets
        self._sql = sql
        self._cypher = cypher
        self._tabular = tabular

    async def run(self, user: User, session_id: str, request: QueryRequest) -> QueryResult:
        """Run `request` (already checked for shape and limits) over `user`'s session `session_id`."""
        if isinstance(request, CypherRequest):
            dataset = await self.graph_dataset(user, session_id, request.dataset)
            return await self.run_cypher(dataset, request)
        session = await self._datasets.session(user, session_id)
        if isinstance(request, StructuredRequest):
            if not request.limits.read_only:
                raise InvalidRequest("structured queries only read", field="read_only")
            datasets = {d.name: d for d in await self._datasets.list(user, session_id)}
            plan = resolve_structured(request.query, datasets)
            return await self._tabular.run_structured(plan, request.limits)
        return await self._sql.run_sql(session, request.text, request.parameters, request.limits)

    async def run_cypher(self, dataset: Dataset, request: CypherRequest) -> QueryResult:
        """`request` over `dataset`, already resolved (`graph_dataset`, or facts cached and checked
        alongside a read-only query: services/guarded_reads.py)."""
        return await self._cypher.run_cypher(dataset, request.text, request.parameters, request.limits)

    async def graph_dataset(self, user: User, session_id: str, ref: str) -> Dataset:
        """The graph dataset named by id or by name; a missing session is named before a missing dataset."""
        dataset = await self._datasets.find(user, session_id, ref)
        if dataset is None:
            await self._datasets.session(user, session_id)
            raise NotFound(f"this session has no dataset {ref!r}", field="dataset")
        if dataset.kind is not DatasetKind.GRAPH:
            raise InvalidRequest(f'dataset {dataset.name!r} is tabular: query it with language "sql"', field="dataset")
        return dataset

"""The query endpoint: one SQL statement over a session, one Cypher query over a graph dataset, or a
structured query compiled by us. This service checks what the request says and whose session it
is; the runners (adapters) enforce isolation in the stores themselves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from datainfra.domain.errors import InvalidRequest, NotFound
from datainfra.domain.model import Dataset, DatasetKind, User
from datainfra.domain.ports.query_runners import CypherQueryRunner, SqlQueryRunner
from datainfra.domain.ports.tabular_store import TabularStore
from datainfra.domain.queries import (
    QueryLanguage,
    QueryLimits,
    QueryResult,
    check_query_text,
    cypher_parameters,
    sql_parameters,
)
from datainfra.domain.structured_plan import resolve_structured
from datainfra.domain.structured_query import parse_structured_query
from datainfra.services.datasets import DatasetService

_COMMON = frozenset({"language", "read_only", "timeout_ms", "max_rows"})
_RAW = {
    QueryLanguage.SQL: _COMMON | {"query", "parameters"},
    QueryLanguage.CYPHER: _COMMON | {"query", "parameters", "dataset"},
}


class QueryService:
    def __init__(
        self, datasets: DatasetService, sql: SqlQueryRunner, cypher: CypherQueryRunner, tabular: TabularStore
    ) -> None:
        self._datasets = datasets
        self._sql = sql
        self._cypher = cypher
        self._tabular = tabular

    async def run(self, user: User, session_id: str, body: Mapping[str, Any]) -> QueryResult:
        session = await self._datasets.session(user, session_id)
        language = _language(body.get("language"))
        limits = QueryLimits.of(
            read_only=body.get("read_only"), timeout_ms=body.get("timeout_ms"), max_rows=body.get("max_rows")
        )
        if language is QueryLanguage.STRUCTURED:
            if body.get("read_only") is False:
                raise InvalidRequest("structured queries only read", field="read_only")
            datasets = {d.name: d for d in await self._datasets.list(user, session_id)}
            plan = resolve_structured(parse_structured_query(body), datasets)
            return await self._tabular.run_structured(plan, limits)
        _refuse_unknown_keys(body, _RAW[language])
        text = check_query_text(body.get("query"))
        if language is QueryLanguage.SQL:
            if "dataset" in body:
                raise InvalidRequest(
                    "SQL sees every tabular dataset of the session by name; `dataset` is for Cypher", field="dataset"
                )
            return await self._sql.run_sql(session, text, sql_parameters(body.get("parameters")), limits)
        parameters = cypher_parameters(body.get("parameters"))
        dataset = await self._graph_dataset(user, session_id, body.get("dataset"))
        return await self._cypher.run_cypher(dataset, text, parameters, limits)

    async def _graph_dataset(self, user: User, session_id: str, ref: Any) -> Dataset:
        if not isinstance(ref, str) or not ref:
            raise InvalidRequest(
                "Cypher runs against one graph dataset: give its name or id as `dataset`", field="dataset"
            )
        for dataset in await self._datasets.list(user, session_id):
            if ref in (dataset.name, dataset.id):
                if dataset.kind is not DatasetKind.GRAPH:
                    raise InvalidRequest(
                        f'dataset {dataset.name!r} is tabular: query it with language "sql"', field="dataset"
                    )
                return dataset
        raise NotFound(f"this session has no dataset {ref!r}", field="dataset")


def _language(value: Any) -> QueryLanguage:
    try:
        return QueryLanguage(value)
    except ValueError:
        choices = ", ".join(f'"{lang.value}"' for lang in QueryLanguage)
        raise InvalidRequest(f"language must be one of {choices}", field="language") from None


def _refuse_unknown_keys(body: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidRequest(
            f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}", field=unknown[0]
        )

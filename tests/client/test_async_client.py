"""The async client over the same API: the calls a user awaits, the lazy `async for` pages, exports,
DataFrames, graphs and typed problems."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from datainfra_client import AsyncClient, NotFound, ValidationError

from tests.fuzz.api_process import RunningApi

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]

SCHEMA = {
    "columns": [{"name": "id", "type": "integer", "nullable": False}, {"name": "day", "type": "date"}],
    "primary_key": ["id"],
}


def test_the_async_client_does_what_the_sync_one_does(api: RunningApi, api_key: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with AsyncClient(api.base_url, api_key) as client:
            session = (await client.create_session("async")).id
            table = (await client.create_dataset(session, "days", SCHEMA)).id
            source = tmp_path / "days.csv"
            source.write_text("id,day\n" + "".join(f"{n},2024-01-{n:02d}\n" for n in range(1, 29)))
            assert (await client.insert(session, table, source)).inserted == 28
            assert (await client.upsert(session, table, [{"id": 1, "day": "2025-01-01"}])).updated == 1

            later = [r["id"] async for r in client.records(session, table, {"day": "gte:2024-01-20"}, page_size=3)]
            assert later == [1, *range(20, 29)]
            found = [r["id"] async for r in client.search(session, table, {"id": {"in": [2, 3]}}, page_size=1)]
            assert found == [2, 3]

            frame = await client.to_pandas(session, table, {"id": "lte:2"})
            assert [str(d) for d in frame["day"]] == ["2025-01-01", "2024-01-02"]
            buffer = io.BytesIO()
            await client.export(session, table, buffer, "csv", {"id": 2})
            assert buffer.getvalue().splitlines() == [b"id,day", b"2,2024-01-02"]
            result = await client.sql(session, "SELECT count(*) AS n FROM days")
            assert result.rows == [[28]]

            graph = (await client.create_dataset(session, "g", kind="graph")).id
            await client.write_graph(
                session,
                graph,
                nodes=[{"id": "x", "labels": ["N"]}, {"id": "y", "labels": ["N"]}],
                edges=[{"source": "x", "target": "y", "type": "TO"}],
            )
            assert (await client.shortest_path(session, graph, "x", "y")).length == 1
            assert [d["id"] async for d in client.degree(session, graph, page_size=1)] == ["x", "y"]
            assert (await client.to_networkx(session, graph)).number_of_edges() == 1

            with pytest.raises(ValidationError) as invalid:
                await client.insert(session, table, [{"id": 99, "day": "someday"}])
            assert (invalid.value.field, invalid.value.index) == ("day", 0)
            await client.delete_session(session)
            with pytest.raises(NotFound):
                await client.get_session(session)

    asyncio.run(scenario())

"""`pipelined_begin` rests on the driver's private switch: these fail if a driver upgrade moves it."""

from __future__ import annotations

import neo4j
import pytest

from datainfra.adapters.neo4j.driver import pipelined_begin


@pytest.mark.asyncio
async def test_a_session_pipelines_its_begin_only_inside_the_block() -> None:
    driver = neo4j.AsyncGraphDatabase.driver("bolt://127.0.0.1:9", auth=("neo4j", "unused"))
    try:
        session = driver.session(database="neo4j")
        assert not session._pipelined_begin
        with pipelined_begin(session):
            assert session._pipelined_begin
        assert not session._pipelined_begin
        await session.close()
    finally:
        await driver.close()

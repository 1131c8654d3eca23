"""In-process comparison of the records GET (no HTTP server, no load generator): the app's ASGI
callable driven directly, fast path on and off, against the equivalent raw psycopg SELECT on the
same pool, interleaved round by round so a noisy machine slows all three alike.

    PYTHONPATH=src:. python -m bench.get_micro   (BENCH_MICRO_N requests per variant and round)

Starts a throwaway embedded PostgreSQL (or uses DATAINFRA_TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
import uuid
from typing import Any

import msgspec
from dependency_injector import providers
from psycopg import sql
from tests.support.postgres_server import postgres_url_for_tests

from bench.tabular import make_rows, page_select, shape
from datainfra.adapters.http.app import create_app
from datainfra.adapters.postgres.catalog import PostgresCatalog
from datainfra.adapters.postgres.client_sql.roles import PostgresUserRoles
from datainfra.adapters.postgres.identifiers import session_schema_name
from datainfra.adapters.postgres.migrations import migrate_catalog
from datainfra.adapters.postgres.page_json import PostgresJsonPages, json_page_statement
from datainfra.adapters.postgres.pool import PostgresSettings, close_pool, open_pool
from datainfra.adapters.postgres.tabular_store import PostgresTabularStore
from datainfra.config import Settings
from datainfra.containers import build_memory_container
from datainfra.domain.auth import hash_api_key
from datainfra.domain.filters import parse_filters
from datainfra.domain.ports import PageGuard
from datainfra.domain.query import RecordQuery, SortKey

ROWS = 20_000
GROUPS = 200


async def call(
    app: Any, method: str, path: str, query: bytes, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> tuple[int, bytes]:
    status = 0
    chunks: list[bytes] = []
    sent = False

    async def receive() -> Any:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)

    async def send(message: Any) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": [(b"host", b"bench"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    await app(scope, receive, send)
    return status, b"".join(chunks)


async def main(url: str) -> None:
    n = int(os.environ.get("BENCH_MICRO_N", "300"))
    rounds = int(os.environ.get("BENCH_MICRO_ROUNDS", "5"))
    container = build_memory_container(Settings(access_log=False))
    app = create_app(container)  # type: ignore[arg-type]
    settings = PostgresSettings(url=url, min_size=2, max_size=4)
    pool = await open_pool(settings)
    schema = f"catalog_micro_{uuid.uuid4().hex[:8]}"
    await migrate_catalog(pool, schema)
    roles = PostgresUserRoles(pool, catalog_schema=schema)
    container.catalog.override(providers.Object(PostgresCatalog(pool, schema=schema)))
    container.user_roles.override(providers.Object(roles))
    container.tabular_store.override(providers.Object(PostgresTabularStore(pool, roles)))
    container.json_pages.override(providers.Object(PostgresJsonPages(pool, catalog_schema=schema)))
    asgi = app  # the whole stack: observability, conventions, fast path, Litestar
    dec = msgspec.json.Decoder()
    status, body = await call(asgi, "POST", "/users", b"", [])
    key = dec.decode(body)["api_key"]
    auth = [(b"x-api-key", key.encode()), (b"content-type", b"application/json")]
    status, body = await call(asgi, "POST", "/sessions", b"", auth, b'{"name":"micro"}')
    session_id = dec.decode(body)["id"]
    ds = msgspec.json.encode({"name": "bench_csv", "kind": "tabular", "schema": shape(("grp", "id")).api_schema})
    status, body = await call(asgi, "POST", f"/sessions/{session_id}/datasets", b"", auth, ds)
    dataset_id = dec.decode(body)["id"]
    rows = make_rows(ROWS, GROUPS, 1)
    cols = ("id", "name", "grp", "score", "flag", "day")
    records = msgspec.json.encode({"records": [dict(zip(cols, r, strict=True)) for r in rows]})
    status, body = await call(asgi, "POST", f"/sessions/{session_id}/datasets/{dataset_id}/records", b"", auth, records)
    assert status == 201, body
    table = sql.Identifier(session_schema_name(session_id), "bench_csv")
    async with pool.connection() as conn:
        await conn.execute(sql.SQL("ANALYZE {}").format(table))
    statement, fetch = page_select(table, 50)
    path = f"/sessions/{session_id}/datasets/{dataset_id}/records"
    rng = random.Random(2)
    get_headers = [(b"x-api-key", key.encode())]

    async def api() -> None:
        status, body = await call(asgi, "GET", path, f"grp=eq:{rng.randrange(GROUPS)}&limit=50".encode(), get_headers)
        assert status == 200, body

    async def raw() -> None:
        async with pool.connection() as conn:
            cur = await conn.execute(statement, [rng.randrange(GROUPS), fetch, 0])
            await cur.fetchall()

    catalog = container.catalog()
    user = await catalog.user_for_key(hash_api_key(key))
    assert user is not None
    dataset = await catalog.get_dataset(user.id, session_id, dataset_id)
    assert dataset is not None
    page_query = RecordQuery(
        filter=parse_filters([("grp", "eq:1")], dataset.tabular_schema.field_types), sort=(SortKey("id"),), limit=50
    )
    async with pool.connection() as conn:
        unicode_ilike = conn.info.server_version >= 170000
        json_text = json_page_statement(dataset, page_query, schema, unicode_ilike=unicode_ilike)[0].as_bytes(conn)
    guard_params = PostgresJsonPages(pool, catalog_schema=schema)._guard_params(PageGuard(hash_api_key(key), dataset))

    async def json_only() -> None:
        async with pool.connection() as conn:
            cur = await conn.execute(json_text, [*guard_params, 50, 50, rng.randrange(GROUPS), 51, 0])
            await cur.fetchall()

    fast_on = container.record_pages
    results: dict[str, list[float]] = {"fast": [], "slow": [], "raw": [], "json": []}
    cpu: dict[str, list[float]] = {"fast": [], "slow": [], "raw": [], "json": []}
    run = {"raw": raw, "json": json_only}
    for _ in range(rounds):
        for name in os.environ.get("BENCH_MICRO_ONLY", "fast,slow,raw,json").split(","):
            if name == "slow":
                ctx = fast_on.override(providers.Object(None))
            for _ in range(20):
                await run.get(name, api)()
            began, began_cpu = time.perf_counter(), time.process_time()
            for _ in range(n):
                await run.get(name, api)()
            results[name].append((time.perf_counter() - began) / n * 1000)
            cpu[name].append((time.process_time() - began_cpu) / n * 1000)
            if name == "slow":
                ctx.__exit__(None, None, None)  # type: ignore[attr-defined]
    results = {k: v for k, v in results.items() if v}
    cpu = {k: v for k, v in cpu.items() if v}
    if "raw" not in results:
        print(results, cpu)
        await close_pool(pool)
        return
    for name, values in results.items():
        print(f"{name:5s} ms/request: median {statistics.median(values):.3f}  all {[round(v, 3) for v in values]}")
    for name, values in cpu.items():
        print(f"{name:5s} CPU ms/request (this process): median {statistics.median(values):.3f}")
    raw_ms = statistics.median(results["raw"])
    ratios = {name: raw_ms / statistics.median(values) for name, values in results.items() if name != "raw"}
    print("rate vs raw: " + ", ".join(f"{name} {ratio:.2f}x" for name, ratio in ratios.items()))
    await close_pool(pool)


if __name__ == "__main__":
    with postgres_url_for_tests() as url:
        asyncio.run(main(url))

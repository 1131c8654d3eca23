"""The two-tenant world the security corpus attacks, and the checks every case makes.

Two users (API keys from POST /users): the VICTIM owns two sessions full of marker data (a secret
string in table rows, node and edge properties; marker words in a table name, labels and a
relationship type); the ATTACKER owns one session with look-alike datasets (same dataset names,
same labels, same node ids) holding its own, different marker. Every hostile request is sent by
the attacker in its own session; afterwards the victim's data must be exactly as it was, both as
the API shows it and as the stores hold it (PostgreSQL rows, roles, grants and catalog secrets;
Neo4j nodes and relationships of the victim's namespaces).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import neo4j
import psycopg
from httpx import Response
from litestar.testing import TestClient
from psycopg import sql

from datainfra.adapters.neo4j.namespacing import Namespace
from datainfra.adapters.postgres.identifiers import session_schema_name, user_role_name
from tests.support.real_app import real_app_client
from tests.unit.http.api import PROBLEM_JSON, create_dataset, create_session, dataset_url, walk

# -- markers ---------------------------------------------------------------------------------------
# The victim's secret value: never in any attacker request, so it must never be in any response.
VICTIM_SECRET = "zebra-victim-secret-7391"
# Every name the victim chose holds "zebra" (table, column, label, type, property); attacker
# requests only name these where a case says so, and otherwise "zebra" must never come back.
VICTIM_WORD = "zebra"
ATTACKER_SECRET = "otter-attacker-own-5517"

INTERNAL_NAME = re.compile(r"\b[su]_[0-9a-f]{32}\b")
NAMESPACE_NAME = re.compile(r"\b(?:[DR]_[0-9a-f]{32}|L_[0-9a-f]{32}__\w+|datainfra_[0-9a-f]{32}_\w*)")

PEOPLE = {
    "columns": [
        {"name": "name", "type": "text", "nullable": False},
        {"name": "age", "type": "integer"},
        {"name": "note", "type": "text"},
    ]
}
ORDERS = {
    "columns": [
        {"name": "person", "type": "text", "nullable": False},
        {"name": "total", "type": "numeric", "nullable": False},
        {"name": "placed", "type": "date"},
    ]
}
VAULT = {"columns": [{"name": "zebra_secret", "type": "text", "nullable": False}]}


def graph_schema(extra_label: str | None = None, extra_type: str | None = None) -> dict[str, Any]:
    labels: list[dict[str, Any]] = [
        {"name": "Person", "properties": [{"name": "name", "type": "text"}, {"name": "age", "type": "integer"}]},
        {"name": "City", "properties": [{"name": "name", "type": "text"}]},
    ]
    types: list[dict[str, Any]] = [
        {"name": "KNOWS", "properties": [{"name": "since", "type": "integer"}]},
        {"name": "LIVES_IN", "properties": []},
    ]
    if extra_label:
        labels.append({"name": extra_label, "properties": [{"name": "zebra_prop", "type": "text"}]})
    if extra_type:
        types.append({"name": extra_type, "properties": []})
    return {"node_labels": labels, "relationship_types": types}


@dataclass
class Tenant:
    name: str
    user_id: str
    auth: dict[str, str]
    sid: str
    people: str
    orders: str
    graph: str
    """The graph dataset's id (its name is "social")."""
    extra: dict[str, str] = field(default_factory=dict)
    """More of the tenant's ids: "sid2", "people2", "graph2", "vault"."""

    @property
    def role(self) -> str:
        return user_role_name(self.user_id)

    @property
    def schema(self) -> str:
        return session_schema_name(self.sid)

    def sessions(self) -> list[str]:
        return [self.sid] + ([self.extra["sid2"]] if "sid2" in self.extra else [])

    def graphs(self) -> list[str]:
        return [self.graph] + ([self.extra["graph2"]] if "graph2" in self.extra else [])

    def namespaces(self) -> list[Namespace]:
        return [Namespace.of(g) for g in self.graphs()]

    def ids(self) -> list[str]:
        """Every id of this tenant the other one must never see (unless it typed it)."""
        return [self.user_id, *self.sessions(), self.people, self.orders, *self.graphs(), *self.extra.values()]


@dataclass
class World:
    client: TestClient[Any]
    attacker: Tenant
    victim: Tenant
    postgres_url: str
    catalog_schema: str
    neo4j_endpoint: Any
    service_role: str
    pg: psycopg.Connection[Any]
    """The service's own (superuser) connection, to read what PostgreSQL holds."""
    graph_driver: neo4j.Driver
    """A driver of our own, to read what Neo4j holds."""


def _post_ok(client: TestClient[Any], url: str, body: Any, auth: dict[str, str]) -> Any:
    response = client.post(url, json=body, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


def _fill(client: TestClient[Any], tenant_name: str, auth: dict[str, str], sid: str, secret: str) -> dict[str, str]:
    people = create_dataset(client, auth, sid, "people", PEOPLE)
    orders = create_dataset(client, auth, sid, "orders", ORDERS)
    is_victim = tenant_name == "victim"
    graph = create_dataset(
        client,
        auth,
        sid,
        "social",
        graph_schema("ZebraLabel" if is_victim else None, "ZEBRA_REL" if is_victim else None),
        kind="graph",
    )
    rows = [
        {"name": "ada", "age": 36, "note": secret},
        {"name": "bob", "age": 28, "note": f"{secret} (bob)"},
        {"name": "cy", "age": None, "note": None},
    ]
    _post_ok(client, f"{dataset_url(sid, people)}/records", {"records": rows}, auth)
    orders_rows = [
        {"person": "ada", "total": "10.10", "placed": "2024-01-02"},
        {"person": "ada", "total": "5", "placed": None},
        {"person": "bob", "total": "1", "placed": "2024-03-04"},
    ]
    _post_ok(client, f"{dataset_url(sid, orders)}/records", {"records": orders_rows}, auth)
    nodes: list[dict[str, Any]] = [
        {"id": "a", "labels": ["Person"], "properties": {"name": "ada", "age": 36, "secret": secret}},
        {"id": "b", "labels": ["Person"], "properties": {"name": "bob", "age": 28}},
        {"id": "c", "labels": ["City"], "properties": {"name": "paris", "secret": secret}},
        {"id": 0, "labels": ["Person"], "properties": {"name": "zero"}},
    ]
    edges: list[dict[str, Any]] = [
        {"id": "e1", "source": "a", "target": "b", "type": "KNOWS", "properties": {"since": 2001, "secret": secret}},
        {"id": "e2", "source": "b", "target": "c", "type": "LIVES_IN", "properties": {}},
        {"id": "e3", "source": "a", "target": "c", "type": "LIVES_IN", "properties": {}},
    ]
    if is_victim:
        nodes.append({"id": "zebra-node", "labels": ["ZebraLabel", "Person"], "properties": {"zebra_prop": secret}})
        edges.append({"id": "zebra-edge", "source": "zebra-node", "target": "a", "type": "ZEBRA_REL"})
    for item in (*nodes, *edges):  # the key also as the property `id`, which is what Cypher's `n.id` reads
        item.setdefault("properties", {})["id"] = str(item["id"])
    _post_ok(client, f"{dataset_url(sid, graph)}/records", {"nodes": nodes, "edges": edges}, auth)
    return {"people": people, "orders": orders, "graph": graph}


def build_tenant(client: TestClient[Any], name: str) -> Tenant:
    response = client.post("/users")
    assert response.status_code == 201, response.text
    user_id, auth = response.json()["user_id"], {"X-API-Key": response.json()["api_key"]}
    secret = VICTIM_SECRET if name == "victim" else ATTACKER_SECRET
    sid = create_session(client, auth, name=f"{name}-main")
    ids = _fill(client, name, auth, sid, secret)
    tenant = Tenant(name, user_id, auth, sid, ids["people"], ids["orders"], ids["graph"])
    if name == "victim":
        sid2 = create_session(client, auth, name="zebra-second")
        people2 = create_dataset(client, auth, sid2, "people", PEOPLE)
        _post_ok(
            client, f"{dataset_url(sid2, people2)}/records", {"records": [{"name": "ada", "note": VICTIM_SECRET}]}, auth
        )
        vault = create_dataset(client, auth, sid2, "zebra_vault", VAULT)
        _post_ok(client, f"{dataset_url(sid2, vault)}/records", {"records": [{"zebra_secret": VICTIM_SECRET}]}, auth)
        graph2 = create_dataset(client, auth, sid2, "social", graph_schema("ZebraLabel"), kind="graph")
        _post_ok(
            client,
            f"{dataset_url(sid2, graph2)}/records",
            {"nodes": [{"id": "a", "labels": ["ZebraLabel"], "properties": {"id": "a", "zebra_prop": VICTIM_SECRET}}]},
            auth,
        )
        tenant.extra = {"sid2": sid2, "people2": people2, "vault": vault, "graph2": graph2}
    return tenant


@contextmanager
def two_tenant_world(postgres_runtime: Any, neo4j_runtime: Any) -> Iterator[World]:
    with real_app_client(postgres_runtime, neo4j_runtime) as client:
        victim = build_tenant(client, "victim")
        attacker = build_tenant(client, "attacker")
        url = postgres_runtime.url()
        endpoint = neo4j_runtime.endpoint()
        with (
            psycopg.connect(url, autocommit=True) as conn,
            neo4j.GraphDatabase.driver(endpoint.uri, auth=(endpoint.user, endpoint.password)) as driver,
        ):
            service_role = str(conn.execute("SELECT current_user").fetchone()[0])  # type: ignore[index]
            schemas = conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'catalog\\_test\\_%' ORDER BY 1"
            ).fetchall()
            catalog = _catalog_of(conn, [str(r[0]) for r in schemas], victim.sid)
            world = World(client, attacker, victim, url, catalog, endpoint, service_role, conn, driver)
            for tenant in (victim, attacker):  # the first query prepares the user's role: do it now
                response, _ = send(world, "sql", "SELECT count(*) FROM people", tenant=tenant)
                assert response.status_code == 200 and response.json()["rows"] == [[3]], response.text
            try:
                yield world
            finally:  # leave a shared server as it was found: schemas and graphs go with their sessions
                for tenant in (victim, attacker):
                    for sid in tenant.sessions():
                        client.delete(f"/sessions/{sid}", headers=tenant.auth)


def _catalog_of(conn: psycopg.Connection[Any], schemas: list[str], session_id: str) -> str:
    for schema in schemas:
        query = sql.SQL("SELECT 1 FROM {}.sessions WHERE id = %s").format(sql.Identifier(schema))
        if conn.execute(query, (session_id,)).fetchone():
            return schema
    raise AssertionError("the test catalog schema holding the victim's session was not found")


# -- snapshots -------------------------------------------------------------------------------------


def api_snapshot(
    client: TestClient[Any], tenant: Tenant, *, full: bool = True, kinds: tuple[str, ...] = ("tabular", "graph")
) -> dict[str, Any]:
    """Everything the tenant's own key shows of its data: sessions, datasets with their schemas,
    every record, node and edge (and, when `full`, each dataset read alone with its count)."""
    auth = tenant.auth
    sessions = client.get("/sessions", headers=auth)
    assert sessions.status_code == 200, sessions.text
    snap: dict[str, Any] = {"sessions": sessions.json()}
    for sid in tenant.sessions():
        listing = client.get(f"/sessions/{sid}/datasets", headers=auth)
        assert listing.status_code == 200, listing.text
        snap[f"{sid}/datasets"] = listing.json()
        for dataset in listing.json()["items"]:
            url = dataset_url(sid, dataset["id"])
            if full:
                one = client.get(url, headers=auth)
                assert one.status_code == 200, one.text
                snap[url] = one.json()
            if dataset["kind"] not in kinds:
                continue
            if dataset["kind"] == "tabular":
                snap[f"{url}/records"] = [p["items"] for p in walk(client, auth, f"{url}/records?limit=1000")]
            else:
                snap[f"{url}/nodes"] = [p["items"] for p in walk(client, auth, f"{url}/nodes?limit=1000")]
                snap[f"{url}/edges"] = [p["items"] for p in walk(client, auth, f"{url}/edges?limit=1000")]
    return snap


def _postgres_snapshot(world: World, tenant: Tenant) -> dict[str, Any]:
    """The relations, grants and rows of the tenant's session schemas; its role's attributes,
    settings and memberships; the catalog's secret, its key hashes and dataset rows."""
    conn = world.pg
    snap: dict[str, Any] = {}
    for sid in tenant.sessions():
        schema = session_schema_name(sid)
        relations = conn.execute(
            "SELECT c.relname, c.relkind::text, c.relacl::text, c.relowner::regrole::text FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s ORDER BY 1",
            (schema,),
        ).fetchall()
        snap[f"{schema}/relations"] = relations
        snap[f"{schema}/columns"] = conn.execute(
            "SELECT c.relname, a.attname, a.atttypid::regtype::text FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, 2",
            (schema,),
        ).fetchall()
        snap[f"{schema}/namespace"] = conn.execute(
            "SELECT nspacl::text, nspowner::regrole::text FROM pg_namespace WHERE nspname = %s", (schema,)
        ).fetchall()
        for name, kind, _, _ in relations:
            if kind == "r":
                table = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(name))
                rows = conn.execute(sql.SQL("SELECT t::text FROM {} t ORDER BY 1").format(table)).fetchall()
                snap[f"{schema}.{name}"] = [r[0] for r in rows]
    snap["role"] = conn.execute(
        "SELECT rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls, "
        "rolconnlimit, rolvaliduntil::text, rolconfig::text FROM pg_roles WHERE rolname = %s",
        (tenant.role,),
    ).fetchall()
    snap["memberships"] = conn.execute(
        "SELECT r.rolname, m.rolname FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid "
        "JOIN pg_roles m ON m.oid = a.member WHERE r.rolname = %s OR m.rolname = %s ORDER BY 1, 2",
        (tenant.role, tenant.role),
    ).fetchall()
    snap["role_settings"] = conn.execute(
        "SELECT s.setconfig::text FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = %s",
        (tenant.role,),
    ).fetchall()
    catalog = sql.Identifier(world.catalog_schema)
    snap["secrets"] = conn.execute(sql.SQL("SELECT name, value FROM {}.secrets ORDER BY 1").format(catalog)).fetchall()
    snap["keys"] = conn.execute(
        sql.SQL("SELECT key_hash, revoked_at::text FROM {}.api_keys WHERE user_id = %s ORDER BY 1").format(catalog),
        (tenant.user_id,),
    ).fetchall()
    snap["catalog"] = conn.execute(
        sql.SQL(
            "SELECT d.id, d.session_id, d.name, d.kind, d.definition::text, s.name, s.description "
            "FROM {0}.datasets d JOIN {0}.sessions s ON s.id = d.session_id WHERE d.owner_id = %s ORDER BY 1"
        ).format(catalog),
        (tenant.user_id,),
    ).fetchall()
    return snap


def _neo4j_snapshot(world: World, tenant: Tenant, *, schema: bool = True) -> dict[str, Any]:
    """Every node wearing a label of the tenant's namespaces (its dataset labels, namespaced client
    labels, with or without the dataset label), every relationship of its types or touching such a
    node (so an edge someone drew to it from outside shows up), and the schema objects named
    after its namespaces: element ids, labels, types and properties."""
    driver = world.graph_driver
    hexes = [ns.hex for ns in tenant.namespaces()]

    def rows(query: str, **params: Any) -> list[tuple[Any, ...]]:
        records, _, _ = driver.execute_query(query, params, database_="neo4j")
        return [tuple(json.dumps(v, sort_keys=True, default=str) for v in r.values()) for r in records]

    mine = "any(l IN labels({v}) WHERE any(h IN $hexes WHERE l CONTAINS h))"
    snap: dict[str, Any] = {
        "nodes": rows(
            f"MATCH (n) WHERE {mine.format(v='n')} "
            "RETURN elementId(n) AS id, labels(n) AS labels, properties(n) AS props ORDER BY id",
            hexes=hexes,
        ),
        "edges": rows(
            f"MATCH (a)-[r]->(b) WHERE any(h IN $hexes WHERE type(r) CONTAINS h) OR {mine.format(v='a')} "
            f"OR {mine.format(v='b')} RETURN elementId(r) AS id, type(r) AS type, elementId(a) AS a, "
            "elementId(b) AS b, properties(r) AS props ORDER BY id",
            hexes=hexes,
        ),
    }
    if schema:
        snap["indexes"] = rows(
            "SHOW INDEXES YIELD name, type, labelsOrTypes, properties "
            "WHERE any(h IN $hexes WHERE name CONTAINS h OR any(l IN coalesce(labelsOrTypes, []) WHERE l CONTAINS h)) "
            "RETURN name, type, labelsOrTypes, properties ORDER BY name",
            hexes=hexes,
        )
        snap["constraints"] = rows(
            "SHOW CONSTRAINTS YIELD name, type, labelsOrTypes, properties "
            "WHERE any(h IN $hexes WHERE name CONTAINS h OR any(l IN coalesce(labelsOrTypes, []) WHERE l CONTAINS h)) "
            "RETURN name, type, labelsOrTypes, properties ORDER BY name",
            hexes=hexes,
        )
    return snap


class Guarded:
    """Snapshots of a tenant, taken when made and compared by `assert_unchanged`: what its own key
    shows through the API (of the dataset `kinds` given; none: no API snapshot), and what the
    `stores` ("postgres", "neo4j") hold for it. `full` adds each dataset read alone (with its
    record count) and Neo4j's schema objects."""

    def __init__(
        self,
        world: World,
        tenant: Tenant,
        *,
        kinds: tuple[str, ...] = ("tabular", "graph"),
        stores: tuple[str, ...] = ("postgres", "neo4j"),
        full: bool = False,
    ) -> None:
        self.world = world
        self.tenant = tenant
        self.kinds = kinds
        self.stores = stores
        self.full = full
        self.snapshot = self.take()

    def take(self) -> dict[str, Any]:
        snap: dict[str, Any] = {}
        if self.kinds:
            snap["api"] = api_snapshot(self.world.client, self.tenant, full=self.full, kinds=self.kinds)
        if "postgres" in self.stores:
            snap["postgres"] = _postgres_snapshot(self.world, self.tenant)
        if "neo4j" in self.stores:
            snap["neo4j"] = _neo4j_snapshot(self.world, self.tenant, schema=self.full)
        return snap

    def assert_unchanged(self) -> None:
        now = self.take()
        for part, before in self.snapshot.items():
            after = now[part]
            changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            assert not changed, f"the {self.tenant.name}'s {part} data changed: {changed}"


# -- requests and the checks every case makes -------------------------------------------------------


def send(
    world: World,
    language: str,
    query: str,
    parameters: Any = None,
    *,
    tenant: Tenant | None = None,
    sid: str | None = None,
    **options: Any,
) -> tuple[Response, float]:
    tenant = tenant or world.attacker
    body: dict[str, Any] = {"language": language, "query": query, **options}
    if parameters is not None:
        body["parameters"] = parameters
    started = time.monotonic()
    response = world.client.post(f"/sessions/{sid or tenant.sid}/query", json=body, headers=tenant.auth)
    return response, time.monotonic() - started


def assert_no_leak(world: World, response: Response, request_text: str) -> None:
    """Nothing of the victim in the response: its secret value, its names (unless the attacker typed
    them), its ids, schema and role names, namespace labels; and no traceback."""
    text = response.text
    lowered = text.lower()
    request_lowered = request_text.lower()
    victim = world.victim
    assert VICTIM_SECRET not in lowered, f"victim secret leaked: {text[:2000]}"
    if VICTIM_WORD not in request_lowered:
        assert VICTIM_WORD not in lowered, f"a victim name leaked: {text[:2000]}"
    for secret_name in [victim.role, *(session_schema_name(s) for s in victim.sessions())]:
        if secret_name not in request_text:
            assert secret_name not in text, f"the victim's internal name {secret_name} leaked: {text[:2000]}"
    for ident in victim.ids():
        if ident not in request_text:
            assert ident not in text, f"a victim id leaked: {text[:2000]}"
    for ns in victim.namespaces():
        if ns.hex not in request_text:
            assert ns.hex not in text, f"the victim's namespace leaked: {text[:2000]}"
    assert "traceback" not in lowered and 'file "' not in lowered, text[:2000]


def assert_clean_problem(response: Response, statuses: set[int]) -> dict[str, Any]:
    assert response.status_code in statuses, f"{response.status_code} not in {sorted(statuses)}: {response.text[:2000]}"
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers["content-type"]
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code
    assert body["title"] and body["detail"] and body["type"]
    return body


def result_text(response: Response) -> str:
    return json.dumps(response.json()["rows"], default=str)

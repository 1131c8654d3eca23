"""One user's whole journey through the API, as a client would make it."""

from __future__ import annotations

from litestar.testing import TestClient


def test_a_user_registers_builds_datasets_queries_pages_changes_and_walks_a_graph(client: TestClient) -> None:
    # register
    registered = client.post("/users")
    assert registered.status_code == 201
    auth = {"X-API-Key": registered.json()["api_key"]}

    # a session
    session = client.post("/sessions", json={"name": "city study", "description": "who lives where"}, headers=auth)
    assert session.status_code == 201
    sid = session.json()["id"]
    assert [s["id"] for s in client.get("/sessions", headers=auth).json()["items"]] == [sid]

    # a tabular dataset
    people = client.post(
        f"/sessions/{sid}/datasets",
        json={
            "name": "people",
            "kind": "tabular",
            "schema": {
                "columns": [
                    {"name": "email", "type": "text"},
                    {"name": "name", "type": "text", "nullable": False},
                    {"name": "age", "type": "integer"},
                    {"name": "joined", "type": "date"},
                ],
                "primary_key": ["email"],
                "indexes": [{"columns": ["age"]}],
            },
        },
        headers=auth,
    )
    assert people.status_code == 201
    table = f"/sessions/{sid}/datasets/{people.json()['id']}"

    # write: JSON, then CSV
    rows = [
        {"email": f"p{i:02d}@x.org", "name": f"Person {i}", "age": None if i % 10 == 0 else 20 + i % 30}
        for i in range(60)
    ]
    assert client.post(f"{table}/records", json={"records": rows}, headers=auth).json() == {
        "inserted": 60,
        "updated": 0,
        "ignored": 0,
    }
    csv = b'email,name,age,joined\nz1@x.org,"Zed, Jr.",33,2020-05-01\nz2@x.org,Zoe,,\n'
    loaded = client.post(f"{table}/records", content=csv, headers={**auth, "content-type": "text/csv"})
    assert loaded.json()["inserted"] == 2
    assert client.get(table, headers=auth).json()["record_count"] == 62

    # filter
    found = client.get(
        f"{table}/records", params=[("age", "gte:30"), ("age", "lt:33"), ("select", "email,age")], headers=auth
    ).json()
    assert all(30 <= r["age"] < 33 and set(r) == {"email", "age"} for r in found["items"])
    assert "Zed, Jr." in [
        r["name"] for r in client.get(f"{table}/records", params={"name": "like:Zed%"}, headers=auth).json()["items"]
    ]

    # page by keyset (sort on the key) until exhausted
    seen: list[str] = []
    page = client.get(f"{table}/records", params={"sort": "email:desc", "limit": 25}, headers=auth).json()
    assert "cursor=" in page["next"]
    while True:
        seen += [r["email"] for r in page["items"]]
        if not page.get("next"):
            break
        page = client.get(page["next"], headers=auth).json()
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == len(set(seen)) == 62

    # page by offset (sort on a nullable column) until exhausted
    ages: list[int | None] = []
    page = client.get(f"{table}/records", params={"sort": "age", "limit": 25, "count": "exact"}, headers=auth).json()
    assert "offset=25" in page["next"]
    assert page["total"] == 62
    while True:
        ages += [r["age"] for r in page["items"]]
        if not page.get("next"):
            break
        page = client.get(page["next"], headers=auth).json()
    known = [a for a in ages if a is not None]
    assert len(ages) == 62
    assert known == sorted(known)
    assert ages[len(known) :] == [None] * (62 - len(known))

    # update by key and by filter
    by_key = client.put(f"{table}/records", json={"records": [{"email": "z2@x.org", "age": 29}]}, headers=auth)
    assert by_key.json() == {"updated": 1}
    by_filter = client.put(f"{table}/records", params={"age": "is:null"}, json={"set": {"age": 0}}, headers=auth)
    assert by_filter.json() == {"updated": 6}
    assert client.get(f"{table}/records", params={"age": "is:null"}, headers=auth).json()["items"] == []

    # migrate: rename a column, keep the data
    schema = client.get(table, headers=auth).json()["schema"]
    schema["columns"] = [{**c, "name": "years"} if c["name"] == "age" else c for c in schema["columns"]]
    schema["indexes"] = [{"columns": ["years"], "unique": False}]
    migrated = client.put(table, json={"schema": schema, "renames": {"age": "years"}}, headers=auth)
    assert migrated.status_code == 200, migrated.text
    z2 = client.get(f"{table}/records", params={"email": "eq:z2@x.org"}, headers=auth).json()["items"][0]
    assert z2["years"] == 29

    # delete by filter
    assert client.delete(f"{table}/records", params={"years": "eq:0"}, headers=auth).json() == {"deleted": 6}
    assert client.get(table, headers=auth).json()["record_count"] == 56

    # a graph dataset
    graph = client.post(
        f"/sessions/{sid}/datasets",
        json={
            "name": "map",
            "kind": "graph",
            "schema": {
                "node_labels": [{"name": "Town", "properties": [{"name": "name", "type": "text"}]}],
                "relationship_types": [{"name": "ROAD", "properties": [{"name": "km", "type": "float"}]}],
            },
        },
        headers=auth,
    )
    assert graph.status_code == 201
    g = f"/sessions/{sid}/datasets/{graph.json()['id']}"
    towns = ["a", "b", "c", "d", "e"]
    roads = [("a", "b", 5), ("b", "c", 5), ("a", "c", 20), ("c", "d", 1), ("d", "e", 1)]
    written = client.post(
        f"{g}/records",
        json={
            "nodes": [{"id": t, "labels": ["Town"], "properties": {"name": t.upper()}} for t in towns],
            "edges": [{"source": s, "target": t, "type": "ROAD", "properties": {"km": km}} for s, t, km in roads],
        },
        headers=auth,
    )
    assert written.status_code == 201

    # neighbours
    around = client.get(f"{g}/nodes/c/neighbors", params={"direction": "both"}, headers=auth).json()
    assert sorted(n["id"] for n in around["nodes"]) == ["a", "b", "d"]
    assert "c" not in [n["id"] for n in around["nodes"]]
    assert len(around["edges"]) == 3

    # shortest paths: by hops and by distance
    hops = client.post(f"{g}/algorithms/shortest_path", json={"source": "a", "target": "e"}, headers=auth).json()
    assert [n["id"] for n in hops["nodes"]] == ["a", "c", "d", "e"]
    assert hops["length"] == 3
    km = client.post(
        f"{g}/algorithms/shortest_path", json={"source": "a", "target": "e", "weight": "km"}, headers=auth
    ).json()
    assert [n["id"] for n in km["nodes"]] == ["a", "b", "c", "d", "e"]
    assert km["cost"] == 12

    # clean up: deleting the session takes its datasets with it
    assert client.delete(f"/sessions/{sid}", headers=auth).status_code == 204
    assert client.get(table, headers=auth).status_code == 404
    assert client.get(g, headers=auth).status_code == 404
    assert client.get("/sessions", headers=auth).json()["items"] == []

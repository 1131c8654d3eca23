"""Fixtures of the security corpus: one app on the real stores per test module, with two tenants
(an attacker and a victim full of marker data; see tests/security/support.py), and snapshots of
both to prove every case left them as they were."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.security.support import Guarded, World, two_tenant_world


@pytest.fixture(scope="module")
def world(tabular_runtime: Any, neo4j_runtime: Any) -> Iterator[World]:
    with two_tenant_world(tabular_runtime, neo4j_runtime) as world:
        yield world


@pytest.fixture(scope="module")
def baseline(world: World) -> dict[str, Guarded]:
    """Full snapshots (API with every dataset read alone, PostgreSQL, Neo4j with schema objects)
    of both tenants before the module's first case; its last test compares them."""
    return {"victim": Guarded(world, world.victim, full=True), "attacker": Guarded(world, world.attacker, full=True)}


GUARDS: dict[str, dict[str, Any]] = {
    # A SQL case cannot reach Neo4j, a Cypher case cannot reach PostgreSQL: per case, each module
    # checks what its language could reach (the victim through the API and the store, the attacker
    # in the store); the module's last test compares everything against the baseline.
    "sql": {"kinds": ("tabular",), "stores": ("postgres",)},
    "cypher": {"kinds": ("graph",), "stores": ("neo4j",)},
    "all": {"kinds": ("tabular", "graph"), "stores": ("postgres", "neo4j")},
}


@pytest.fixture(scope="module")
def guards(world: World, baseline: dict[str, Guarded], request: pytest.FixtureRequest) -> dict[str, Guarded]:
    """The per-case snapshots, for the module's GUARD_SCOPE ("sql", "cypher" or "all")."""
    scope = GUARDS[getattr(request.module, "GUARD_SCOPE", "all")]
    return {
        "victim": Guarded(world, world.victim, **scope),
        "attacker": Guarded(world, world.attacker, kinds=(), stores=scope["stores"]),
    }


@pytest.fixture
def unchanged(guards: dict[str, Guarded]) -> Iterator[None]:
    """After the test: the victim's and the attacker's data exactly as before the module ran."""
    yield
    guards["victim"].assert_unchanged()
    guards["attacker"].assert_unchanged()

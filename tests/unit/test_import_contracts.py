"""The import contracts that keep the query endpoint's rooms apart name their modules one by one
(import-linter's forbidden contracts take no "every module but"), so a new store module must join
its list: otherwise it could import client SQL or client Cypher unseen."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ADAPTERS = ROOT / "src" / "datainfra" / "adapters"


def _contract(name_start: str) -> dict[str, object]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    matching = [c for c in contracts if c["name"].startswith(name_start)]
    assert len(matching) == 1, f"one contract named {name_start!r} expected"
    return matching[0]


def _store_modules(family: str, room: str) -> set[str]:
    package = ADAPTERS / family
    modules = {f"datainfra.adapters.{family}.{p.stem}" for p in package.glob("*.py") if p.stem != "__init__"}
    assert (package / room / "__init__.py").exists()
    return modules


@pytest.mark.parametrize(
    ("family", "room", "contract"),
    [
        ("postgres", "client_sql", "The PostgreSQL stores do not import client SQL"),
        ("neo4j", "client_cypher", "The Neo4j graph store does not import client Cypher"),
    ],
)
def test_every_store_module_is_kept_out_of_the_query_room(family: str, room: str, contract: str) -> None:
    sources = set(_contract(contract)["source_modules"])  # type: ignore[arg-type]
    unlisted = _store_modules(family, room) - sources
    assert not unlisted, f"add {sorted(unlisted)} to the import contract {contract!r} in pyproject.toml"
    assert _contract(contract)["forbidden_modules"] == [f"datainfra.adapters.{family}.{room}"]

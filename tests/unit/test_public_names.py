"""What a package says it exports is what it has: every name in any datainfra module's `__all__`
exists there (and appears once), and the ports package exports every public class its modules define
(each port Protocol and the values those ports take and return), so `from datainfra.domain.ports
import ...` is the one place a reader or an adapter finds them."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import datainfra
import datainfra.domain.ports as ports


def _modules(package: ModuleType) -> list[ModuleType]:
    found = [package]
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
        if info.name.endswith("__main__"):
            continue
        found.append(importlib.import_module(info.name))
    return found


MODULES_WITH_ALL = [module for module in _modules(datainfra) if hasattr(module, "__all__")]


def test_the_walk_finds_the_ports_package() -> None:
    assert ports in MODULES_WITH_ALL


@pytest.mark.parametrize("module", MODULES_WITH_ALL, ids=lambda module: module.__name__)
def test_every_name_in_all_exists_once(module: ModuleType) -> None:
    names = list(module.__all__)
    assert all(isinstance(name, str) for name in names)
    assert len(names) == len(set(names)), f"{module.__name__}.__all__ repeats a name"
    missing = [name for name in names if not hasattr(module, name)]
    assert not missing, f"{module.__name__}.__all__ names what it does not have: {missing}"


PORT_MODULES = [module for module in _modules(ports) if module is not ports]


def test_the_ports_package_exports_every_public_class_of_its_modules() -> None:
    defined = {
        name
        for module in PORT_MODULES
        for name, value in vars(module).items()
        if inspect.isclass(value) and value.__module__ == module.__name__ and not name.startswith("_")
    }
    assert {"Catalog", "TabularStore", "GraphStore", "SqlQueryRunner", "CypherQueryRunner"} <= defined
    unexported = sorted(defined - set(ports.__all__))
    assert not unexported, f"datainfra.domain.ports.__all__ omits {unexported}"
    for name in defined:
        assert getattr(ports, name) is getattr(importlib.import_module(getattr(ports, name).__module__), name)

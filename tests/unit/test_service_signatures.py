"""No service or domain function takes `Any` (issue 13): client JSON arrives as `JsonValue` /
`JsonObject`, a validator that accepts anything takes `object` and narrows with isinstance, a typed
value is a `FieldValue`. This walks every public function, method and constructor of
datainfra.domain.* and datainfra.services.* and fails on a parameter annotated `Any`, whether the
annotation is `Any` itself (after resolving aliases) or spells `Any` inside (`Sequence[Any]`,
`Mapping[str, Any]`), so the signatures cannot drift back.

Named aliases (`Record`, `RecordKey`: a typed record as the stores hold it) are not spelled `Any`
at the call site and pass; narrowing them is separate work.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import typing
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest

import datainfra.domain
import datainfra.domain.types
import datainfra.services

ALLOWED: dict[str, str] = {
    # Condition.value is a typed value, a tuple of them (in/nin), a pattern (like) or an IsValue,
    # depending on `op`; the SQL and Cypher filter builders read it per op. A precise type is a
    # union per op (a tagged Condition), which touches four adapter modules: left for that change.
    "datainfra.domain.filters.Condition.__init__(value)": "its type depends on op",
}
"""`module.qualname(parameter)` → why it may keep `Any`. Keep it short: every entry is a debt."""


def _modules() -> Iterator[ModuleType]:
    for package in (datainfra.domain, datainfra.services):
        yield package
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            yield importlib.import_module(info.name)


def _public_callables(module: ModuleType) -> Iterator[tuple[str, Callable[..., object]]]:
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj):
            yield name, obj
        elif inspect.isclass(obj):
            for member_name, member in vars(obj).items():
                if member_name.startswith("_") and member_name != "__init__":
                    continue
                function = member.__func__ if isinstance(member, classmethod | staticmethod) else member
                if isinstance(function, property):
                    function = function.fget
                if inspect.isfunction(function):
                    yield f"{name}.{member_name}", function


class _Alias:
    """Stands for a string type alias (`JsonValue: TypeAlias = "... | list[JsonValue] | ..."`),
    which `get_type_hints` cannot evaluate: its text is checked for `Any` on its own."""


def _string_aliases() -> dict[str, str]:
    aliases: dict[str, str] = {}
    for module in _modules():
        for name, annotation in getattr(module, "__annotations__", {}).items():
            value = vars(module).get(name)
            if annotation in ("TypeAlias", typing.TypeAlias) and isinstance(value, str):
                aliases[name] = value
    return aliases


def _spells_any(annotation: object) -> bool:
    if not isinstance(annotation, str):
        return annotation is typing.Any or any(_spells_any(arg) for arg in typing.get_args(annotation))
    tree = ast.parse(annotation, mode="eval")
    return any(
        (isinstance(node, ast.Name) and node.id == "Any") or (isinstance(node, ast.Attribute) and node.attr == "Any")
        for node in ast.walk(tree)
    )


def _offenders() -> list[str]:
    aliases = _string_aliases()
    stand_ins = {name: type(name, (_Alias,), {}) for name in aliases}
    found: list[str] = []
    for module in _modules():
        for qualname, function in _public_callables(module):
            # a runtime alias such as `Record = dict[str, FieldValue]` carries FieldValue's text, whose
            # names (Decimal, dt, uuid) live in domain.types
            namespace = {**vars(datainfra.domain.types), **vars(module), **function.__globals__}
            hints = typing.get_type_hints(function, globalns=namespace, localns=stand_ins)
            for parameter in inspect.signature(function).parameters.values():
                if parameter.name not in hints:
                    continue
                resolved = hints[parameter.name]
                if resolved is typing.Any or _spells_any(parameter.annotation):
                    found.append(f"{module.__name__}.{qualname}({parameter.name})")
    return found


def test_the_walk_sees_the_entry_points_of_issue_13() -> None:
    """The walk reaches the functions that took client JSON as Any (so the test below can fail)."""
    seen = {f"{module.__name__}.{qualname}" for module in _modules() for qualname, _ in _public_callables(module)}
    for expected in (
        "datainfra.services.datasets.DatasetService.create",
        "datainfra.services.graph_writes.GraphWrites.write",
        "datainfra.services.records.RecordService.insert",
        "datainfra.services.imports.plan_import",
        "datainfra.services.graph_requests.node_key",
        "datainfra.domain.tabular_schema.parse_tabular_schema",
        "datainfra.domain.queries.QueryLimits.of",
        "datainfra.domain.filters.Condition.__init__",
        "datainfra.domain.ports.tabular_store.TabularStore.update_where",
    ):
        assert expected in seen


def test_no_service_or_domain_parameter_is_any() -> None:
    offenders = [name for name in _offenders() if name not in ALLOWED]
    assert offenders == [], "annotate these with JsonValue, object or a domain type, not Any"


def test_the_allow_list_holds_only_live_entries() -> None:
    assert sorted(set(ALLOWED) - set(_offenders())) == []


def test_string_aliases_do_not_hide_any() -> None:
    aliases = _string_aliases()
    assert "JsonValue" in aliases
    assert [name for name, text in aliases.items() if _spells_any(text)] == []


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        ("Any", True),
        ("Sequence[Any]", True),
        ("Mapping[str, typing.Any] | None", True),
        ("JsonValue", False),
        ("Mapping[str, object]", False),
        (typing.Any, True),
        (list[typing.Any], True),
        (list[object], False),
    ],
)
def test_spells_any(annotation: object, expected: bool) -> None:
    assert _spells_any(annotation) is expected

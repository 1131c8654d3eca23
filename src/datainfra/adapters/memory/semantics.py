"""SQL semantics for evaluating filters and sort orders in memory, so the in-memory stores answer
exactly as PostgreSQL does (and the graph store as Neo4j does for uniformly typed properties).

- A condition on a NULL (or absent) value is false, except `is:null`; `ne`/`nin` never match NULL.
- Values of different kinds (a number and a text, say) never compare: every condition between them
  is false. Numbers (int, float, Decimal) form one kind and compare numerically.
- Boolean trees (`FilterSpec.where`) are evaluated in three-valued logic, the reference the other
  stores' compilers are checked against: a condition is UNKNOWN (None) on a NULL value and between
  values of different kinds; `is:` is never UNKNOWN; NOT UNKNOWN is UNKNOWN; a row is kept when the
  whole tree is TRUE. (For the flat conditions UNKNOWN and FALSE are the same.)
- Order: ascending puts NULLs last, descending first; text by code point ("C" collation). Values of
  different kinds (only possible for graph properties) order as Neo4j does: list < timestamp < date <
  text < boolean < number.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from datainfra.domain.errors import InvalidRequest
from datainfra.domain.filters import COMPARISONS, And, Condition, FilterNode, FilterSpec, IsValue, Not, Operator
from datainfra.domain.query import SortKey

R = TypeVar("R", bound=Mapping[str, Any])

_SCALAR_KINDS = frozenset({"number", "text", "boolean", "timestamp", "date", "uuid"})
_KIND_RANK = {"map": 0, "list": 1, "timestamp": 2, "date": 3, "text": 4, "uuid": 4, "boolean": 5, "number": 6}


def kind_of(value: Any) -> str:
    """The comparison family of a non-null value."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dt.datetime):
        return "timestamp"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, uuid.UUID):
        return "uuid"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, Mapping):
        return "map"
    return type(value).__name__


# -- filters --------------------------------------------------------------------------------------


def matches(record: Mapping[str, Any], spec: FilterSpec) -> bool:
    """Whether every condition of `spec`, and its tree, hold for `record` (an absent field is NULL)."""
    if not all(condition_holds(record.get(c.field), c) for c in spec.conditions):
        return False
    return spec.where is None or truth(record, spec.where) is True


def truth(record: Mapping[str, Any], node: FilterNode) -> bool | None:
    """The three-valued truth of a tree for `record`: True, False or None (UNKNOWN)."""
    if isinstance(node, Condition):
        return condition_truth(record.get(node.field), node)
    if isinstance(node, Not):
        inner = truth(record, node.child)
        return None if inner is None else not inner
    conjunction = isinstance(node, And)
    unknown = False
    for child in node.children:
        value = truth(record, child)
        if value is None:
            unknown = True
        elif value is not conjunction:  # a FALSE under And, a TRUE under Or decides
            return value
    return None if unknown else conjunction


def condition_holds(value: Any, condition: Condition) -> bool:
    return condition_truth(value, condition) is True


def condition_truth(value: Any, condition: Condition) -> bool | None:
    """One condition in three-valued logic (None = UNKNOWN)."""
    op = condition.op
    if op is Operator.IS:
        match condition.value:
            case IsValue.NULL:
                return value is None
            case IsValue.NOTNULL:
                return value is not None
            case IsValue.TRUE:
                return value is True
            case IsValue.FALSE:
                return value is False
        return False  # pragma: no cover - IsValue is closed
    if value is None:
        return None
    if op in (Operator.EQ, Operator.NE):
        if not _comparable(value, condition.value):
            return None
        return _equal(value, condition.value) is (op is Operator.EQ)
    if op in (Operator.IN, Operator.NIN):
        items = condition.value
        if not items:
            return op is Operator.NIN
        if any(_equal(value, item) for item in items):
            return op is Operator.IN
        if all(_comparable(value, item) for item in items):
            return op is Operator.NIN
        return None
    if op in COMPARISONS:
        if not _comparable(value, condition.value):
            return None
        order = compare_values(value, condition.value)
        if op is Operator.GT:
            return order > 0
        if op is Operator.GTE:
            return order >= 0
        if op is Operator.LT:
            return order < 0
        return order <= 0
    if op in (Operator.LIKE, Operator.ILIKE):
        if not isinstance(value, str):
            return None
        insensitive = op is Operator.ILIKE
        pattern = like_regex(condition.value.lower() if insensitive else condition.value, condition.field)
        return pattern.fullmatch(value.lower() if insensitive else value) is not None
    return None  # pragma: no cover - Operator is closed


def _comparable(a: Any, b: Any) -> bool:
    if b is None:
        return False
    kind = kind_of(a)
    return kind in _SCALAR_KINDS and kind == kind_of(b)


def _equal(a: Any, b: Any) -> bool:
    return _comparable(a, b) and compare_values(a, b) == 0


@functools.lru_cache(maxsize=256)
def _like_regex(pattern: str) -> re.Pattern[str] | None:
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= len(pattern):
                return None
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if ch == "%":
            parts.append(".*")
        elif ch == "_":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
        i += 1
    return re.compile("".join(parts), re.DOTALL)


def like_regex(pattern: str, field: str = "") -> re.Pattern[str]:
    """A SQL LIKE pattern (`%`, `_`, backslash escape) as a regex to `fullmatch`. A pattern ending in
    a lone backslash is refused, as PostgreSQL refuses it."""
    compiled = _like_regex(pattern)
    if compiled is None:
        raise InvalidRequest("a LIKE pattern must not end with a backslash", parameter=field or None)
    return compiled


# -- order ----------------------------------------------------------------------------------------


def compare_values(a: Any, b: Any) -> int:
    """Three-way comparison of two non-null values (PostgreSQL order within a kind)."""
    kind_a, kind_b = kind_of(a), kind_of(b)
    if kind_a != kind_b:
        rank_a, rank_b = _KIND_RANK.get(kind_a, -1), _KIND_RANK.get(kind_b, -1)
        if rank_a != rank_b:
            return -1 if rank_a < rank_b else 1
        return _cmp(kind_a, kind_b)
    if kind_a == "list":
        for x, y in zip(a, b, strict=False):
            order = compare_nullable(x, y, descending=False)
            if order:
                return order
        return _cmp(len(a), len(b))
    if kind_a == "map":
        return 0
    return _cmp(a, b)


def _cmp(a: Any, b: Any) -> int:
    if a < b:
        return -1
    if b < a:
        return 1
    return 0


def compare_nullable(a: Any, b: Any, *, descending: bool) -> int:
    """Three-way comparison in one sort direction: NULLs last ascending, first descending."""
    if a is None or b is None:
        if a is None and b is None:
            return 0
        nulls_after = 1 if a is None else -1
        return -nulls_after if descending else nulls_after
    order = compare_values(a, b)
    return -order if descending else order


class _SortValue:
    """One sort field's value, ordered as its direction says (usable inside tuples)."""

    __slots__ = ("descending", "value")

    def __init__(self, value: Any, descending: bool) -> None:
        self.value = value
        self.descending = descending

    def _order(self, other: object) -> int:
        assert isinstance(other, _SortValue)
        return compare_nullable(self.value, other.value, descending=self.descending)

    def __lt__(self, other: object) -> bool:
        return self._order(other) < 0

    def __gt__(self, other: object) -> bool:
        return self._order(other) > 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _SortValue) and self._order(other) == 0

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"_SortValue({self.value!r}, descending={self.descending})"


def sort_key(record: Mapping[str, Any], sort: Sequence[SortKey]) -> tuple[_SortValue, ...]:
    """A key for `sorted` that orders records as `ORDER BY` with `sort` would."""
    return tuple(_SortValue(record.get(k.field), k.descending) for k in sort)


def order_records(records: Iterable[R], sort: Sequence[SortKey]) -> list[R]:
    """Records in `sort` order (stable: ties keep their input order)."""
    if not sort:
        return list(records)
    return sorted(records, key=lambda record: sort_key(record, sort))


def after_key(record: Mapping[str, Any], sort: Sequence[SortKey], after: Sequence[Any]) -> bool:
    """Whether `record` comes strictly after the sort-key tuple `after` (keyset pagination)."""
    for key, bound in zip(sort, after, strict=False):
        order = compare_nullable(record.get(key.field), bound, descending=key.descending)
        if order:
            return order > 0
    return False

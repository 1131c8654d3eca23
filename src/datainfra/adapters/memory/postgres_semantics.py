"""Where the in-memory build emulates PostgreSQL itself, beyond the filters and order every
in-memory store shares (memory/semantics.py): structured queries (joins, grouping, aggregates with
PostgreSQL's numeric arithmetic and float overflow checks) and the value casts of a column-type
migration (`USING value::target`, through `value::text` where PostgreSQL goes through text).

Kept rather than making structured queries real-store only: the emulation is this one module, the
structured-query contract suite runs over it and PostgreSQL alike, and it keeps the service and
HTTP tests of /query and of migrations running without a server. Only this module changes when a
PostgreSQL-side rule does.
"""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import json
import math
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from datainfra.adapters.memory.semantics import compare_nullable, compare_values, matches
from datainfra.domain.errors import InvalidInput
from datainfra.domain.queries import QueryLimits, QueryResult
from datainfra.domain.structured_plan import (
    AVG_MIN_SCALE,
    ColumnRef,
    OutputColumn,
    PlanAggregate,
    PlanOrder,
    StructuredPlan,
)
from datainfra.domain.structured_query import AggregateFn, JoinType
from datainfra.domain.tabular_schema import MigrationPlan, TabularSchema
from datainfra.domain.types import INT64_MAX, INT64_MIN, BadValue, FieldType, parse_text
from datainfra.domain.value_text import cast_text

Row = dict[str, Any]


# -- structured queries ---------------------------------------------------------------------------


def evaluate_structured(
    plan: StructuredPlan, sources: Sequence[tuple[TabularSchema, Sequence[Row]]], limits: QueryLimits
) -> QueryResult:
    """`plan` over `sources` (the schema and rows of each of `plan.sources`, in order), as
    PostgreSQL answers it."""
    keys = [[f"{d.name}.{c.name}" for c in d.tabular_schema.columns] for d in plan.sources]
    first_schema, first_rows = sources[0]
    rows: list[Row] = [
        {key: row.get(c) for key, c in zip(keys[0], first_schema.column_names, strict=True)} for row in first_rows
    ]
    for number, join in enumerate(plan.joins, start=1):
        rows = _join(rows, sources[number], keys[number], join.type, join.on)
    rows = [row for row in rows if matches(row, plan.filter)]
    if plan.grouped:
        groups: dict[tuple[Any, ...], list[Row]] = {}
        for row in rows:
            groups.setdefault(tuple(row[ref.key] for ref in plan.group_by), []).append(row)
        if not plan.group_by and not groups:
            groups[()] = []
        out = [
            [_output(column, members[0] if members else {}, members) for column in plan.columns]
            for members in groups.values()
        ]
        order_rows: list[Row] = [members[0] if members else {} for members in groups.values()]
    else:
        out = [[_output(column, row, []) for column in plan.columns] for row in rows]
        order_rows = rows
    keyed = sorted(
        range(len(out)),
        key=lambda i: tuple(_SortItem(_order_value(o, out[i], order_rows[i]), o) for o in plan.order),
    )
    ordered = [out[i] for i in keyed][plan.offset :]
    wanted = len(ordered) if plan.limit is None else min(plan.limit, len(ordered))
    truncated = wanted > limits.max_rows
    result = [[copy.deepcopy(v) for v in row] for row in ordered[: min(wanted, limits.max_rows)]]
    return QueryResult(columns=plan.result_columns, rows=result, truncated=truncated)


def _join(
    rows: list[Row],
    table: tuple[TabularSchema, Sequence[Row]],
    keys: list[str],
    join_type: JoinType,
    on: tuple[tuple[ColumnRef, ColumnRef], ...],
) -> list[Row]:
    """Rows joined with `table` on equal, non-NULL key pairs; LEFT keeps unmatched rows with NULLs.
    Matches come in the table's row order, for each left row in turn."""
    schema, table_rows = table
    names = schema.column_names
    right_rows = [{key: row.get(c) for key, c in zip(keys, names, strict=True)} for row in table_rows]
    index: dict[tuple[Any, ...], list[Row]] = {}
    for right in right_rows:
        key = tuple(right[r.key] for _, r in on)
        if all(v is not None for v in key):
            index.setdefault(key, []).append(right)
    empty = dict.fromkeys(keys)
    joined: list[Row] = []
    for row in rows:
        key = tuple(row[left.key] for left, _ in on)
        found = index.get(key, []) if all(v is not None for v in key) else []
        for right in found:
            joined.append({**row, **right})
        if not found and join_type is JoinType.LEFT:
            joined.append({**row, **empty})
    return joined


def _output(column: OutputColumn, row: Row, members: list[Row]) -> Any:
    if isinstance(column.value, ColumnRef):
        return row.get(column.value.key)
    return _aggregate(column.value, members)


def _aggregate(aggregate: PlanAggregate, rows: list[Row]) -> Any:
    fn, arg = aggregate.fn, aggregate.arg
    if arg is None:
        return len(rows)  # count(*)
    values = [row[arg.key] for row in rows if row[arg.key] is not None]
    if fn is AggregateFn.COUNT:
        return len(values)
    if fn is AggregateFn.COUNT_DISTINCT:
        return len(set(values))
    if not values:
        return None
    if fn is AggregateFn.SUM:
        return float_sum(values) if arg.type is FieldType.FLOAT else numeric_sum(values)
    if fn is AggregateFn.AVG:
        if arg.type is FieldType.FLOAT:
            return float_avg(values)
        total = numeric_sum(values)
        assert total is not None
        if arg.type is FieldType.INTEGER:
            return float(numeric_div(total, len(values)))  # avg(...)::float8
        return numeric_avg(total, len(values), max(_dscale(Decimal(v)) for v in values))
    step = smaller if fn is AggregateFn.MIN else larger
    result = values[0]
    for value in values[1:]:
        result = step(result, value)
    return result


def _order_value(order: PlanOrder, out: list[Any], row: Row) -> Any:
    if isinstance(order.target, int):
        return out[order.target]
    return row.get(order.target.key)


class _SortItem:
    """One ORDER BY item's value: NULLs last ascending, first descending."""

    __slots__ = ("descending", "value")

    def __init__(self, value: Any, order: PlanOrder) -> None:
        self.value = value
        self.descending = order.descending

    def __lt__(self, other: _SortItem) -> bool:
        return compare_nullable(self.value, other.value, descending=self.descending) < 0

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _SortItem) and compare_nullable(self.value, other.value, descending=self.descending) == 0
        )

    __hash__ = None  # type: ignore[assignment]


# -- aggregates -----------------------------------------------------------------------------------
# PostgreSQL's aggregate arithmetic, so a structured query answers in memory exactly as there.

_EXACT = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
NUMERIC_MIN_SIG_DIGITS = 16
NUMERIC_MAX_DISPLAY_SCALE = 1000


def _overflow() -> InvalidInput:
    return InvalidInput("value out of range: overflow")


def float_add(a: float, b: float) -> float:
    """float8pl: an infinite sum of finite values is an overflow error."""
    result = a + b
    if math.isinf(result) and not math.isinf(a) and not math.isinf(b):
        raise _overflow()
    return result


def float_sum(values: Iterable[float]) -> float | None:
    """sum(float8): the values added in order; NULL over no value."""
    total: float | None = None
    for value in values:
        total = value if total is None else float_add(total, value)
    return total


def float_avg(values: Iterable[float]) -> float | None:
    """avg(float8): float8_accum's running N, Sx, Sxx (with its overflow check), then Sx / N."""
    n = sx = sxx = 0.0
    for value in values:
        old_n, old_sx = n, sx
        n += 1.0
        sx += value
        if old_n > 0.0:
            tmp = value * n - sx
            sxx += tmp * tmp / (n * old_n)
            if math.isinf(sx) or math.isinf(sxx):
                if not math.isinf(old_sx) and not math.isinf(value):
                    raise _overflow()
                sxx = math.nan
    return None if n == 0 else sx / n


def numeric_sum(values: Iterable[int | Decimal]) -> Decimal | None:
    """sum(numeric) (and sum(bigint), which is numeric too): exact, the largest input scale."""
    total: Decimal | None = None
    for value in values:
        item = Decimal(value) if isinstance(value, int) else value
        total = item if total is None else _EXACT.add(total, item)
    if total is not None and total.is_zero():
        total = total.copy_abs()  # numeric has no negative zero
    return total


def _dscale(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def _nbase_lead(value: Decimal) -> tuple[int, int]:
    """(weight, first digit) of |value| written in PostgreSQL's base-10000 numeric digits; (0, 0)
    for zero."""
    if value.is_zero():
        return 0, 0
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    coefficient = int("".join(map(str, digits)))
    top = len(str(coefficient)) - 1 + exponent  # the decimal exponent of the leading digit
    weight = top // 4
    shift = exponent - 4 * weight
    first = coefficient * 10**shift if shift >= 0 else coefficient // 10**-shift
    return weight, first


def numeric_div(dividend: Decimal, divisor: int, divisor_scale: int = 0) -> Decimal:
    """numeric_div(dividend, divisor) for a positive integer divisor written with `divisor_scale`
    fractional digits (what avg does): the scale PostgreSQL's select_div_scale picks (at least 16
    significant digits, at least either operand's scale), rounded half away from zero."""
    weight1, first1 = _nbase_lead(dividend)
    weight2, first2 = _nbase_lead(Decimal(divisor))
    qweight = weight1 - weight2 - (1 if first1 <= first2 else 0)
    rscale = max(NUMERIC_MIN_SIG_DIGITS - qweight * 4, _dscale(dividend), divisor_scale, 0)
    rscale = min(rscale, NUMERIC_MAX_DISPLAY_SCALE)
    sign, digits, exponent = dividend.as_tuple()
    assert isinstance(exponent, int)
    coefficient = int("".join(map(str, digits)) or "0")
    shift = exponent + rscale  # negative only when the dividend's scale passes the 1000 cap
    numerator = coefficient * 10**shift if shift >= 0 else coefficient
    denominator = divisor if shift >= 0 else divisor * 10**-shift
    quotient, remainder = divmod(numerator, denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return Decimal((sign if quotient else 0, tuple(int(d) for d in str(quotient)), -rscale))


def numeric_avg(total: Decimal, count: int, values_scale: int) -> Decimal:
    """The structured query language's avg of numeric values (see structured_plan.AVG_MIN_SCALE),
    as its SQL computes it: `round(sum(x) / round(count(x), s), s)`, s = greatest(max(scale(x)), 6)."""
    scale = max(values_scale, AVG_MIN_SCALE)
    quotient = numeric_div(total, count, scale)
    rounded = quotient.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP, context=_EXACT)
    return rounded.copy_abs() if rounded.is_zero() else rounded  # numeric has no negative zero


def smaller(current: Any, value: Any) -> Any:
    """min's step (PostgreSQL's *_smaller): the current value only when strictly smaller."""
    return current if compare_values(current, value) < 0 else value


def larger(current: Any, value: Any) -> Any:
    """max's step (*_larger): the current value only when strictly larger."""
    return current if compare_values(current, value) > 0 else value


# -- migrations -----------------------------------------------------------------------------------


def migrate_rows(rows: Sequence[Row], plan: MigrationPlan) -> list[Row]:
    """The rows after `plan`, in PostgreSQL's order: renames, drops, adds, changes. Raises
    InvalidInput naming the column when a value does not fit; the input rows are never touched."""
    renames = dict(plan.renames)
    dropped = {c.name for c in plan.dropped}
    migrated: list[Row] = [
        {renames.get(name, name): value for name, value in row.items() if name not in dropped} for row in rows
    ]
    for column in plan.added:
        if rows and column.default is None and not column.nullable:
            raise InvalidInput(
                f"column {column.name!r} is NOT NULL without a default but the table has rows", field=column.name
            )
        for row in migrated:
            row[column.name] = copy.deepcopy(column.default)
    for change in plan.changed:
        name = change.after.name
        if change.type_changed:
            for row in migrated:
                row[name] = cast_value(row.get(name), change.before.type, change.after.type, name)
        if not change.after.nullable and any(row.get(name) is None for row in migrated):
            raise InvalidInput(f"column {name!r} holds NULL values, so it cannot be NOT NULL", field=name)
    order = [c.name for c in plan.after.columns]
    return [{name: row.get(name) for name in order} for row in migrated]


def cast_value(value: Any, source: FieldType, target: FieldType, column: str) -> Any:
    """`value::target` as PostgreSQL's USING cast does it; InvalidInput naming `column` otherwise."""
    if value is None or source is target:
        return value
    try:
        return _cast(value, source, target)
    except (BadValue, ValueError, InvalidOperation, OverflowError):
        shown = cast_text(value, source)
        raise InvalidInput(
            f"column {column!r}: the existing value {shown!r} cannot become {target.value}", field=column
        ) from None


def _cast(value: Any, source: FieldType, target: FieldType) -> Any:
    if target is FieldType.INTEGER and source is FieldType.FLOAT:
        return _int64(round(float(value)))  # round() on floats is half-to-even, as rint()
    if target is FieldType.INTEGER and source is FieldType.NUMERIC:
        return _int64(int(Decimal(value).to_integral_value(rounding=ROUND_HALF_UP)))
    if target is FieldType.FLOAT and source in (FieldType.INTEGER, FieldType.NUMERIC):
        result = float(value)
        if result in (float("inf"), float("-inf")):
            raise BadValue("out of range")
        return result
    if target is FieldType.NUMERIC and source is FieldType.FLOAT:
        return Decimal(format(float(value), ".15g"))  # float8 → numeric keeps DBL_DIG digits
    if target is FieldType.NUMERIC and source is FieldType.INTEGER:
        return Decimal(value)
    if target is FieldType.DATE and source is FieldType.TIMESTAMP:
        return value.astimezone(dt.UTC).date()
    if target is FieldType.JSON:
        return json.loads(cast_text(value, source), parse_float=Decimal)
    return parse_text(cast_text(value, source), target)


def _int64(value: int) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise BadValue("integer out of the 64-bit range")
    return value

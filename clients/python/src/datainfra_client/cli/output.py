"""How the CLI prints rows: a rich table on a terminal (plain text otherwise), CSV, JSON (one
array) or NDJSON (a line per row, streamed)."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
from rich.console import Console
from rich.table import Table

FORMATS = ("table", "csv", "json", "ndjson")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return msgspec.json.encode(value).decode()


def print_rows(columns: Sequence[str], rows: Iterable[Sequence[Any]], format: str, console: Console) -> int:
    """Print rows in a format; returns how many. NDJSON and CSV stream as the rows come."""
    count = 0
    if format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(v) for v in row])
            count += 1
        return count
    if format == "ndjson":
        for row in rows:
            sys.stdout.write(msgspec.json.encode(dict(zip(columns, row, strict=False))).decode() + "\n")
            count += 1
        return count
    if format == "json":
        items = [dict(zip(columns, row, strict=False)) for row in rows]
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(items)).decode() + "\n")
        return len(items)
    table = Table(show_edge=False, header_style="bold")
    for name in columns:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*[_cell(v) for v in row])
        count += 1
    console.print(table)
    return count


def print_records(records: Iterable[dict[str, Any]], format: str, console: Console) -> int:
    """Records (dicts): the columns are the first record's keys (plus any later ones, for a table)."""
    if format == "ndjson":
        count = 0
        for record in records:
            sys.stdout.write(msgspec.json.encode(record).decode() + "\n")
            count += 1
        return count
    items = list(records) if format != "csv" else records
    if format == "csv":
        iterator = iter(items)
        first = next(iterator, None)
        if first is None:
            return 0
        names = list(first)
        chained = ([r.get(n) for n in names] for r in _prepend(first, iterator))
        return print_rows(names, chained, "csv", console)
    names = []
    for record in items:
        names.extend(n for n in record if n not in names)
    return print_rows(names, ([r.get(n) for n in names] for r in items), format, console)


def _prepend(first: dict[str, Any], rest: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    yield first
    yield from rest

"""How big one node or edge may be, checked before any store sees it.

Neo4j's own limits are far away or hostile: a node with thousands of labels overflows the server's
stack in its label-expression code (the request hangs for minutes, then fails as if the store were
down); a property value above about 8 KB cannot be held by an index (the write fails, or a later
index build does); strings are not counted by its per-transaction memory pool, so a few 100 MB
values in flight can exhaust the heap every tenant shares. The bounds below are well past what a
graph model needs (documents belong in a tabular dataset's json or text column):

- MAX_LABELS_PER_NODE labels on one node (and in one label filter);
- MAX_PROPERTIES per node or edge;
- MAX_TEXT_BYTES for one text value (UTF-8; a json value counts as its JSON text);
- MAX_LIST_ITEMS items in one list property;
- MAX_ITEM_BYTES for all property values of one node or edge together;
- MAX_INDEXED_BYTES for the values one declared index holds for a node (the properties of a
  composite index together), below Neo4j's index key limit (8,167 bytes);
- MAX_DECLARED_INDEXES indexes (and unique indexes) in one graph schema, MAX_INDEX_PROPERTIES
  properties in one of them: every index is built in the schema transaction all tenants queue
  behind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from datainfra.domain.errors import InvalidInput

MAX_LABELS_PER_NODE = 64
MAX_PROPERTIES = 1_000
MAX_TEXT_BYTES = 1024 * 1024
MAX_LIST_ITEMS = 10_000
MAX_ITEM_BYTES = 4 * 1024 * 1024
MAX_INDEXED_BYTES = 4_000
MAX_DECLARED_INDEXES = 64
MAX_INDEX_PROPERTIES = 16

_FIXED_SIZE = 8
"""What a number, boolean, date or timestamp counts (its stored size, about)."""


def value_size(value: object) -> int:
    """The stored size of a property value, in bytes (about): text as UTF-8, containers as the sum
    of their items plus one byte each."""
    kind = type(value)
    if kind is int or kind is float or kind is bool:
        return _FIXED_SIZE
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, Decimal):
        return len(str(value))
    if isinstance(value, Mapping):
        return sum(value_size(k) + value_size(v) + 1 for k, v in value.items()) + 2
    if isinstance(value, list | tuple):
        return sum(value_size(item) + 1 for item in value) + 2
    return _FIXED_SIZE


def check_labels(labels: Iterable[str], *, index: int | None, field: str) -> None:
    if sum(1 for _ in labels) > MAX_LABELS_PER_NODE:
        raise InvalidInput(f"a node may have at most {MAX_LABELS_PER_NODE} labels", index=index, field=field)


def check_property_count(count: int, *, index: int | None, field: str) -> None:
    if count > MAX_PROPERTIES:
        raise InvalidInput(f"a node or edge may have at most {MAX_PROPERTIES} properties", index=index, field=field)


def check_value(name: str, value: object, *, json: bool, index: int | None, field: str) -> int:
    """Refuse a value past the text or list bounds (`json`: a declared json value, bounded as its
    text); return its size."""
    if isinstance(value, list) and not json and len(value) > MAX_LIST_ITEMS:
        raise InvalidInput(
            f"property {name!r}: a list property may hold at most {MAX_LIST_ITEMS} items", index=index, field=field
        )
    size = value_size(value)
    if json or isinstance(value, str):
        too_big = size > MAX_TEXT_BYTES
    else:
        too_big = isinstance(value, list) and any(isinstance(t, str) and value_size(t) > MAX_TEXT_BYTES for t in value)
    if too_big:
        raise InvalidInput(
            f"property {name!r}: a text or json value may be at most {MAX_TEXT_BYTES} bytes (UTF-8)",
            index=index,
            field=field,
        )
    return size


def check_item_size(total: int, *, index: int | None, field: str) -> None:
    if total > MAX_ITEM_BYTES:
        raise InvalidInput(
            f"the property values of one node or edge may be at most {MAX_ITEM_BYTES} bytes together",
            index=index,
            field=field,
        )


def check_indexed(
    label: str, properties: tuple[str, ...], values: Mapping[str, object], *, index: int | None, field: str
) -> None:
    """The values a declared index of `label` holds for one node must fit an index key."""
    held = [p for p in properties if values.get(p) is not None]
    if not held:
        return
    size = sum(value_size(values[p]) for p in held)
    if size > MAX_INDEXED_BYTES:
        raise InvalidInput(
            f"property {held[0]!r} is indexed on label {label!r} (index on {', '.join(properties)}), and an index "
            f"holds at most {MAX_INDEXED_BYTES} bytes of values per node; this node's take {size}",
            index=index,
            field=f"{field}.{held[0]}",
        )

"""Single records as resources: their key from the text parts of a URL, and their version tag.

Why here: both stores hand back the same typed values (domain.types), so one function turning those
values into an ETag gives the same tag for the same content whichever store holds it, and one
precondition check decides 404 / 412 the same way everywhere. Stores call `check_current` inside the
lock or transaction that then writes, which is what makes the check-and-write atomic.

Tags are strong validators: a SHA-256 of the record's typed values in column order (JSON objects
with their members sorted, so PostgreSQL's jsonb member order does not matter), quoted as HTTP
wants (`"3f1c…"`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from datainfra.domain.errors import InvalidInput, NotFound, PreconditionFailed
from datainfra.domain.json_value import JsonValue
from datainfra.domain.model import Dataset
from datainfra.domain.records import Record
from datainfra.domain.tabular_schema import TabularSchema
from datainfra.domain.types import BadValue, FieldValue, parse_text

RecordKey = dict[str, FieldValue]
"""A record's primary key: key column → typed value, in the key's column order."""

RecordChange = Callable[[Record], Record]
"""Given the stored record, the non-key column → value assignments to write (pure, no I/O)."""


@dataclass(frozen=True, slots=True)
class IfMatch:
    """An `If-Match` condition: any current record (`*`), or one of these tags."""

    tags: frozenset[str] = frozenset()
    any: bool = False

    def holds(self, current: str | None) -> bool:
        if current is None:
            return False
        return self.any or current in self.tags


def parse_record_key(schema: TabularSchema, parts: Sequence[str]) -> RecordKey:
    """The key from its text parts (already percent-decoded), one per key column in key order,
    each typed as a CSV cell of that column would be. Wrong count or a bad value: InvalidInput
    naming the key column."""
    names = schema.primary_key
    if len(parts) != len(names):
        raise InvalidInput(
            f"the record key has {len(names)} part(s) ({', '.join(names)}), comma-separated in that order; "
            f"got {len(parts)}",
            field=names[0] if len(names) == 1 else None,
        )
    types = schema.field_types
    key: RecordKey = {}
    for name, part in zip(names, parts, strict=True):
        try:
            key[name] = parse_text(part, types[name])
        except BadValue as exc:
            raise InvalidInput(f"record key field {name!r}: {exc}", field=name) from None
    return key


def describe_key(key: Mapping[str, object]) -> str:
    return ", ".join(f"{name}={value}" for name, value in key.items())


def record_etag(schema: TabularSchema, record: Mapping[str, object]) -> str:
    """The strong ETag of a record's content (every column, in schema order)."""
    digest = hashlib.sha256()
    for name in schema.column_names:
        digest.update(_canonical(record.get(name)).encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
    return f'"{digest.hexdigest()[:32]}"'


def dataset_etag(dataset: Dataset) -> str:
    """The strong ETag of a dataset: its id, kind and schema (what a migration changes)."""
    digest = hashlib.sha256(f"{dataset.id}\x1f{dataset.kind}\x1f{dataset.schema!r}".encode())
    return f'"{digest.hexdigest()[:32]}"'


def check_current(
    schema: TabularSchema, key: Mapping[str, object], current: Record | None, expected: IfMatch | None
) -> None:
    """What a store calls with the row it holds (None: absent) before writing: NotFound naming the
    key when absent and no condition was given; PreconditionFailed when a condition was given and
    the record is absent or its tag is not one of those expected."""
    if current is None and expected is None:
        raise NotFound(f"no record has the key {describe_key(key)}", key=dict(key))
    if expected is not None and not expected.holds(None if current is None else record_etag(schema, current)):
        detail = (
            f"no record has the key {describe_key(key)}"
            if current is None
            else f"the record {describe_key(key)} has changed since the tag given in If-Match"
        )
        raise PreconditionFailed(detail, key=dict(key))


def check_dataset(dataset: Dataset, expected: IfMatch | None) -> None:
    if expected is not None and not expected.holds(dataset_etag(dataset)):
        raise PreconditionFailed(f"the dataset {dataset.name!r} has changed since the tag given in If-Match")


def merge_patch(target: FieldValue, patch: JsonValue) -> JsonValue:
    """RFC 7396 applied to one value: an object patch merges into an object (null removes a member),
    anything else replaces."""
    if not isinstance(patch, Mapping):
        return patch
    merged = dict(target) if isinstance(target, Mapping) else {}
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = merge_patch(merged.get(name), value)
    return merged


def _canonical(value: object) -> str:
    """One text per typed value, its type tagged so 1, 1.0, "1" and true never collide."""
    if value is None:
        return "n"
    if isinstance(value, bool):
        return "b1" if value else "b0"
    if isinstance(value, int):
        return f"i{value}"
    if isinstance(value, float):
        return f"f{value!r}"
    if isinstance(value, Decimal):
        return f"d{value}"
    if isinstance(value, str):
        return f"s{len(value)}:{value}"
    if isinstance(value, dt.datetime):
        return f"t{value.astimezone(dt.UTC).isoformat()}"
    if isinstance(value, dt.date):
        return f"D{value.isoformat()}"
    if isinstance(value, uuid.UUID):
        return f"u{value}"
    if isinstance(value, Mapping):
        members = ",".join(f"{_canonical(str(k))}={_canonical(v)}" for k, v in sorted(value.items()))
        return f"{{{members}}}"
    if isinstance(value, list | tuple):
        return f"[{','.join(_canonical(v) for v in value)}]"
    return f"?{value!r}"

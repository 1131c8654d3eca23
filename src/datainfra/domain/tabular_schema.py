"""The schema of a tabular dataset, how client records are checked against it, and how one schema
migrates into another."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from datainfra.domain.errors import InvalidInput
from datainfra.domain.names import validate_name
from datainfra.domain.records import Record
from datainfra.domain.types import JSON_COERCERS, TEXT_PARSERS, BadValue, FieldType, FieldValue, coerce_json

GENERATED_KEY = "id"

MAX_COLUMNS = 1599
"""PostgreSQL's limit is 1600 columns a table; an upsert stages records in a table with one more
column (their order), so a dataset has one fewer. Columns dropped by migrations still count
against PostgreSQL's limit; reaching it is then a 422 from the store."""
MAX_INDEX_COLUMNS = 32
"""PostgreSQL's INDEX_MAX_KEYS: columns in an index, and in the primary key."""
MAX_INDEXES = 100
"""Indexes a dataset declares: each is built when the dataset is created or migrated."""


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: FieldType
    nullable: bool = True
    default: FieldValue = None
    """A typed literal (None = no default)."""
    generated: bool = False
    """True only for the `id` key the store adds and fills when no primary key is declared."""

    @property
    def has_default(self) -> bool:
        return self.default is not None or self.generated


@dataclass(frozen=True, slots=True)
class Index:
    columns: tuple[str, ...]
    unique: bool = False


_Converter = Callable[[Any], FieldValue]


@dataclass(frozen=True, slots=True)
class _Lookups:
    """What checking a record needs, derived once per schema (bulk loads check millions of records)."""

    by_name: dict[str, Column]
    json: dict[str, tuple[Column, _Converter]]
    text: dict[str, tuple[Column, _Converter]]


def _lookups(columns: tuple[Column, ...]) -> _Lookups:
    return _Lookups(
        by_name={c.name: c for c in columns},
        json={c.name: (c, JSON_COERCERS[c.type]) for c in columns},
        text={c.name: (c, TEXT_PARSERS[c.type]) for c in columns},
    )


@dataclass(frozen=True, slots=True)
class TabularSchema:
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    indexes: tuple[Index, ...] = ()
    _lookups: _Lookups = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_lookups", _lookups(self.columns))

    def column(self, name: str) -> Column | None:
        return self._lookups.by_name.get(name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def field_types(self) -> dict[str, FieldType]:
        return {column.name: column.type for column in self.columns}

    def non_nullable(self, name: str) -> bool:
        column = self.column(name)
        return column is not None and not column.nullable

    # -- records -------------------------------------------------------------------------------

    def coerce_record(self, raw: object, index: int, *, partial: bool = False, fill_defaults: bool = False) -> Record:
        """A client record (decoded JSON) → typed values, or InvalidInput naming index and field.

        Missing columns are left out (the store applies defaults) unless `fill_defaults`, which adds
        them with their default (or None), all but the generated key; `partial` skips the check
        that non-nullable columns without a default are present (updates)."""
        if not isinstance(raw, Mapping):
            raise InvalidInput("a record must be a JSON object", index=index)
        return self._typed(raw, index, self._lookups.json, not partial, fill_defaults)

    def coerce_text_record(self, raw: Mapping[str, str | None], index: int, *, fill_defaults: bool = False) -> Record:
        """A record whose values are text (a CSV row; None = empty cell = NULL) → typed values."""
        return self._typed(raw, index, self._lookups.text, True, fill_defaults)

    def _typed(
        self,
        raw: Mapping[Any, Any],
        index: int,
        converters: dict[str, tuple[Column, _Converter]],
        require: bool,
        fill_defaults: bool,
    ) -> Record:
        record: Record = {}
        lookup = converters.get  # keys are str: a key of another type matches no column
        for name, value in raw.items():
            entry = lookup(name)
            if entry is None:
                raise InvalidInput(f"unknown field {name!r}", index=index, field=str(name))
            column, convert = entry
            if value is None:
                if not column.nullable and not column.generated:
                    raise InvalidInput(f"field {column.name!r} must not be null", index=index, field=column.name)
                record[name] = None
                continue
            try:
                record[name] = convert(value)
            except BadValue as exc:
                raise InvalidInput(f"field {column.name!r}: {exc}", index=index, field=column.name) from None
        if len(record) < len(converters):  # some column left out
            if require:
                self._require_present(record, index)
            if fill_defaults:
                for column in self.columns:
                    if column.name not in record and not column.generated:
                        record[column.name] = column.default
        return record

    def _require_present(self, record: Record, index: int) -> None:
        for column in self.columns:
            if not column.nullable and not column.has_default and record.get(column.name) is None:
                raise InvalidInput(f"field {column.name!r} is required", index=index, field=column.name)

    def key_of(self, record: Mapping[str, FieldValue]) -> tuple[FieldValue, ...]:
        return tuple(record.get(name) for name in self.primary_key)


# -- building a schema from a client document ------------------------------------------------------


def parse_tabular_schema(document: object) -> TabularSchema:
    """A client's schema document → a validated TabularSchema (InvalidInput naming the field)."""
    if not isinstance(document, Mapping):
        raise InvalidInput("schema must be an object", field="schema")
    unknown = set(document) - {"columns", "primary_key", "indexes"}
    if unknown:
        raise InvalidInput(f"unknown schema field {sorted(unknown)[0]!r}", field="schema")
    raw_columns = document.get("columns")
    if not isinstance(raw_columns, list) or not raw_columns:
        raise InvalidInput("schema.columns must be a non-empty list", field="schema.columns")
    if len(raw_columns) > MAX_COLUMNS:
        raise InvalidInput(
            f"a dataset can have at most {MAX_COLUMNS} columns ({len(raw_columns)} given)", field="schema.columns"
        )
    columns = [_parse_column(raw, i) for i, raw in enumerate(raw_columns)]
    names = [c.name for c in columns]
    for name in names:
        if names.count(name) > 1:
            raise InvalidInput(f"column {name!r} is declared twice", field="schema.columns")

    raw_pk = document.get("primary_key")
    if raw_pk is None or raw_pk == []:
        primary_key: tuple[str, ...] = (GENERATED_KEY,)
        existing = next((c for c in columns if c.name == GENERATED_KEY), None)
        if existing is None:
            columns.insert(0, Column(GENERATED_KEY, FieldType.INTEGER, nullable=False, generated=True))
        elif not existing.generated:
            raise InvalidInput(
                "a column named 'id' needs primary_key: ['id'] (without a primary key the store adds "
                "its own generated 'id')",
                field="schema.primary_key",
            )
    else:
        if not isinstance(raw_pk, list) or not all(isinstance(n, str) for n in raw_pk):
            raise InvalidInput("schema.primary_key must be a list of column names", field="schema.primary_key")
        primary_key = tuple(raw_pk)
        if len(set(primary_key)) != len(primary_key):
            raise InvalidInput("schema.primary_key repeats a column", field="schema.primary_key")
        for name in primary_key:
            column = next((c for c in columns if c.name == name), None)
            if column is None:
                raise InvalidInput(f"primary key column {name!r} is not declared", field="schema.primary_key")
            if column.type is FieldType.JSON:
                raise InvalidInput(f"json column {name!r} cannot be a key", field="schema.primary_key")
        columns = [replace(c, nullable=False) if c.name in primary_key else c for c in columns]
        for column in columns:
            if column.generated and column.name not in primary_key:
                raise InvalidInput("only the store's own 'id' key can be generated", field="schema.columns")

    if len(columns) > MAX_COLUMNS:  # the generated 'id' added
        raise InvalidInput(
            f"a dataset can have at most {MAX_COLUMNS} columns, its generated 'id' key included", field="schema.columns"
        )
    if len(primary_key) > MAX_INDEX_COLUMNS:
        raise InvalidInput(f"a primary key can have at most {MAX_INDEX_COLUMNS} columns", field="schema.primary_key")
    indexes = _parse_indexes(document.get("indexes"), {c.name: c for c in columns})
    return TabularSchema(columns=tuple(columns), primary_key=primary_key, indexes=indexes)


def _parse_column(raw: object, i: int) -> Column:
    where = f"schema.columns[{i}]"
    if not isinstance(raw, Mapping):
        raise InvalidInput("a column must be an object", field=where)
    unknown = set(raw) - {"name", "type", "nullable", "default", "generated"}
    if unknown:
        raise InvalidInput(f"unknown column field {sorted(unknown)[0]!r}", field=where)
    name = validate_name(raw.get("name"), what="column name", field=f"{where}.name")
    try:
        field_type = FieldType(str(raw.get("type")))
    except ValueError:
        allowed = ", ".join(t.value for t in FieldType)
        raise InvalidInput(f"column {name!r}: type must be one of {allowed}", field=f"{where}.type") from None
    nullable = raw.get("nullable", True)
    if not isinstance(nullable, bool):
        raise InvalidInput("nullable must be a boolean", field=f"{where}.nullable")
    generated = raw.get("generated", False)
    if generated not in (True, False) or (generated and (name != GENERATED_KEY or field_type != FieldType.INTEGER)):
        raise InvalidInput("only the store's own integer 'id' key can be generated", field=f"{where}.generated")
    default = None
    if raw.get("default") is not None:
        try:
            default = coerce_json(raw["default"], field_type)
        except BadValue as exc:
            raise InvalidInput(f"column {name!r}: default {exc}", field=f"{where}.default") from None
    return Column(name, field_type, nullable=bool(nullable) and not generated, default=default, generated=generated)


def _parse_indexes(raw: object, columns: Mapping[str, Column]) -> tuple[Index, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidInput("schema.indexes must be a list", field="schema.indexes")
    if len(raw) > MAX_INDEXES:
        raise InvalidInput(
            f"a dataset can have at most {MAX_INDEXES} indexes ({len(raw)} given)", field="schema.indexes"
        )
    indexes: list[Index] = []
    for i, item in enumerate(raw):
        where = f"schema.indexes[{i}]"
        if not isinstance(item, Mapping) or set(item) - {"columns", "unique"}:
            raise InvalidInput('an index is {"columns": [...], "unique"?: bool}', field=where)
        names = item.get("columns")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise InvalidInput("index columns must be a non-empty list of names", field=where)
        for name in names:
            if name not in columns:
                raise InvalidInput(f"index column {name!r} is not declared", field=where)
            if columns[name].type is FieldType.JSON:
                raise InvalidInput(f"json column {name!r} cannot be indexed", field=where)
        if len(set(names)) != len(names):
            raise InvalidInput("index repeats a column", field=where)
        if len(names) > MAX_INDEX_COLUMNS:
            raise InvalidInput(f"an index can have at most {MAX_INDEX_COLUMNS} columns", field=where)
        unique = item.get("unique", False)
        if not isinstance(unique, bool):
            raise InvalidInput("unique must be a boolean", field=where)
        index = Index(tuple(names), unique)
        if index in indexes:
            raise InvalidInput("index declared twice", field=where)
        indexes.append(index)
    return tuple(indexes)


def tabular_schema_document(schema: TabularSchema) -> dict[str, Any]:
    """The schema as clients see it: parse_tabular_schema(tabular_schema_document(s)) == s."""
    columns: list[dict[str, Any]] = []
    for column in schema.columns:
        doc: dict[str, Any] = {"name": column.name, "type": column.type.value, "nullable": column.nullable}
        if column.default is not None:
            doc["default"] = column.default
        if column.generated:
            doc["generated"] = True
        columns.append(doc)
    return {
        "columns": columns,
        "primary_key": list(schema.primary_key),
        "indexes": [{"columns": list(ix.columns), "unique": ix.unique} for ix in schema.indexes],
    }


# -- migrations -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ColumnChange:
    """How one surviving column changes; `before` is named as before any rename."""

    before: Column
    after: Column

    @property
    def renamed(self) -> bool:
        return self.before.name != self.after.name

    @property
    def type_changed(self) -> bool:
        return self.before.type != self.after.type


@dataclass(frozen=True, slots=True)
class MigrationPlan:
    """What `PUT schema` does, in the order a store applies it: renames, drops, adds, changes,
    then index drops and adds. Stores apply the whole plan in one transaction."""

    before: TabularSchema
    after: TabularSchema
    renames: tuple[tuple[str, str], ...] = ()
    dropped: tuple[Column, ...] = ()
    added: tuple[Column, ...] = ()
    changed: tuple[ColumnChange, ...] = ()
    dropped_indexes: tuple[Index, ...] = ()
    added_indexes: tuple[Index, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not (
            self.renames or self.dropped or self.added or self.changed or self.dropped_indexes or self.added_indexes
        )


def plan_migration(before: TabularSchema, after: TabularSchema, renames: Mapping[str, str]) -> MigrationPlan:
    """Compare two schemas (with explicit renames old→new) and say what changes, or InvalidInput."""
    for old, new in renames.items():
        if before.column(old) is None:
            raise InvalidInput(f"cannot rename {old!r}: no such column", field="renames")
        validate_name(new, what="column name", field="renames")
        if after.column(new) is None:
            raise InvalidInput(f"renamed column {new!r} is missing from the new schema", field="renames")
        if new != old and before.column(new) is not None and new not in renames:
            raise InvalidInput(f"cannot rename {old!r} to {new!r}: that column exists", field="renames")
    if len(set(renames.values())) != len(renames):
        raise InvalidInput("two columns renamed to one name", field="renames")
    if after.primary_key != tuple(renames.get(n, n) for n in before.primary_key):
        raise InvalidInput(
            "the primary key cannot change; create a new dataset and copy the rows", field="schema.primary_key"
        )

    old_to_new = {c.name: renames.get(c.name, c.name) for c in before.columns}
    new_to_old = {new: old for old, new in old_to_new.items() if after.column(new) is not None}
    dropped = tuple(c for c in before.columns if after.column(old_to_new[c.name]) is None)
    added = tuple(c for c in after.columns if c.name not in new_to_old)
    for column in added:
        if column.generated:
            raise InvalidInput("a generated key cannot be added later", field="schema.columns")
    changed: list[ColumnChange] = []
    for column in after.columns:
        if column.name in new_to_old:
            previous = before.column(new_to_old[column.name])
            assert previous is not None
            if previous.generated != column.generated:
                raise InvalidInput("the generated 'id' key cannot change", field="schema.columns")
            if previous != _renamed(column, previous.name) or previous.name != column.name:
                changed.append(ColumnChange(previous, column))
    renamed_index = {
        Index(tuple(old_to_new[n] for n in ix.columns), ix.unique): ix
        for ix in before.indexes
        if all(after.column(old_to_new[n]) is not None for n in ix.columns)
    }
    dropped_indexes = tuple(ix for ix in before.indexes if ix not in renamed_index.values()) + tuple(
        old for new, old in renamed_index.items() if new not in after.indexes
    )
    added_indexes = tuple(ix for ix in after.indexes if ix not in renamed_index)
    return MigrationPlan(
        before=before,
        after=after,
        renames=tuple((old, new) for old, new in renames.items() if old != new),
        dropped=dropped,
        added=added,
        changed=tuple(changed),
        dropped_indexes=dropped_indexes,
        added_indexes=added_indexes,
    )


def _renamed(column: Column, name: str) -> Column:
    return replace(column, name=name)

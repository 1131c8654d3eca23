"""CSV bodies streamed into `COPY ... FROM STDIN (FORMAT csv)`: PostgreSQL parses and types the
cells, and what it accepts is exactly what the API's grammar accepts.

PostgreSQL reads more than the API does (NaN and infinities, `epoch` and `Jan 2 2024` dates,
`0x1F` and `1_000` integers since 16, `tr` booleans, blank lines, ...), so the bytes are not
forwarded blindly. One pattern per (schema, header), compiled once, recognises the runs of records
whose every cell is in a *canonical* form both grammars read as the same value (plain digits,
`YYYY-MM-DD`, `true`/`false`, hyphenated uuids, text without line breaks, ...): such runs go to
COPY as they came, one regex match per chunk. Any other record (quoted line breaks, padded or
exotic spellings, a json column, a blank line, a malformed line) is parsed and typed here by the
domain's own rules (`domain.csv_records`, `TabularSchema.coerce_text_record`: the same errors, naming
index and field) and re-written in canonical form, or skipped (a blank line). What COPY still
refuses (a month 13, a NULL in a NOT NULL column, a key clash, an integer past 64 bits) comes back
with its line, which is the record's index + 1, and its column: the problem names both, with the
message the domain's parser gives for that cell.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

from datainfra.adapters.postgres.errors import column_of, conflict_from, is_limit, limit_exceeded, relayed, scrub
from datainfra.adapters.postgres.identifiers import table_identifier
from datainfra.adapters.postgres.pool import answer_within, dump_json
from datainfra.adapters.postgres.row_writes import upsert_from_staging
from datainfra.adapters.postgres.sql_filters import column
from datainfra.adapters.postgres.staging import STAGING, create_staging, insert_staged
from datainfra.domain.csv_records import check_header, parse_csv_record, still_quoted
from datainfra.domain.errors import DomainError, InvalidInput, InvalidRequest
from datainfra.domain.model import Dataset
from datainfra.domain.records import OnConflict, WriteResult
from datainfra.domain.tabular_schema import TabularSchema
from datainfra.domain.types import BadValue, FieldType, parse_text
from datainfra.domain.value_text import float_text

_BOM = b"\xef\xbb\xbf"
_TEXT = rb'(?:[^,"\r\n\x00]++|"(?:[^"\r\n\x00]|"")*+")?+'
_YEAR = rb"(?:[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
_CANONICAL: dict[FieldType, bytes] = {
    # Forms PostgreSQL and domain.types read as the same value, whatever PostgreSQL's version and
    # settings (the session is UTC; `YYYY-MM-DD` is read as ISO under every DateStyle). Bounded so
    # that nothing here overflows: longer numbers take the parsed path (and its range checks).
    FieldType.INTEGER: rb"[+-]?[0-9]{1,18}",
    FieldType.FLOAT: rb"[+-]?[0-9]{1,40}(?:\.[0-9]{0,40})?(?:[eE][+-]?[0-9]{1,2})?",
    FieldType.NUMERIC: rb"[+-]?[0-9]{1,1000}(?:\.[0-9]{0,1000})?",
    FieldType.BOOLEAN: rb"(?:true|false|t|f)",
    FieldType.DATE: rb"(?!0000)[0-9]{4}-[0-9]{2}-[0-9]{2}",
    FieldType.TIMESTAMP: _YEAR + rb"-[0-9]{2}-[0-9]{2}[T ](?:[01][0-9]|2[0-3]):[0-5][0-9]"
    rb"(?::[0-5][0-9](?:\.[0-9]{1,6})?)?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?",
    FieldType.UUID: rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
}
_COPY_CELL = re.compile(r"COPY [^\n]*?, line (\d+)(?:, column ([^:\n]+): \"(.*)\")?", re.S)


@dataclass(frozen=True, slots=True)
class CsvPlan:
    """How one header of one schema is copied: its columns, the canonical-run pattern, the
    columns a record must give but the header leaves out."""

    columns: tuple[str, ...]
    types: tuple[FieldType, ...]
    canonical: re.Pattern[bytes] | None
    """Matches a run of canonical records (each ending with `eol`); None: every record is parsed."""
    missing_required: tuple[str, ...]
    eol: bytes


@lru_cache(maxsize=256)
def plan_for(schema: TabularSchema, header: tuple[str, ...], eol: bytes) -> CsvPlan:
    types = schema.field_types
    column_types = tuple(types[name] for name in header)
    missing = tuple(
        c.name
        for c in schema.columns
        if c.name not in header and not c.nullable and not c.has_default and not c.generated
    )
    canonical: re.Pattern[bytes] | None = None
    if all(t is FieldType.TEXT or t in _CANONICAL for t in column_types):
        cells = [_TEXT if t is FieldType.TEXT else rb"(?:" + _CANONICAL[t] + rb")?+" for t in column_types]
        # A blank line (skipped by the API, a row of NULLs to COPY) and a lone `\.` (the end of data to
        # COPY before PostgreSQL 18) never match: they take the parsed path.
        line = rb"(?!\r?\n|\\\.\r?\n)" + b",".join(cells) + re.escape(eol)
        canonical = re.compile(rb"(?:" + line + rb")*+")
    return CsvPlan(header, column_types, canonical, missing, eol)


class CsvCopier:
    """Feeds one CSV body (after its header) to a COPY: canonical runs as they came, other records
    parsed, typed and re-written; counts the records (blank lines are not records)."""

    def __init__(self, schema: TabularSchema, plan: CsvPlan) -> None:
        self.schema = schema
        self.plan = plan
        self.index = 0
        """Records handed to COPY so far: the next record's index."""
        self._carry = b""
        self._types = dict(zip(plan.columns, plan.types, strict=True))
        self.failure: DomainError | None = None
        """The first record found wrong here; `feed` returns the records before it, and it is raised
        once COPY has taken them (a record COPY refuses among those comes first, as in the body)."""

    def feed(self, chunk: bytes, *, final: bool = False) -> bytes:
        """The bytes to send to COPY for `chunk` (and what was carried from before); a record not yet
        complete is carried to the next call. `final`: the body ends here."""
        buffer = self._carry + chunk if self._carry else chunk
        out: list[bytes] = []
        pos = 0
        size = len(buffer)
        canonical = self.plan.canonical
        try:
            while pos < size:
                if canonical is not None:
                    matched = canonical.match(buffer, pos)  # the pattern matches the empty run too
                    end = matched.end() if matched else pos
                    if end > pos:
                        records = buffer.count(b"\n", pos, end)
                        if self.index == 0:
                            self._first_record()
                        self.index += records
                        out.append(buffer[pos:end])
                        pos = end
                        if pos == size:
                            break
                end = self._record_end(buffer, pos, final)
                if end < 0:
                    break
                rendered = self._parsed(buffer[pos:end])
                if rendered is not None:
                    out.append(rendered)
                pos = end
            self._carry = buffer[pos:]
            if final and self._carry:  # only an unterminated quoted field is left over
                raise InvalidRequest("the CSV body ends inside a quoted field", index=self.index)
        except DomainError as exc:  # sent after what precedes it, so COPY can judge that first
            self.failure = exc
        return b"".join(out)

    def _first_record(self) -> None:
        if self.plan.missing_required:
            name = self.plan.missing_required[0]
            raise InvalidInput(f"field {name!r} is required", index=0, field=name)

    def _record_end(self, buffer: bytes, pos: int, final: bool) -> int:
        """Where the logical record starting at `pos` ends (after its line break), -1 if not yet known."""
        in_quotes = False
        start = pos
        while True:
            newline = buffer.find(b"\n", start)
            if newline < 0:
                if not final:
                    return -1
                if in_quotes:
                    return -1
                return len(buffer)
            line = buffer[start:newline]
            if b'"' in line or in_quotes:
                in_quotes = still_quoted(_decoded(line), in_quotes, self.index)
            if not in_quotes:
                return newline + 1
            start = newline + 1

    def _parsed(self, raw: bytes) -> bytes | None:
        """One record the canonical pattern did not take: parsed and typed as the domain does, then
        written back in canonical form (None for a blank line)."""
        text = _decoded(raw)
        text = text.removesuffix("\n").removesuffix("\r")
        if text == "":
            return None
        index = self.index
        cells = parse_csv_record(text, index)
        width = len(self.plan.columns)
        if len(cells) != width:
            raise InvalidRequest(f"row has {len(cells)} cells, the header has {width}", index=index)
        record = self.schema.coerce_text_record(dict(zip(self.plan.columns, cells, strict=True)), index)
        if index == 0:
            self._first_record()
        self.index += 1
        return b",".join(_cell(record[name], self._types[name]) for name in self.plan.columns) + self.plan.eol


def _decoded(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("the body is not valid UTF-8") from None


def _cell(value: Any, field_type: FieldType) -> bytes:
    """A typed value as a CSV cell PostgreSQL reads back as the same value."""
    if value is None:
        return b""
    if field_type is FieldType.TEXT:
        text: str = value
        return b'"' + text.replace('"', '""').encode() + b'"'
    if field_type is FieldType.JSON:
        return b'"' + dump_json(value).replace(b'"', b'""') + b'"'
    if field_type is FieldType.BOOLEAN:
        return b"t" if value else b"f"
    if field_type is FieldType.FLOAT:
        return str(float_text(value)).encode()
    if field_type is FieldType.TIMESTAMP:
        return str(value.isoformat()).encode()
    return str(value).encode()


async def split_header(chunks: AsyncIterator[bytes]) -> tuple[list[str] | None, bytes, bytes, bytes]:
    """The header's column names (None: the body has none), the line ending it used, its own bytes
    and the bytes read past it; `chunks` goes on after those. Blank lines before the header are
    skipped and a leading byte order mark dropped, as `domain.csv_records` does."""
    pending = b""
    bom_checked = ended = in_quotes = False
    scanned = 0
    while True:
        if not ended:
            try:
                pending += await anext(chunks)
            except StopAsyncIteration:
                ended = True
        if not bom_checked and (len(pending) >= len(_BOM) or ended):
            pending = pending.removeprefix(_BOM)
            bom_checked = True
        while bom_checked and (newline := pending.find(b"\n", scanned)) >= 0:
            line = pending[scanned:newline]
            if not in_quotes and scanned == 0 and line.strip(b"\r") == b"":  # a blank line before the header
                pending = pending[newline + 1 :]
                continue
            in_quotes = still_quoted(_decoded(line), in_quotes, None)
            scanned = newline + 1
            if not in_quotes:
                raw = pending[:scanned]
                eol = b"\r\n" if raw.endswith(b"\r\n") else b"\n"
                return _header(raw), eol, raw, pending[scanned:]
        if ended:
            break
    if in_quotes:
        raise InvalidRequest("the CSV body ends inside a quoted field")
    if pending.strip(b"\r\n") == b"":
        return None, b"\n", b"", b""
    return _header(pending), b"\n", pending, b""


def _header(raw: bytes) -> list[str]:
    text = _decoded(raw).removesuffix("\n").removesuffix("\r")
    return check_header(parse_csv_record(text, None))


def copies(schema: TabularSchema, header: list[str]) -> bool:
    """Whether COPY can take a body with this header: each column is the schema's and none is the
    generated key (whose explicit values move its sequence: the typed path does that)."""
    for name in header:
        found = schema.column(name)
        if found is None or found.generated:
            return False
    return True


async def replay(head: bytes, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The body again from its start, for the typed path: what was read, then the rest."""
    yield head
    async for chunk in chunks:
        yield chunk


async def copy_csv(
    conn: psycopg.AsyncConnection[Any],
    dataset: Dataset,
    header: list[str],
    eol: bytes,
    rest: bytes,
    chunks: AsyncIterable[bytes],
    on_conflict: OnConflict,
    *,
    staged: bool = False,
) -> WriteResult:
    """The body's records into the dataset's table (ERROR) or through the staging table and one
    INSERT ... ON CONFLICT (UPDATE, IGNORE), inside the caller's transaction. `staged` (Citus): plain
    inserts go through the staging table too (`staging.insert_staged` names a row the table refuses)."""
    schema = dataset.tabular_schema
    plan = plan_for(schema, tuple(header), eol)
    copier = CsvCopier(schema, plan)
    names = sql.SQL(", ").join(column(n) for n in plan.columns)
    upsert = on_conflict is not OnConflict.ERROR
    if upsert or staged:
        await create_staging(conn, schema, numbered=True, not_null=plan.columns, ordered=upsert)
    target = STAGING if upsert or staged else table_identifier(dataset)
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(target, names)
    # The client paces a streamed body: no statement time limit while it arrives (as for exports).
    cur = await conn.execute("SELECT current_setting('statement_timeout'), set_config('statement_timeout', '0', true)")
    row = await cur.fetchone()
    limit = str(row[0]) if row else "0"
    try:
        with answer_within(conn, None):
            async with conn.cursor().copy(statement) as copy:
                async for chunk in _body(rest, chunks):
                    await _write(copy, copier.feed(chunk))
                    if copier.failure is not None:
                        break
                else:
                    await _write(copy, copier.feed(b"", final=True))
    except psycopg.Error as exc:
        raise _refusal(exc, schema, dataset.name) from None
    if copier.failure is not None:
        raise copier.failure
    await conn.execute("SELECT set_config('statement_timeout', %s, true)", [limit])
    count = copier.index
    if not upsert:
        if staged:
            await insert_staged(conn, dataset, plan.columns, 0)
        return WriteResult(inserted=count)
    inserted = await upsert_from_staging(conn, dataset, plan.columns, on_conflict)
    if on_conflict is OnConflict.IGNORE:
        return WriteResult(inserted=inserted, ignored=count - inserted)
    return WriteResult(inserted=inserted, updated=count - inserted)


async def _body(rest: bytes, chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    if rest:
        yield rest
    async for chunk in chunks:
        yield chunk


async def _write(copy: Any, data: bytes) -> None:
    if data:
        await copy.write(data)


def _refusal(exc: psycopg.Error, schema: TabularSchema, table: str) -> Exception:
    """What COPY refused → the problem naming the record (line N is index N - 1) and the field."""
    exc = relayed(exc)
    match = _COPY_CELL.search(exc.diag.context or "")
    index = int(match.group(1)) - 1 if match else None
    field = column_of(exc) or (match.group(2) if match and match.group(2) else None)
    if isinstance(exc, pg_errors.UniqueViolation):
        return conflict_from(exc, schema, table, index=index)
    if isinstance(exc, pg_errors.NotNullViolation) and field is not None:
        return InvalidInput(f"field {field!r} must not be null", index=index, field=field)
    if isinstance(exc, pg_errors.CharacterNotInRepertoire):
        return InvalidRequest("the body is not valid UTF-8", index=index)
    if isinstance(exc, pg_errors.OperationalError) and is_limit(exc):
        # A row too big is found when rows are flushed: the line COPY names is not that row's.
        too_big = "row is too big" in (exc.diag.message_primary or "")
        return limit_exceeded(exc, schema, table, index=None if too_big else index)
    if isinstance(exc, pg_errors.DataError | pg_errors.IntegrityError):
        message = scrub(str(exc.diag.message_primary or exc))
        column_ = schema.column(field) if field else None
        if column_ is not None and match and match.group(3) is not None:
            try:
                parse_text(match.group(3), column_.type)
            except BadValue as bad:
                message = str(bad)
        if field is not None:
            message = f"field {field!r}: {message}"
        return InvalidInput(message, index=index, field=field)
    return exc

"""The CSV dialect clients write (request bodies, archive entries): UTF-8, a header row naming the
columns, RFC 4180 quoting, and PostgreSQL's COPY rule for NULL: an unquoted empty cell is NULL, a
quoted empty cell ("") is the empty string. Blank lines are skipped; a leading byte order mark is
ignored; records end with LF or CRLF (a CRLF inside quotes is data).

Parsed record by record as the bytes arrive (pure: no I/O), so a bulk load never holds the whole
body. Data rows are indexed from 0 (the header is not a row); errors carry that index."""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterable, AsyncIterator

from datainfra.domain.errors import InvalidRequest
from datainfra.domain.records import Record
from datainfra.domain.tabular_schema import TabularSchema


async def line_batches(chunks: AsyncIterable[bytes]) -> AsyncIterator[list[str]]:
    """The complete text lines (without their "\n", with any "\r") of each piece of a UTF-8 stream,
    a list per piece: per-line hand-offs between generators cost more than the parsing itself."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    pending = ""
    first = True
    try:
        async for chunk in chunks:
            pending += decoder.decode(chunk)
            if first and pending:
                pending = pending.removeprefix("\ufeff")
                first = False
            *complete, pending = pending.split("\n")
            if complete:
                yield complete
        pending += decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise InvalidRequest("the body is not valid UTF-8") from None
    if pending:
        yield [pending]


def still_quoted(line: str, in_quotes: bool, index: int | None) -> bool:
    """Scan one physical line of CSV; return whether it ends inside a quoted field. A quote that
    neither opens a field nor closes/escapes inside one is refused here, with its row index, rather
    than swallowing the lines that follow."""
    at_field_start = not in_quotes
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if in_quotes:
            if ch == '"':
                if i + 1 < n and line[i + 1] == '"':
                    i += 2
                    continue
                in_quotes = False
            i += 1
            continue
        if ch == '"':
            if not at_field_start:
                raise InvalidRequest(
                    'a quote inside an unquoted CSV field; quote the field and double the "', index=index
                )
            in_quotes = True
        at_field_start = ch == ","
        i += 1
    return in_quotes


async def _csv_records(chunks: AsyncIterable[bytes]) -> AsyncIterator[list[str]]:
    """Logical CSV records, in batches: physical lines joined while a quoted field spans line breaks
    (a CRLF inside quotes is kept as it was sent; the CRLF that ends a record is not data). A line
    without quotes outside a quoted field is a record as it stands. A malformed line is reported
    only after the records before it are handed on, as if they went one by one."""
    buffer: list[str] = []
    in_quotes = False
    row = -1  # the header is row -1, data rows count from 0
    async for lines in line_batches(chunks):
        records: list[str] = []
        try:
            for line in lines:
                if not in_quotes and '"' not in line:
                    record = line.removesuffix("\r")
                    if record:
                        row += 1
                    records.append(record)
                    continue
                buffer.append(line)
                in_quotes = still_quoted(line, in_quotes, row if row >= 0 else None)
                if not in_quotes:
                    record = "\n".join(buffer).removesuffix("\r")
                    buffer = []
                    if record:
                        row += 1
                    records.append(record)
        except InvalidRequest:
            if records:
                yield records
            raise
        yield records
    if buffer:
        raise InvalidRequest("the CSV body ends inside a quoted field", index=row + 1 if row >= 0 else None)


def parse_csv_record(text: str, index: int | None) -> list[str | None]:
    """One logical CSV record → its cells (None for an unquoted empty cell)."""
    cells: list[str | None] = []
    i, n = 0, len(text)
    while True:
        if i < n and text[i] == '"':
            i += 1
            parts: list[str] = []
            while True:
                end = text.find('"', i)
                if end < 0:
                    raise InvalidRequest("unterminated quoted CSV field", index=index)
                parts.append(text[i:end])
                if end + 1 < n and text[end + 1] == '"':
                    parts.append('"')
                    i = end + 2
                    continue
                i = end + 1
                break
            cells.append("".join(parts))
            if i < n and text[i] != ",":
                raise InvalidRequest("a quoted CSV field must be followed by a comma or the line end", index=index)
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            cell = text[i:end]
            if '"' in cell:
                raise InvalidRequest(
                    'a quote inside an unquoted CSV field; quote the field and double the "', index=index
                )
            cells.append(cell if cell != "" else None)
            i = end
        if i >= n:
            return cells
        i += 1  # the comma
        if i == n:
            cells.append(None)
            return cells


async def csv_rows(chunks: AsyncIterable[bytes]) -> AsyncIterator[dict[str, str | None]]:
    """CSV body → one dict per data row, keyed by the header row."""
    header: list[str] | None = None
    width = 0
    index = 0
    async for records in _csv_records(chunks):
        for record in records:
            if header is None:
                if record == "":
                    continue
                header = check_header(parse_csv_record(record, None))
                width = len(header)
                continue
            if record == "":
                continue
            cells: list[str | None]
            if '"' in record:
                cells = parse_csv_record(record, index)
            else:  # no quotes: split on commas, an empty cell is NULL
                cells = record.split(",")  # type: ignore[assignment]
                if "" in cells:
                    cells = [cell or None for cell in cells]
            if len(cells) != width:
                raise InvalidRequest(f"row has {len(cells)} cells, the header has {width}", index=index)
            yield dict(zip(header, cells, strict=False))
            index += 1
    if header is None:
        raise InvalidRequest("the CSV body has no header row")


def check_header(names: list[str | None]) -> list[str]:
    """The header's cells as column names: each named, once (else a 400)."""
    if any(name is None for name in names) or len(set(names)) != len(names):
        raise InvalidRequest("the CSV header must name each column once")
    return [str(name) for name in names]


async def typed_csv_records(schema: TabularSchema, chunks: AsyncIterable[bytes]) -> AsyncIterator[Record]:
    """A CSV body → complete typed records, as `TabularStore.insert_records` takes them: each row's
    cells typed by `TabularSchema.coerce_text_record` (InvalidInput naming index and field),
    columns the header leaves out filled with their default (the generated key stays absent)."""
    index = 0
    async for row in csv_rows(chunks):
        yield schema.coerce_text_record(row, index, fill_defaults=True)
        index += 1

"""The sans-IO core both clients share: a `Call` says what to send (method, path, query, body) and
how to read the answer; `RetryPolicy` says when and how long to wait before sending it again; the
paging rule says which call fetches the next page. Nothing here opens a socket, so the sync client
(`sync.py`) and the async one (`aio.py`) differ only in how they send."""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Generic, Literal, Protocol, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from datainfra_client.errors import ApiError, problem_error
from datainfra_client.models import Page

T = TypeVar("T")

JSON = "application/json"
CSV = "text/csv"
NDJSON = "application/x-ndjson"
PARQUET = "application/vnd.apache.parquet"
GRAPHML = "application/graphml+xml"
ZIP = "application/zip"
OPERATORS = frozenset({"eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "like", "ilike", "is"})
USER_AGENT = "datainfra-client/0.1"

Paging = Literal["none", "get", "search", "repost"]
FilterValue = Any
"""A filter's value: "op:value" text (`"gte:18"`), an (op, value) pair (`("gte", 18)`), a plain value
(meaning eq; None means is:null), or a list of those (a range: `["gte:18", "lt:65"]`)."""


class Progress(Protocol):
    """Told how far an upload or download has got (absolute counts; a retry starts again at 0)."""

    def start(self, total_bytes: int | None, total_rows: int | None) -> None: ...

    def update(self, bytes_done: int, rows_done: int) -> None: ...

    def finish(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Body:
    """A request body that can be produced again (for a retry): `chunks()` gives a fresh iterator of
    its bytes each time, so a file or a generator streams and is never held whole in memory.
    `rows`: whether newlines count rows for progress (CSV, NDJSON), minus `header_lines`."""

    content_type: str
    chunks: Callable[[], Iterator[bytes]]
    total_bytes: int | None = None
    total_rows: int | None = None
    rows: bool = False
    header_lines: int = 0

    @classmethod
    def json(cls, document: Any) -> Body:
        data = encode(document)
        return cls(JSON, lambda: iter((data,)), total_bytes=len(data))

    def counted(self, progress: Progress | None) -> Iterator[bytes]:
        """This body's chunks, telling `progress` the bytes and rows sent so far."""
        if progress is None:
            yield from self.chunks()
            return
        progress.start(self.total_bytes, self.total_rows)
        sent = rows = 0
        for chunk in self.chunks():
            sent += len(chunk)
            if self.rows:
                rows += chunk.count(b"\n")
            progress.update(sent, max(rows - self.header_lines, 0))
            yield chunk


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One API operation: the request to send and `decode`, which turns a successful answer into T.
    `paging` says how a page's `next` is followed: GET it, POST it as the body (search), or POST the
    same body to it (ranked algorithms)."""

    method: str
    path: str
    decode: Callable[[httpx.Response], T]
    params: tuple[tuple[str, str], ...] = ()
    body: Body | None = None
    headers: tuple[tuple[str, str], ...] = ()
    paging: Paging = "none"

    def request_headers(self, api_key: str | None) -> dict[str, str]:
        """Headers of every attempt of this call: the key, the body's type, and for a POST a fresh
        Idempotency-Key, so a retried write is stored once (README: Retrying writes)."""
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        if api_key is not None:
            headers["X-API-Key"] = api_key
        if self.body is not None:
            headers["Content-Type"] = self.body.content_type
        if self.method == "POST" and api_key is not None:
            headers["Idempotency-Key"] = uuid.uuid4().hex
        headers.update(self.headers)
        return headers


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries of 429, 502 and 503 answers and of broken connections: up to `attempts` tries in
    all, waiting what Retry-After says (capped at `max_delay`), else `backoff` doubled each time with
    jitter. A 409 with Retry-After on a keyed POST (its first try still running) is waited out too.
    `sleep` is the wait (replaceable in tests)."""

    attempts: int = 5
    backoff: float = 0.25
    max_delay: float = 30.0
    statuses: frozenset[int] = frozenset({429, 502, 503})
    jitter: Callable[[], float] = field(default=random.random)

    def retryable(self, response: httpx.Response, keyed: bool) -> bool:
        if response.status_code in self.statuses:
            return True
        return keyed and response.status_code == 409 and "retry-after" in response.headers

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait before try number `attempt + 1` (`attempt` counts from 1)."""
        told = parse_retry_after(retry_after)
        if told is not None:
            return min(told, self.max_delay)
        grown: float = self.backoff * (2 ** (attempt - 1)) * (1 + self.jitter())
        return min(grown, self.max_delay)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date (RFC 9110); None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max((when - dt.datetime.now(dt.UTC)).total_seconds(), 0.0)


def check(response: httpx.Response) -> httpx.Response:
    """The response if it is a success, else its problem document raised as a typed ApiError."""
    if response.status_code >= 400:
        raise problem_error(response.status_code, response.content, response.reason_phrase)
    return response


def problem_of(response: httpx.Response) -> ApiError:
    return problem_error(response.status_code, response.content, response.reason_phrase)


# -- encoding --------------------------------------------------------------------------------------


def _enc_hook(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot send a {type(value).__name__} as JSON")


_ENCODER = msgspec.json.Encoder(enc_hook=_enc_hook, decimal_format="number")


def encode(document: Any) -> bytes:
    """JSON bytes (dates and times as ISO 8601, Decimals as numbers, numpy scalars as their values)."""
    return _ENCODER.encode(document)


def ndjson_chunks(records: Iterable[Mapping[str, Any]], batch: int = 1000) -> Iterator[bytes]:
    """NDJSON lines of `records`, `batch` lines per chunk (so an iterator streams in steps)."""
    lines: list[bytes] = []
    for record in records:
        lines.append(_ENCODER.encode(record))
        if len(lines) >= batch:
            yield b"\n".join(lines) + b"\n"
            lines = []
    if lines:
        yield b"\n".join(lines) + b"\n"


def decode_as(shape: type[T]) -> Callable[[httpx.Response], T]:
    """A decoder reading the answer's JSON as `shape`."""
    return lambda response: msgspec.json.decode(response.content, type=shape)


def decode_json(response: httpx.Response) -> Any:
    return msgspec.json.decode(response.content) if response.content else None


def decode_nothing(response: httpx.Response) -> None:
    return None


# -- paths and query strings -----------------------------------------------------------------------


def segment(value: str) -> str:
    """One path segment (ids may hold any character)."""
    return quote(str(value), safe="")


def dataset_path(session: str, dataset: str) -> str:
    return f"/sessions/{segment(session)}/datasets/{segment(dataset)}"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return str(value)


def filter_text(value: FilterValue) -> list[str]:
    """A filter's `op:value` texts (see FilterValue)."""
    if isinstance(value, list):
        return [text for item in value for text in filter_text(item)]
    if isinstance(value, tuple) and len(value) == 2 and value[0] in OPERATORS:
        op, operand = value
        if isinstance(operand, list | tuple | set | frozenset):
            operand = ",".join(_quoted(_text(v)) for v in operand)
        elif operand is None:
            operand = "null"
        return [f"{op}:{_text(operand)}"]
    if value is None:
        return ["is:null"]
    if isinstance(value, str) and value.split(":", 1)[0] in OPERATORS and ":" in value:
        return [value]
    return [f"eq:{_text(value)}"]


def _quoted(text: str) -> str:
    if "," in text or '"' in text or "\\" in text:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def query_params(
    filters: Mapping[str, FilterValue] | None = None,
    *,
    select: Sequence[str] | str | None = None,
    sort: Sequence[str] | str | None = None,
    limit: int | None = None,
    count: bool = False,
    **extra: Any,
) -> tuple[tuple[str, str], ...]:
    """The query string of a page, filter or export: filters as field=op:value, then the rest."""
    pairs: list[tuple[str, str]] = []
    for name, value in (filters or {}).items():
        pairs.extend((name, text) for text in filter_text(value))
    if select is not None:
        pairs.append(("select", select if isinstance(select, str) else ",".join(select)))
    if sort is not None:
        pairs.append(("sort", sort if isinstance(sort, str) else ",".join(sort)))
    if limit is not None:
        pairs.append(("limit", str(limit)))
    if count:
        pairs.append(("count", "exact"))
    for name, value in extra.items():
        if value is None:
            continue
        values = value if isinstance(value, list | tuple) else [value]
        pairs.extend((name, _text(v)) for v in values)
    return tuple(pairs)


# -- paging ----------------------------------------------------------------------------------------


def follow(call: Call[Page], page: Page) -> Call[Page] | None:
    """The call that fetches the page after `page`, or None when it was the last."""
    if page.next is None or call.paging == "none":
        return None
    if call.paging == "get":
        return replace(call, path=str(page.next), params=())
    if call.paging == "search":
        return replace(call, body=Body.json(page.next))
    return replace(call, path=str(page.next), params=())


def page_call(path: str, params: tuple[tuple[str, str], ...]) -> Call[Page]:
    return Call("GET", path, decode_as(Page), params=params, paging="get")

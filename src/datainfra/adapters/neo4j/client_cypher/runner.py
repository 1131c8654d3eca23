"""Neo4jCypherRunner: a client's Cypher over one graph dataset (the raw query endpoint's Cypher side).

A query is rewritten into the dataset's namespace (`client_cypher.rewrite`), EXPLAINed and its plan checked
(`plan_check`): under read-only limits the EXPLAIN and the query are auto-commit statements of two
read-only sessions started together, the rows used only once the plan is checked (see `_read`), else
one write transaction holds EXPLAIN, check, run and commit, the plan checked before the query runs;
the server ends each after the time limit. Rows stream in until the row cap (a write is consumed to
the end so it commits whole). Nodes, relationships and paths come back
as `domain.graph` values with the client's ids, labels and types; anything that is not of the
dataset reaching a result is a server fault (500), never shown. Driver errors caused by the query
become 4xx errors whose messages have the internal names put back into the client's terms.

Neo4j only checks a transaction's time limit between rows, so work inside one expression (a
`range()`, `reduce`, list comprehension...) is bounded before it runs: the rewriter caps `range()`
and nested iterations (`budget.MAX_RANGE`, `MAX_NESTED_STEPS`), parameters are capped here
(`MAX_PARAMETER_LIST`, `MAX_PARAMETER_VALUES`), and each dataset owner may run at most
`MAX_CONCURRENT_PER_OWNER` Cypher queries at once over every API process (`WorkSlots`, in the catalog;
more → 429), so one tenant holds at most that many Neo4j worker threads however long its expressions
run and however many API processes serve it.
"""

from __future__ import annotations

import asyncio
import functools
import math
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from decimal import Decimal
from typing import Any

import neo4j
from neo4j import exceptions as neo4j_errors
from neo4j._codec.hydration import BrokenHydrationObject  # what the driver leaves for a value it cannot build
from neo4j.graph import Node as NeoNode
from neo4j.graph import Path as NeoPath
from neo4j.graph import Relationship as NeoRelationship
from neo4j.spatial import Point
from neo4j.time import Date as NeoDate
from neo4j.time import DateTime as NeoDateTime
from neo4j.time import Duration as NeoDuration
from neo4j.time import Time as NeoTime

from datainfra.adapters.neo4j.bookmarks import DatasetBookmarks
from datainfra.adapters.neo4j.client_cypher.budget import (
    GUARD_LIMIT_MARKER,
    RANGE_LIMIT_MARKER,
    RANGE_TYPE_MARKER,
    RANGE_TYPE_REFUSAL,
    guard_refusal,
    range_refusal,
)
from datainfra.adapters.neo4j.client_cypher.plan_check import check_plan
from datainfra.adapters.neo4j.client_cypher.rewrite import ORDER_KEY_PARAM_PREFIX, RewrittenQuery, rewrite
from datainfra.adapters.neo4j.client_cypher.typed_values import is_typed, typed_value
from datainfra.adapters.neo4j.driver import pipelined_begin, translated_errors
from datainfra.adapters.neo4j.namespacing import INTERNAL_PREFIX, KEY, LABELS, TYPE, Namespace, order_key
from datainfra.adapters.neo4j.values import decode_properties, decode_value
from datainfra.domain.errors import Conflict, InvalidInput, InvalidRequest, StoreTimeout, TooManyRequests
from datainfra.domain.graph import Edge, Node, Path
from datainfra.domain.graph_schema import GraphSchema
from datainfra.domain.json_depth import MAX_JSON_DEPTH, result_depth_refusal, value_depth_exceeds
from datainfra.domain.model import Dataset
from datainfra.domain.names import name_problem
from datainfra.domain.ports.graph_bookmarks import GraphBookmarks
from datainfra.domain.ports.query_runners import CypherQueryRunner
from datainfra.domain.ports.work_slots import WorkSlots
from datainfra.domain.queries import QueryLimits, QueryResult, ResultColumn, check_query_text, cypher_parameters

CLIENT_GRACE = 5.0
"""Seconds past the server-side time limit after which the client gives up on its own."""
_INT64 = (-(2**63), 2**63 - 1)
MAX_PARAMETER_LIST = 10_000
"""Most items one list parameter (at any depth) may have."""
MAX_PARAMETER_VALUES = 100_000
"""Most values (scalars, lists and maps, at any depth) all parameters of one query may hold together."""
MAX_CONCURRENT_PER_OWNER = 2
"""Most Cypher queries one dataset owner may run at once, over every API process (more → 429)."""
SLOT_KIND = "cypher"
SLOT_LEASE_MARGIN_S = 30.0
"""A slot's lease outlasts the query's own time limit (and the client's grace) by this much; a
process that died holding it frees it then."""


REWRITES_CACHED = 512
"""Rewritten queries remembered per process (the rewrite is a pure function of text and namespace)."""
REWRITES_CACHED_TEXT = 4096
"""Longest query text (characters) whose rewrite is remembered."""


@functools.lru_cache(maxsize=REWRITES_CACHED)
def _rewritten(text: str, ns: Namespace) -> RewrittenQuery:
    """`rewrite(text, ns)`, remembered: a pure function of its arguments (its refusals are raised
    afresh each time). The plan check is not remembered: it checks the plan Neo4j makes now."""
    return rewrite(text, ns)


class IsolationBreach(RuntimeError):
    """A value from outside the dataset reached a result: a bug to fix, never data to show (500)."""


class Neo4jCypherRunner(CypherQueryRunner):
    def __init__(
        self,
        driver: neo4j.AsyncDriver,
        *,
        database: str = "neo4j",
        max_timeout: float = 60.0,
        max_concurrent_per_owner: int = MAX_CONCURRENT_PER_OWNER,
        slots: WorkSlots,
        bookmarks: GraphBookmarks | None = None,
    ) -> None:
        self._bookmarks = bookmarks
        """Each dataset's bookmarks (a routing URI: read-your-writes on a cluster), or None."""
        self._driver = driver
        self._database = database
        self._max_timeout = max_timeout
        self._max_concurrent = max_concurrent_per_owner
        self._slots = slots

    async def run_cypher(
        self, dataset: Dataset, text: str, parameters: Mapping[str, Any], limits: QueryLimits
    ) -> QueryResult:
        check_query_text(text)
        ns = Namespace.of(dataset.id)
        query = _rewritten(text, ns) if len(text) <= REWRITES_CACHED_TEXT else rewrite(text, ns)
        if limits.read_only and query.writes:
            raise InvalidRequest("this query writes: send it with read_only set to false", field="query")
        bound = _bind(query, parameters)
        timeout = max(0.001, min(limits.timeout_ms / 1000, self._max_timeout))
        async with self._slot(dataset.owner_id, timeout):
            try:
                async with asyncio.timeout(timeout + CLIENT_GRACE):
                    return await self._run(dataset, ns, query, bound, limits, timeout)
            except TimeoutError:
                raise StoreTimeout("the graph store gave up on a statement that ran too long") from None

    def _bookmark_manager(self, dataset: Dataset) -> DatasetBookmarks | None:
        return DatasetBookmarks(self._bookmarks, dataset.id) if self._bookmarks is not None else None

    @asynccontextmanager
    async def _slot(self, owner: str, timeout: float) -> AsyncIterator[None]:
        """One of the owner's concurrent query slots (over every API process), or TooManyRequests."""
        lease = timeout + CLIENT_GRACE + SLOT_LEASE_MARGIN_S
        held = await self._slots.claim(owner, SLOT_KIND, self._max_concurrent, lease)
        if held is None:
            raise TooManyRequests(
                f"too many Cypher queries of this user are running at once (at most {self._max_concurrent}); "
                "retry when one has finished"
            )
        try:
            yield
        finally:
            await asyncio.shield(self._slots.release(held))

    async def _run(
        self,
        dataset: Dataset,
        ns: Namespace,
        query: RewrittenQuery,
        bound: dict[str, Any],
        limits: QueryLimits,
        timeout: float,
    ) -> QueryResult:
        with _translated(query):
            if limits.read_only:
                read = await self._read(dataset, ns, query, bound, limits, timeout)
                if read is not None:
                    return read
            return await self._in_transaction(dataset, ns, query, bound, limits, timeout)

    async def _read(
        self,
        dataset: Dataset,
        ns: Namespace,
        query: RewrittenQuery,
        bound: dict[str, Any],
        limits: QueryLimits,
        timeout: float,
    ) -> QueryResult | None:
        """A read in the time of one query: the query and its EXPLAIN start together, each an
        auto-commit statement of its own read-only session (RUN and PULL sent together, no BEGIN or
        ROLLBACK), and the query's rows are used only once the plan is checked. A plan the check
        refuses cancels the query at once (the client waits only for the EXPLAIN), so nothing it read
        is ever shown and its time cannot be observed. Safe for reads only: the rewriter found no
        write clause (`run_cypher` refused it otherwise), both sessions are READ access (Neo4j refuses
        a write in them) and a plan that writes is refused by `_check`. One transaction around both
        would not tie the plan that runs to the plan checked either (Neo4j plans the text again, from
        its plan cache, in the same transaction or not). None when the result needs its
        relationships' ends looked up: those must be read in the query's own transaction."""
        fetch_size = min(limits.max_rows + 1, 1000)
        bookmarks = self._bookmark_manager(dataset)
        async with (
            self._driver.session(
                database=self._database, default_access_mode=neo4j.READ_ACCESS, bookmark_manager=bookmarks
            ) as checking,
            self._driver.session(
                database=self._database,
                default_access_mode=neo4j.READ_ACCESS,
                fetch_size=fetch_size,
                bookmark_manager=bookmarks,
            ) as reading,
        ):
            running = asyncio.create_task(_read_rows(reading, query, bound, limits, timeout))
            try:
                explain = neo4j.Query("EXPLAIN " + query.text, timeout=timeout)
                explained = await (await checking.run(explain, bound)).consume()
                _check(explained, ns, limits)
            except BaseException:
                running.cancel()
                await asyncio.wait([running])
                if not running.cancelled():
                    running.exception()  # retrieved, never shown: the EXPLAIN's answer is the request's
                raise
            keys, records, truncated = await running
            rows = await _Converter(None, ns, dataset.graph_schema, query.writes).rows(records)
        if rows is None:
            return None
        return _result(keys, records, rows, query, truncated, None)

    async def _in_transaction(
        self,
        dataset: Dataset,
        ns: Namespace,
        query: RewrittenQuery,
        bound: dict[str, Any],
        limits: QueryLimits,
        timeout: float,
    ) -> QueryResult:
        """EXPLAIN, check, run and (for a write) commit in one transaction: a write is all or nothing.
        The BEGIN travels with the EXPLAIN (`pipelined_begin`)."""
        access = neo4j.READ_ACCESS if limits.read_only else neo4j.WRITE_ACCESS
        async with self._driver.session(
            database=self._database,
            default_access_mode=access,
            fetch_size=min(limits.max_rows + 1, 1000),
            bookmark_manager=self._bookmark_manager(dataset),
        ) as session:
            with pipelined_begin(session):
                tx = await session.begin_transaction(timeout=timeout)
            try:
                explained = await (await tx.run("EXPLAIN " + query.text, bound)).consume()
                _check(explained, ns, limits)
                result = await tx.run(query.text, bound)
                keys = list(result.keys())
                records, truncated = await _records(result, limits.max_rows, query.writes)
                rows = await _Converter(tx, ns, dataset.graph_schema, query.writes).rows(records)
                assert rows is not None  # a converter with a transaction looks ends up itself
                affected = None
                if query.writes:
                    affected = _affected(await result.consume())
                    await tx.commit()
            finally:
                if not tx.closed():
                    await tx.close()
        return _result(keys, records, rows, query, truncated, affected)


def _check(explained: neo4j.ResultSummary, ns: Namespace, limits: QueryLimits) -> None:
    """The EXPLAIN plan stays in the dataset (`check_plan`); a read-only request's plan only reads."""
    check_plan(explained.plan or {}, ns)
    if limits.read_only and explained.query_type not in (None, "r"):
        raise InvalidRequest("this query writes: send it with read_only set to false", field="query")


async def _read_rows(
    session: neo4j.AsyncSession, query: RewrittenQuery, bound: dict[str, Any], limits: QueryLimits, timeout: float
) -> tuple[list[str], list[list[Any]], bool]:
    """The columns, rows (at most the cap) and whether there were more, of a read run in `session`."""
    result = await session.run(neo4j.Query(query.text, timeout=timeout), bound)
    keys = list(result.keys())
    records, truncated = await _records(result, limits.max_rows, query.writes)
    return keys, records, truncated


async def _records(result: neo4j.AsyncResult, max_rows: int, writes: bool) -> tuple[list[list[Any]], bool]:
    """At most `max_rows` records' values, and whether there were more (a write is read to its end,
    so it commits whole); a value the driver could not build is refused."""
    records: list[list[Any]] = []
    truncated = False
    async for record in result:
        if len(records) < max_rows:
            records.append(list(record.values()))
        else:
            truncated = True
            if not writes:
                break
    if (cause := _unreadable(records)) is not None:
        raise InvalidInput(unreadable_value(cause), field="query")
    return records, truncated


# -- parameters -----------------------------------------------------------------------------------


def _bind(query: RewrittenQuery, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The client's parameters (checked JSON values, numbers with a fraction as floats) plus ours."""
    bound: dict[str, Any] = {}
    budget = _Budget()
    for name, value in cypher_parameters(dict(parameters)).items():  # names as the domain allows them
        budget.parameter = f"parameters.{name}"
        bound[name] = _json_value(value, budget.parameter, budget)
    missing = sorted(query.client_parameters - set(bound))
    if missing:
        raise InvalidRequest(f"the query uses parameters that were not given: {', '.join(missing)}", field="parameters")
    for name, cap in query.guarded_parameters.items():
        if isinstance(bound.get(name), list) and len(bound[name]) > cap:
            raise InvalidRequest(guard_refusal(), field="query")
    for name in query.map_parameters:
        value = bound[name]
        if not isinstance(value, dict):
            raise InvalidRequest(f"${name} is used as a property map: it must be an object", field=f"parameters.{name}")
        for key in value:
            problem = name_problem(key)
            if problem is not None:
                raise InvalidRequest(f"property {key!r} {problem}", field=f"parameters.{name}")
        bound[ORDER_KEY_PARAM_PREFIX + name] = {order_key(key): None for key in value}
    bound.update(query.parameters)
    return bound


class _Budget:
    """How many more parameter values a query may bind (`MAX_PARAMETER_VALUES` in all)."""

    def __init__(self) -> None:
        self.left = MAX_PARAMETER_VALUES
        self.parameter = "parameters"
        """The field of the top-level parameter being checked (named by the refusal)."""

    def take(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise InvalidRequest(
                f"the parameters hold more than {MAX_PARAMETER_VALUES} values in all: send less data per query",
                field=self.parameter,
            )


def _json_value(value: Any, where: str, budget: _Budget) -> Any:
    """A checked JSON value as the driver binds it: a number with a fraction (the HTTP layer's
    Decimal) becomes a float, an integer stays an integer, a typed value (`typed_values`) its
    driver value; lists and maps at most
    `MAX_PARAMETER_LIST` items, all values together at most `MAX_PARAMETER_VALUES`."""
    budget.take()
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise InvalidRequest("an integer parameter must fit in 64 bits", field=where)
        return value
    if isinstance(value, float | Decimal):
        number = float(value)
        if not math.isfinite(number):
            raise InvalidRequest("a number parameter must fit in a 64-bit float", field=where)
        return number
    if isinstance(value, list | dict) and len(value) > MAX_PARAMETER_LIST:
        what = "list" if isinstance(value, list) else "object"
        raise InvalidRequest(
            f"a {what} parameter may have at most {MAX_PARAMETER_LIST} items (this one has {len(value)}): "
            "send less data per query",
            field=where,
        )
    if isinstance(value, list):
        return [_json_value(item, f"{where}[{i}]", budget) for i, item in enumerate(value)]
    if isinstance(value, dict) and is_typed(value):
        return typed_value(value, where)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidRequest("object keys must be strings", field=where)
            out[key] = _json_value(item, f"{where}.{key}", budget)
        return out
    raise InvalidRequest("a parameter must be a JSON value", field=where)


# -- results --------------------------------------------------------------------------------------


class _Converter:
    """Driver values → domain values. A relationship's end nodes come without properties unless
    the record also holds them, so their client ids are looked up (by element id, in the same
    transaction) for the edges that need them."""

    def __init__(self, tx: neo4j.AsyncTransaction | None, ns: Namespace, schema: GraphSchema, writes: bool) -> None:
        self.tx = tx
        self.ns = ns
        self.schema = schema
        self.writes = writes
        self.keys: dict[str, str] = {}

    async def rows(self, records: list[list[Any]]) -> list[list[Any]] | None:
        """The records as domain values; None when ends must be looked up and there is no transaction."""
        if any(value_depth_exceeds(value, MAX_JSON_DEPTH) for record in records for value in record):
            raise InvalidInput(result_depth_refusal(MAX_JSON_DEPTH), field="query")
        missing: set[str] = set()
        for value in _walk(records):
            if isinstance(value, NeoRelationship):
                for end in (value.start_node, value.end_node):
                    if end is not None and KEY not in end:
                        missing.add(end.element_id)
                    elif end is not None:
                        self.keys[end.element_id] = end[KEY]
        if missing:
            if self.tx is None:
                return None
            await self._look_up(self.tx, sorted(missing))
        return [[self.value(v) for v in record] for record in records]

    async def _look_up(self, tx: neo4j.AsyncTransaction, element_ids: list[str]) -> None:
        result = await tx.run(
            f"UNWIND $ids AS e MATCH (n:{self.ns.n}) WHERE elementId(n) = e RETURN e, n.`{KEY}` AS k", ids=element_ids
        )
        async for record in result:
            self.keys[record["e"]] = record["k"]

    def value(self, value: Any) -> Any:
        if isinstance(value, NeoNode):
            return self.node(value)
        if isinstance(value, NeoRelationship):
            return self.edge(value)
        if isinstance(value, NeoPath):
            return Path(nodes=tuple(self.node(n) for n in value.nodes), edges=tuple(self.edge(r) for r in value))
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, dict):
            return self.mapping(value)
        return decode_value(value, None)  # temporals, durations and points: values.py's JSON forms

    def node(self, node: NeoNode) -> Node:
        if self.ns.node_label not in node.labels:
            self._deleted_or_breach(not node.labels and not len(node), "node")
        stored = dict(node.items())
        labels = tuple(stored.get(LABELS) or ())
        return Node(stored[KEY], labels, decode_properties(stored, self.schema.node_property_types(labels)))

    def edge(self, rel: NeoRelationship) -> Edge:
        if rel.type != self.ns.rel_type:
            self._deleted_or_breach(rel.type == "", "relationship")
        stored = dict(rel.items())
        ends = [self.keys.get(end.element_id) if end is not None else None for end in rel.nodes]
        if ends[0] is None or ends[1] is None:
            raise IsolationBreach("a relationship of a query result has an end outside its dataset")
        rel_type = stored[TYPE]
        properties = decode_properties(stored, self.schema.edge_property_types((rel_type,)))
        return Edge(stored[KEY], ends[0], ends[1], rel_type, properties)

    def _deleted_or_breach(self, looks_deleted: bool, what: str) -> None:
        if self.writes and looks_deleted:
            raise InvalidRequest(
                f"the query returns a {what} it deleted: return what you need of it (e.g. its id) before deleting it",
                field="query",
            )
        raise IsolationBreach(f"a {what} from outside the dataset reached a query result")

    def mapping(self, value: Mapping[str, Any]) -> dict[str, Any]:
        """A map without internal keys; a node's or relationship's property map (properties(n),
        n {.*}) is decoded with the declared types of its labels or type."""
        labels, rel_type = value.get(LABELS), value.get(TYPE)
        if isinstance(labels, list):
            declared = self.schema.node_property_types(tuple(labels))
        elif isinstance(rel_type, str):
            declared = self.schema.edge_property_types((rel_type,))
        else:
            declared = {}
        return {
            key: (decode_value(item, declared[key]) if key in declared else self.value(item))
            for key, item in value.items()
            if not key.startswith(INTERNAL_PREFIX)
        }


def _walk(value: Any) -> Iterator[Any]:
    if isinstance(value, list):
        for item in value:
            yield from _walk(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, NeoPath):
        yield from value.relationships
    else:
        yield value


_TYPES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (NeoNode, "node"),
    (NeoRelationship, "relationship"),
    (NeoPath, "path"),
    (bool, "boolean"),
    (int, "integer"),
    (float, "float"),
    (str, "string"),
    (list, "list"),
    (dict, "map"),
    (NeoDateTime, "datetime"),
    (NeoDate, "date"),
    (NeoTime, "time"),
    (NeoDuration, "duration"),
    (Point, "point"),
    (bytes, "bytes"),
)


def _type_name(value: Any) -> str:
    if isinstance(value, NeoDateTime | NeoTime) and value.tzinfo is None:
        return "localdatetime" if isinstance(value, NeoDateTime) else "localtime"
    return next((name for kind, name in _TYPES if isinstance(value, kind)), "any")


def column_type(values: list[Any]) -> str:
    """The one type of a column's values (nulls aside): `date`, `node` ...; `list<T>` when every
    value is a list and every item of them a T (`list<list<date>>`); `list` when the items differ
    (or there are none); `null` when all are null; `any` when the values differ."""
    present = [value for value in values if value is not None]
    if not present:
        return "null"
    if all(isinstance(value, list) for value in present):
        inner = column_type([item for value in present for item in value])
        return "list" if inner in ("null", "any") else f"list<{inner}>"
    kinds = {_type_name(value) for value in present}
    return kinds.pop() if len(kinds) == 1 else "any"


def _result(
    keys: list[str],
    records: list[list[Any]],
    rows: list[list[Any]],
    query: RewrittenQuery,
    truncated: bool,
    affected: int | None,
) -> QueryResult:
    """Columns renamed back to the client's text; generated variables (from RETURN *) dropped."""
    shown = [k for k, key in enumerate(keys) if not query.columns.get(key, key).startswith(INTERNAL_PREFIX)]
    columns = []
    for k in shown:
        columns.append(
            ResultColumn(query.columns.get(keys[k], keys[k]), column_type([record[k] for record in records]))
        )
    return QueryResult(
        columns=tuple(columns),
        rows=[[row[k] for k in shown] for row in rows],
        truncated=truncated,
        affected=affected,
    )


def _affected(summary: neo4j.ResultSummary) -> int:
    """Nodes and relationships created or deleted; for a query that only sets properties, the
    properties it changed."""
    c = summary.counters
    entities = c.nodes_created + c.nodes_deleted + c.relationships_created + c.relationships_deleted
    return entities or c.properties_set


# -- errors ---------------------------------------------------------------------------------------


@contextmanager
def _translated(query: RewrittenQuery) -> Iterator[None]:
    """Errors the query caused → 4xx with the client's names; the rest as `translated_errors`."""
    with translated_errors():
        try:
            yield
        except neo4j_errors.ConstraintError as exc:
            raise Conflict(f"a value that must be unique already exists: {scrub(exc.message or '', query)}") from exc
        except neo4j_errors.Neo4jError as exc:
            code = exc.code or ""
            if "TransactionTimedOut" in code or code.endswith("Transaction.Terminated"):
                raise
            if "OutOfMemory" in code or "MemoryPool" in code:
                raise InvalidRequest(
                    "the query needs more memory than one query may use: make it work on less data at a time "
                    "(fewer rows per collect(), smaller lists and strings)",
                    field="query",
                ) from exc
            if RANGE_LIMIT_MARKER in (exc.message or ""):
                raise InvalidRequest(range_refusal(None), field="query") from exc
            if RANGE_TYPE_MARKER in (exc.message or ""):
                raise InvalidRequest(RANGE_TYPE_REFUSAL, field="query") from exc
            if GUARD_LIMIT_MARKER in (exc.message or ""):
                raise InvalidRequest(guard_refusal(), field="query") from exc
            if code.startswith(("Neo.ClientError.Statement.", "Neo.ClientError.Schema.", "Neo.ClientError.Request.")):
                raise InvalidRequest(
                    scrub(exc.message or "the graph store refused the query", query), field="query"
                ) from exc
            raise
        except neo4j_errors.BrokenRecordError as exc:  # a value the driver cannot build in Python
            raise InvalidInput(unreadable_value(exc.__cause__ or exc), field="query") from exc
        except (TypeError, ValueError, OverflowError) as exc:  # the driver refusing a value
            raise InvalidRequest(f"the graph store cannot take a value: {exc}", field="parameters") from exc


def unreadable_value(cause: BaseException) -> str:
    """What Neo4j returned that the driver could not build (dates and times outside years 1-9999 are
    read as text by far_temporals; this is for anything else, e.g. a zone the driver does not know).
    At the top of a record such a value breaks the record; inside a list, a map, a node or a
    relationship it is left as a BrokenHydrationObject."""
    return f"the query returned a value this service cannot read ({cause}); return it as text instead, e.g. toString(x)"


def _unreadable(records: list[list[Any]]) -> BaseException | None:
    """The error of the first value the driver could not build, anywhere in the records."""
    for value in _walk(records):
        inner = list(value.values()) if isinstance(value, NeoNode | NeoRelationship) else [value]
        for item in _walk(inner):
            if isinstance(item, BrokenHydrationObject):
                error: BaseException = item.error
                return error
    return None


_POSITION = re.compile(r"\s*\(line \d+, column \d+ \(offset: \d+\)\)")
_SCRUBS = (
    (re.compile(r"`?L_[0-9a-f]{32}__([A-Za-z0-9_]+)`?"), r"\1"),
    (re.compile(r"`?D_[0-9a-f]{32}`?"), "(dataset)"),
    (re.compile(r"`?R_[0-9a-f]{32}`?"), "(relationship)"),
    (re.compile(r"`?#o:([A-Za-z0-9_]+)`?"), r"\1"),
    (re.compile(r"`?#(id|labels|type)`?"), r"\1"),
    (re.compile(r"`?#[nrk]\d*`?"), "_"),
    (re.compile(r"\$?_ds_o_([A-Za-z0-9_]+)"), r"$\1"),
    (re.compile(r"\b(Node|Relationship)\(\d+\)"), r"\1"),
    (re.compile(r"\b([Nn]ode|[Rr]elationship) with id \d+"), r"\1"),  # an id of the shared store
    (re.compile(r"\$?`?_ds_[A-Za-z0-9_]+`?"), "(a value of the query)"),  # any other parameter of ours
    (re.compile(r"'?\d+:[0-9a-f-]{36}:\d+'?"), "..."),
)


def scrub(message: str, query: RewrittenQuery) -> str:
    """A Neo4j message in the client's terms: its first line (the rest echoes our rewritten text),
    no position in that text, our parameters and aliases back to what the client wrote, internal
    names to the client's (or away)."""
    text = _POSITION.sub("", message.strip().split("\n", 1)[0])
    for name in sorted(query.literals, key=len, reverse=True):
        literal = query.literals[name]
        text = text.replace("$" + name, literal).replace(f"parameter '{name}'", f"value {literal}")
        text = text.replace(f"'{name}'", literal).replace(name, literal)
    for alias, original in query.columns.items():
        text = text.replace(f"`{alias}`", original).replace(alias, original)
    for pattern, replacement in _SCRUBS:
        text = pattern.sub(replacement, text)
    return text

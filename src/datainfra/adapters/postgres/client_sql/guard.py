"""Safe-mode check of a user's raw SQL statement, parsed by PostgreSQL's own parser (pglast / libpg_query).

This is the second line of defence behind the user's database role: it refuses, before anything reaches the
server, what safe mode does not allow -- statement types other than SELECT/INSERT/UPDATE/DELETE (optionally under
WITH), functions outside a small allowlist of pure ones, schema-qualified or catalog relations, SELECT INTO,
casts to OID-alias types and anything that changes session state. It never executes or rewrites the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pglast import ast
from pglast.parser import ParseError, parse_sql, parse_sql_json

from datainfra.domain.errors import InvalidRequest
from datainfra.domain.json_depth import json_depth_exceeds

MAX_SQL_BYTES = 64 * 1024

MAX_SQL_NESTING = 4_000
"""Deepest syntax tree (levels of libpg_query's JSON tree) the guard builds in Python. pglast builds its AST
recursively in C with no depth check: about 20,000 levels (`SELECT 1+1+...` with 10,000 terms, a 10,000-way
UNION) overflow the C stack and kill the whole process. Each binary operator of a chain adds two levels, so a
chain of about 1,990 operators still fits; legitimate SQL stays far below that."""

_FIELD = "query"

_KINDS = {"SelectStmt": "select", "InsertStmt": "insert", "UpdateStmt": "update", "DeleteStmt": "delete"}

# Pure (or harmless) functions a user may call. Everything else -- pg_sleep, set_config, current_setting,
# pg_read_file, lo_*, dblink, advisory locks, txid_*, nextval, generate_series, repeat, query_to_xml ... -- is refused.
ALLOWED_FUNCTIONS: frozenset[str] = frozenset(
    {
        # numeric
        "abs", "ceil", "ceiling", "floor", "round", "trunc", "sign", "mod", "div", "power", "pow", "sqrt", "cbrt",
        "exp", "ln", "log", "log10", "pi", "degrees", "radians", "width_bucket", "scale", "gcd", "lcm",
        "sin", "cos", "tan", "asin", "acos", "atan", "atan2",
        # text
        "lower", "upper", "initcap", "length", "char_length", "character_length", "octet_length", "bit_length",
        "concat", "concat_ws", "substring", "substr", "left", "right", "position", "strpos", "overlay",
        "trim", "btrim", "ltrim", "rtrim", "replace", "translate", "reverse", "split_part", "starts_with",
        "regexp_replace", "regexp_match", "regexp_like", "regexp_count", "regexp_instr", "regexp_substr",
        "md5", "ascii", "chr", "format", "quote_literal", "quote_nullable", "to_hex", "normalize", "is_normalized",
        "similar_to_escape", "string_to_array", "array_to_string",
        # date / time
        "now", "date_trunc", "date_part", "extract", "date_bin", "age", "timezone", "make_date", "make_time",
        "make_timestamp", "make_timestamptz", "make_interval", "justify_days", "justify_hours", "justify_interval",
        "isfinite", "to_char", "to_date", "to_number", "to_timestamp", "overlaps",
        # conditional / comparison (COALESCE, NULLIF, GREATEST, LEAST parse to their own nodes; listed for clarity)
        "coalesce", "nullif", "greatest", "least", "num_nulls", "num_nonnulls",
        # aggregates
        "count", "sum", "avg", "min", "max", "string_agg", "array_agg", "bool_and", "bool_or", "every",
        "stddev", "stddev_pop", "stddev_samp", "variance", "var_pop", "var_samp", "corr", "covar_pop", "covar_samp",
        "regr_slope", "regr_intercept", "regr_count", "regr_r2", "regr_avgx", "regr_avgy",
        "percentile_cont", "percentile_disc", "mode", "any_value",
        # window
        "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead",
        "first_value", "last_value", "nth_value",
        # arrays
        "array_length", "cardinality", "array_position", "array_positions", "array_append", "array_prepend",
        "array_cat", "array_remove", "array_replace", "array_lower", "array_upper", "array_ndims", "unnest",
        # json / jsonb builders and accessors
        "to_json", "to_jsonb", "row_to_json", "array_to_json", "json_build_object", "jsonb_build_object",
        "json_build_array", "jsonb_build_array", "json_object", "jsonb_object", "json_agg", "jsonb_agg",
        "json_object_agg", "jsonb_object_agg", "json_typeof", "jsonb_typeof", "json_array_length",
        "jsonb_array_length", "json_extract_path", "jsonb_extract_path", "json_extract_path_text",
        "jsonb_extract_path_text", "json_array_elements", "jsonb_array_elements", "json_array_elements_text",
        "jsonb_array_elements_text", "json_each", "jsonb_each", "json_each_text", "jsonb_each_text",
        "json_object_keys", "jsonb_object_keys", "jsonb_set", "jsonb_insert", "jsonb_strip_nulls",
        "json_strip_nulls", "jsonb_pretty", "jsonb_path_exists", "jsonb_path_match", "jsonb_path_query",
        "jsonb_path_query_array", "jsonb_path_query_first",
    }
)  # fmt: skip

# Casting text to these types looks up catalog objects by name (or exposes raw identifiers).
_FORBIDDEN_TYPES: frozenset[str] = frozenset(
    {
        "regclass", "regproc", "regprocedure", "regoper", "regoperator", "regtype", "regnamespace", "regrole",
        "regconfig", "regdictionary", "regcollation", "oid", "xid", "xid8", "cid", "tid", "pg_lsn", "pg_snapshot",
        "txid_snapshot", "aclitem",
    }
)  # fmt: skip

# Expression / FROM nodes refused outright, whatever their content.
_FORBIDDEN_NODES: dict[str, str] = {
    "RangeTableFunc": "XMLTABLE is not allowed",
    "XmlExpr": "XML functions are not allowed",
    "XmlSerialize": "XML functions are not allowed",
    "CurrentOfExpr": "WHERE CURRENT OF (cursors) is not allowed",
    "IntoClause": "SELECT ... INTO is not allowed",
}

_WRITES = frozenset({"InsertStmt", "UpdateStmt", "DeleteStmt"})

_TABLESAMPLE_METHODS = frozenset({"system", "bernoulli"})


@dataclass(frozen=True, slots=True)
class GuardedStatement:
    """A statement that passed the guard.

    kind is the top-level statement ("select", "insert", "update", "delete"); writes is true when any part of it
    (including a data-modifying CTE under a SELECT) changes rows; tables are the unqualified relation names it
    mentions, CTE names left out (a CTE shadowing a table of the same name hides that table from this list);
    parameters is the highest $n it uses (0 when none).
    """

    text: str
    kind: str
    writes: bool
    tables: frozenset[str]
    parameters: int = 0


def _refuse(detail: str) -> InvalidRequest:
    return InvalidRequest(detail, field=_FIELD)


def _names(items: Any) -> list[str]:
    """The string values of a list of String nodes (function / type / operator names)."""
    return [str(item.sval) for item in items or () if isinstance(item, ast.String)]


def _parse(text: str) -> tuple[ast.RawStmt, ...]:
    if len(text) > MAX_SQL_BYTES:
        raise _refuse(f"query is longer than {MAX_SQL_BYTES} bytes")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise _refuse("query is not valid UTF-8 text") from None
    if size > MAX_SQL_BYTES:
        raise _refuse(f"query is longer than {MAX_SQL_BYTES} bytes")
    if "\x00" in text:
        raise _refuse("query contains a NUL character")
    try:
        # libpg_query bounds its own recursion (a clean "stack depth limit exceeded" error), and its JSON
        # output shows how deep the tree is before pglast's unbounded C code builds Python objects from it.
        if json_depth_exceeds(parse_sql_json(text), MAX_SQL_NESTING):
            raise _refuse(
                f"query is nested too deeply: its syntax tree has more than {MAX_SQL_NESTING} levels, at most "
                f"{MAX_SQL_NESTING} are allowed (split long chains of operators, UNIONs or nested expressions)"
            )
        return tuple(parse_sql(text))
    except ParseError as exc:
        raise _refuse(f"SQL syntax error: {_parse_error_text(exc)}") from None
    except RecursionError:
        raise _refuse("query is nested too deeply") from None


def _parse_error_text(exc: ParseError) -> str:
    """The parser's message; its own resource limits are said plainly (they mean "too deep", not "bad syntax")."""
    message = str(exc)
    if "stack depth limit exceeded" in message or message.startswith("memory exhausted"):
        return f"{message} (the query is nested too deeply or its operator chains are too long)"
    return message


def check_statement(text: str, *, read_only: bool) -> GuardedStatement:
    """Parse *text* and return what it is, or raise InvalidRequest (field "query") saying why safe mode refuses it."""
    stmts = _parse(text)
    if len(stmts) != 1:
        raise _refuse(f"exactly one SQL statement is required, got {len(stmts)}")
    top = stmts[0].stmt
    top_type = type(top).__name__
    if top_type not in _KINDS:
        raise _refuse(f"statement type {top_type} is not allowed; only SELECT, INSERT, UPDATE, DELETE")
    kind = _KINDS[top_type]
    if read_only and kind != "select":
        raise _refuse(f"{kind.upper()} is not allowed in a read-only query")
    tables, ctes, writes, parameters = _walk(top, read_only=read_only)
    return GuardedStatement(text=text, kind=kind, writes=writes, tables=frozenset(tables - ctes), parameters=parameters)


def _walk(root: Any, *, read_only: bool) -> tuple[set[str], set[str], bool, int]:
    """Visit every node of the parse tree iteratively (no recursion limit), checking each.

    Returns the relation names, the CTE names, whether any node modifies rows and the highest $n.
    """
    tables: set[str] = set()
    ctes: set[str] = set()
    writes = False
    parameters = 0
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, list | tuple):
            stack.extend(node)
        elif isinstance(node, ast.Node):
            name = type(node).__name__
            _check_node(name, node, read_only=read_only, tables=tables, ctes=ctes)
            writes = writes or name in _WRITES
            if name == "ParamRef":
                parameters = max(parameters, int(getattr(node, "number", 0) or 0))
            stack.extend(getattr(node, attr) for attr in node)
    return tables, ctes, writes, parameters


def _check_node(name: str, node: Any, *, read_only: bool, tables: set[str], ctes: set[str]) -> None:
    if name.endswith("Stmt") and name not in _KINDS:
        raise _refuse(f"statement type {name} is not allowed")
    if name in _WRITES and read_only:
        raise _refuse("data-modifying statements (including in WITH) are not allowed in a read-only query")
    if name in _FORBIDDEN_NODES:
        raise _refuse(_FORBIDDEN_NODES[name])
    if name == "SelectStmt":
        if getattr(node, "intoClause", None):
            raise _refuse("SELECT ... INTO is not allowed")
        if getattr(node, "lockingClause", None) and read_only:
            raise _refuse("FOR UPDATE / FOR SHARE locking clauses are not allowed in a read-only query")
    elif name == "WithClause":
        if getattr(node, "recursive", None):
            raise _refuse("WITH RECURSIVE is not allowed")
    elif name == "CommonTableExpr":
        ctes.add(str(getattr(node, "ctename", None) or ""))
    elif name == "RangeVar":
        _check_relation(node, tables)
    elif name == "FuncCall":
        _check_function(_names(getattr(node, "funcname", None)))
    elif name == "TypeName":
        type_names = _names(getattr(node, "names", None))
        if type_names and type_names[-1].lower() in _FORBIDDEN_TYPES:
            raise _refuse(f"type {type_names[-1]} is not allowed")
    elif name == "RangeTableSample":
        method = _names(getattr(node, "method", None))
        if len(method) != 1 or method[0].lower() not in _TABLESAMPLE_METHODS:
            raise _refuse("only TABLESAMPLE SYSTEM or BERNOULLI is allowed")


def _check_relation(node: Any, tables: set[str]) -> None:
    relname = str(getattr(node, "relname", None) or "")
    if getattr(node, "schemaname", None) or getattr(node, "catalogname", None):
        raise _refuse(f"schema-qualified table names are not allowed; name the table {relname!r} unqualified")
    if relname.lower().startswith("pg_"):
        raise _refuse(f"system catalog relation {relname!r} is not allowed")
    tables.add(relname)


def _check_function(parts: list[str]) -> None:
    shown = ".".join(parts)
    if not parts:
        raise _refuse("function call without a name is not allowed")
    # The parser itself qualifies SQL-syntax functions (EXTRACT, SUBSTRING, TRIM ...) with pg_catalog.
    if len(parts) > 2 or (len(parts) == 2 and parts[0] != "pg_catalog"):
        raise _refuse(f"function {shown} is not allowed")
    if parts[-1] not in ALLOWED_FUNCTIONS:
        raise _refuse(f"function {shown} is not allowed")

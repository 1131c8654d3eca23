"""A client's Cypher, scoped to one dataset's namespace (pure, no driver; tokens from `tokens`).

Many tenants' datasets share one Neo4j database (see `namespacing`), so a client query must only ever
touch its own dataset. The client writes its own labels, types and `id`; `rewrite` turns them into
the stored scheme: every node pattern gets the dataset label and namespaced client labels, every
relationship pattern the dataset type with the client's types as a `#type` predicate, `x.id` reads
`#id`, `labels(n)` / `type(r)` read `#labels` / `#type`, CREATE and MERGE add the internal
properties, and SET/REMOVE keep them intact. What cannot be scoped is refused (`InvalidRequest`,
field "query") with a detail saying what to do instead.

Neo4j only ever receives text this module emits, so its lexer cannot see a boundary ours did not:
string literals become parameters, comments are dropped, quoted names are re-quoted, and
backslashes or non-ASCII characters outside strings are refused (Neo4j decodes ``\\uXXXX`` escapes
before it tokenizes anything, even inside quoted names). The plan check (`plan_check`) is the
second line: whatever this module misses must still run as a plan anchored on the dataset.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from datainfra.adapters.neo4j.client_cypher.bounds import MAX_NESTING, check_shape
from datainfra.adapters.neo4j.client_cypher.tokens import NAME, Kind, Token, quoted_value, string_value, tokenize
from datainfra.adapters.neo4j.namespacing import KEY, LABELS, TYPE, Namespace, order_key, quote
from datainfra.domain.errors import InvalidRequest
from datainfra.domain.names import NAME_PATTERN, name_problem

FIELD = "query"
OWN_PARAM_PREFIX = "_ds_"
"""Parameters the rewrite adds start with this; client parameter names must not start with `_`."""
ORDER_KEY_PARAM_PREFIX = OWN_PARAM_PREFIX + "o_"
"""`SET n += $p` also binds `$_ds_o_p`: the order keys of p's properties, set to null."""
ALLOWED_PROCEDURES: frozenset[str] = frozenset()
"""Procedures a client may CALL (none: every built-in one reaches outside the dataset)."""
FUNCTION_NAMESPACES = frozenset(
    {"point", "date", "datetime", "localdatetime", "time", "localtime", "duration", "vector"}
)
"""Namespaced functions a client may call; `db.*`, `dbms.*`, `apoc.*`, `gds.*`, `graph.*`... are refused."""
MAX_RANGE = 1_000_000
"""Most elements one `range()` may make: more is refused (integer literals) or fails when it runs."""
MAX_NESTED_STEPS = 1_000_000
"""Most steps nested iterations may multiply to (see `check_iterations`)."""
UNKNOWN_LIST_SIZE = 10_000
"""What a list the query text does not spell out counts as (the most items a list parameter may have)."""
RANGE_LIMIT_MARKER = "datainfra: range() exceeds its element limit"
"""In the error a guarded `range()` raises when it runs (Neo4j echoes the text it cannot parse)."""


def range_refusal(count: int | None) -> str:
    """The detail of a refused `range()`: `count` elements when known (integer literals)."""
    size = f"{count} elements" if count is not None else f"more than {MAX_RANGE} elements"
    return (
        f"range() would make {size}; a query may make at most {MAX_RANGE} (Neo4j cannot stop a loop inside "
        "one expression at the time limit): work on smaller ranges, or page through the data"
    )


Q_KEY = quote(KEY)
Q_LABELS = quote(LABELS)
Q_TYPE = quote(TYPE)


# -- result ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RewrittenQuery:
    """The text to run (with `parameters` bound beside the client's), whether it writes, the client
    parameters used as whole property maps (`SET n += $p`: the runner checks them and binds their
    order-key parameter), and result columns to rename (generated alias → the client's text)."""

    text: str
    writes: bool
    parameters: Mapping[str, Any] = field(default_factory=dict)
    map_parameters: frozenset[str] = frozenset()
    client_parameters: frozenset[str] = frozenset()
    columns: Mapping[str, str] = field(default_factory=dict)
    literals: Mapping[str, str] = field(default_factory=dict)
    """Our string parameters → the literal the client wrote (to put back into error messages)."""


def _refuse(detail: str) -> NoReturn:
    raise InvalidRequest(detail, field=FIELD)


def rewrite(text: str, ns: Namespace) -> RewrittenQuery:
    """`text` scoped to namespace `ns`, or InvalidRequest when it cannot be."""
    significant = _significant(tokenize(text))
    check_shape(significant)
    check_iterations(significant)
    rewriter = _Rewriter(significant, text, ns)
    out = rewriter.statement()
    return RewrittenQuery(
        text=out.strip(),
        writes=rewriter.writes,
        parameters=dict(rewriter.params),
        map_parameters=frozenset(rewriter.map_params),
        client_parameters=frozenset(rewriter.client_params),
        columns=dict(rewriter.columns),
        literals=dict(rewriter.literals),
    )


@dataclass(frozen=True, slots=True)
class _Tok:
    """A significant token with the whitespace before it (comments become one space)."""

    kind: Kind
    text: str
    pre: str
    start: int
    end: int


def _significant(tokens: list[Token]) -> list[_Tok]:
    out: list[_Tok] = []
    pre: list[str] = []
    for token in tokens:
        if not token.closed:
            what = {Kind.STRING: "string", Kind.QUOTED: "quoted name", Kind.COMMENT: "comment"}.get(token.kind, "token")
            _refuse(f"the query ends inside a {what}: close it")
        if token.kind is Kind.SPACE:
            pre.append(token.text)
        elif token.kind is Kind.COMMENT:
            pre.append(" ")
        elif token.kind is Kind.OTHER:
            if token.text == "\\":
                _refuse("a backslash is only allowed inside a string literal")
            _refuse(
                f"unexpected character {token.text!r} at offset {token.start}: outside string literals a query is "
                "ASCII (quote other names with backticks)"
            )
        else:
            if token.kind in (Kind.NAME, Kind.QUOTED, Kind.PARAM):
                _check_written_name(token)
            out.append(_Tok(token.kind, token.text, "".join(pre), token.start, token.end))
            pre = []
    semicolons = [k for k, t in enumerate(out) if t.kind is Kind.SYMBOL and t.text == ";"]
    if semicolons and semicolons[0] != len(out) - 1:
        _refuse("only one statement per query: remove the ';' and send the statements one by one")
    if semicolons:
        out.pop()
    if not out:
        _refuse("the query is empty")
    return out


RESERVED_NAME = re.compile(r"[DLR]_[0-9a-f]{32}")
"""Names of this shape are the store's own (dataset labels and types): no client may write one."""


def _check_written_name(token: Token) -> None:
    text = token.text[1:] if token.kind is Kind.PARAM else token.text
    value = quoted_value(text) if text.startswith("`") else text
    if token.kind is not Kind.PARAM and value.startswith("#"):
        _refuse(f"names starting with '#' are reserved: {value!r}")
    if "\\" in value:
        _refuse(f"a quoted name must not contain a backslash: {value!r}")
    if RESERVED_NAME.match(value):
        _refuse(f"names like {value[:2]}<32 hex digits>... are reserved: {value!r}")


# -- label expressions ----------------------------------------------------------------------------

_Lx = tuple[Any, ...]
"""A label (or relationship type) expression: ("name", s) | ("any",) | ("not", x) | ("and", [..]) | ("or", [..])."""


def _lx_names(lx: _Lx, op: str) -> list[str] | None:
    """The names of a pure conjunction (op "and") or disjunction (op "or") of names, else None."""
    if lx[0] == "name":
        return [lx[1]]
    if lx[0] == op:
        names: list[str] = []
        for part in lx[1]:
            sub = _lx_names(part, op)
            if sub is None:
                return None
            names.extend(sub)
        return names
    return None


# -- the rewriter ---------------------------------------------------------------------------------

_CLAUSE_STOPS = frozenset(
    {
        "MATCH", "OPTIONAL", "MERGE", "CREATE", "WITH", "RETURN", "UNWIND", "SET", "REMOVE", "DELETE", "DETACH",
        "NODETACH", "CALL", "FOREACH", "UNION", "WHERE", "ORDER", "SKIP", "LIMIT", "OFFSET", "ON", "USE", "LOAD",
        "FINISH", "USING", "YIELD", "AS", "ASC", "DESC", "ASCENDING", "DESCENDING", "INSERT", "SHOW", "TERMINATE",
    }
)  # fmt: skip
"""Words that end an expression at its top level (a variable with such a name needs backticks)."""

_OPERATOR_WORDS = frozenset(
    {
        "AND", "OR", "XOR", "NOT", "IN", "IS", "STARTS", "ENDS", "CONTAINS", "WITH", "CASE", "WHEN", "THEN", "ELSE",
        "END", "DISTINCT", "WHERE", "NULL", "TRUE", "FALSE", "AS", "ASC", "DESC", "TYPED", "NORMALIZED",
    }
)  # fmt: skip
_NOT_A_LABEL_AFTER_IS = frozenset({"NULL", "NOT", "TYPED", "NORMALIZED", "NFC", "NFD", "NFKC", "NFKD"})
_SUBQUERY_START = frozenset({"MATCH", "OPTIONAL", "WITH", "UNWIND", "CALL", "RETURN", "UNION", "CREATE", "MERGE"})
_UPDATING = frozenset({"CREATE", "MERGE", "SET", "REMOVE", "DELETE", "DETACH", "NODETACH", "FOREACH"})
_SELECTOR_WORDS = frozenset({"ANY", "ALL", "SHORTEST", "GROUP", "GROUPS", "PATH", "PATHS"})

_ADMIN = (
    "administration and schema commands are not allowed: a dataset's indexes and constraints come from its "
    "schema (the dataset routes)"
)
_REFUSED_CLAUSES = {
    "USE": "USE is not allowed: a query runs against its own dataset only",
    "LOAD": "LOAD CSV is not allowed: send the data as parameters (e.g. UNWIND $rows AS row ...)",
    "SHOW": "SHOW commands are not allowed",
    "EXPLAIN": "EXPLAIN and PROFILE are not allowed: send the query itself",
    "PROFILE": "EXPLAIN and PROFILE are not allowed: send the query itself",
    "CYPHER": "CYPHER pre-parser options are not allowed: send the query without them",
    "INSERT": "INSERT is not supported: use CREATE",
    "ORDER": "ORDER BY, SKIP and LIMIT must follow WITH or RETURN",
    "SKIP": "ORDER BY, SKIP and LIMIT must follow WITH or RETURN",
    "OFFSET": "ORDER BY, SKIP and LIMIT must follow WITH or RETURN",
    "LIMIT": "ORDER BY, SKIP and LIMIT must follow WITH or RETURN",
    "WHERE": "WHERE must follow MATCH, OPTIONAL MATCH or WITH",
    "USING": "planner hints (USING INDEX / SCAN / JOIN) are not supported",
    **{word: _ADMIN for word in ("GRANT", "DENY", "REVOKE", "ALTER", "DROP", "START", "STOP", "TERMINATE", "RENAME")},
    **{word: _ADMIN for word in ("ENABLE", "DEALLOCATE", "REALLOCATE", "DRYRUN")},
}


class _Rewriter:
    """Recursive descent over the significant tokens, emitting the scoped text.

    Expressions are not parsed into a tree: they are scanned, and only what needs scoping is
    rewritten (patterns, label predicates, `.id`, a few functions, subqueries). `scope` tracks the
    variables bound at each clause, which CREATE and MERGE need (a bound `(a)` is a reference, an
    unbound one a new node that must get the dataset label); it errs towards "unbound", so a doubt
    ends in a Neo4j error, never in a node outside the dataset."""

    def __init__(self, toks: list[_Tok], source: str, ns: Namespace) -> None:
        self.toks = toks
        self.src = source
        self.ns = ns
        self.i = 0
        self.end = _Tok(Kind.END, "", "", len(source), len(source))
        self.closers = self._match_brackets()
        self.params: dict[str, Any] = {}
        self.literals: dict[str, str] = {}
        self.map_params: set[str] = set()
        self.client_params: set[str] = set()
        self.columns: dict[str, str] = {}
        self._aliases: dict[str, str] = {}
        self.writes = False
        self.node_vars: set[str] = set()
        self.rel_vars: set[str] = set()
        self._generated = 0
        self._on_create: list[str] = []
        self._returned: set[str] = set()

    # -- token helpers ----------------------------------------------------------------------------

    def _match_brackets(self) -> dict[int, int]:
        pairs = {"(": ")", "[": "]", "{": "}"}
        stack: list[int] = []
        closers: dict[int, int] = {}
        for k, t in enumerate(self.toks):
            if t.kind is not Kind.SYMBOL:
                continue
            if t.text in pairs:
                stack.append(k)
                if len(stack) > MAX_NESTING:
                    _refuse(f"the query nests brackets more than {MAX_NESTING} deep")
            elif t.text in (")", "]", "}"):
                if not stack or pairs[self.toks[stack[-1]].text] != t.text:
                    _refuse(f"unbalanced {t.text!r} at offset {t.start}")
                closers[stack.pop()] = k
        if stack:
            _refuse(f"unclosed {self.toks[stack[-1]].text!r} at offset {self.toks[stack[-1]].start}")
        return closers

    def peek(self, k: int = 0) -> _Tok:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else self.end

    def sym(self, text: str, k: int = 0) -> bool:
        t = self.peek(k)
        return t.kind is Kind.SYMBOL and t.text == text

    def kw(self, *words: str, k: int = 0) -> bool:
        t = self.peek(k)
        return t.kind is Kind.NAME and t.text.upper() in words

    def advance(self) -> _Tok:
        t = self.peek()
        if t.kind is Kind.END:
            self.fail("the query ends too early")
        self.i += 1
        return t

    def take(self) -> str:
        t = self.advance()
        return t.pre + self.canonical(t)

    def expect(self, text: str) -> str:
        if not self.sym(text):
            self.fail(f"expected {text!r}")
        return self.take()

    def expect_kw(self, word: str) -> str:
        if not self.kw(word):
            self.fail(f"expected {word}")
        return self.take()

    def fail(self, detail: str) -> NoReturn:
        t = self.peek()
        where = f" (at offset {t.start}: {self.src[t.start : t.start + 25]!r})" if t.kind is not Kind.END else ""
        _refuse(detail + where)

    def canonical(self, t: _Tok) -> str:
        """A token as Neo4j gets it: strings as parameters, quoted names re-quoted."""
        if t.kind is Kind.STRING:
            name = f"{OWN_PARAM_PREFIX}s{len(self.params)}"
            self.params[name] = string_value(t.text)
            self.literals[name] = t.text
            return "$" + name
        if t.kind is Kind.QUOTED:
            return quote(self.quoted(t))
        if t.kind is Kind.PARAM:
            name = quoted_value(t.text[1:]) if t.text.startswith("$`") else t.text[1:]
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
                _refuse(f"parameter ${name}: a parameter name is a letter followed by letters, digits or _")
            self.client_params.add(name)
            return "$" + name
        if t.kind is Kind.SYMBOL and t.text == "$":
            self.fail("dynamic labels, types or properties ($(...)) are not supported")
        return t.text

    def quoted(self, t: _Tok) -> str:
        value = quoted_value(t.text)
        if "\\" in value:
            _refuse(f"a quoted name must not contain a backslash: {value!r}")
        if value.startswith("#"):
            _refuse(f"names starting with '#' are reserved: {value!r}")
        return value

    def name_of(self, t: _Tok) -> str:
        return self.quoted(t) if t.kind is Kind.QUOTED else t.text

    def is_name(self, k: int = 0) -> bool:
        return self.peek(k).kind in (Kind.NAME, Kind.QUOTED)

    def is_variable(self, k: int = 0) -> bool:
        t = self.peek(k)
        return t.kind is Kind.QUOTED or (t.kind is Kind.NAME and t.text.upper() not in _OPERATOR_WORDS)

    def schema_name(self, what: str, *, write: bool = False) -> str:
        """A label, type or property name: validated (the graph routes' rule when it is written)."""
        t = self.peek()
        if t.kind not in (Kind.NAME, Kind.QUOTED):
            self.fail(f"expected a {what} name")
        self.advance()
        name = self.name_of(t)
        problem = (
            name_problem(name)
            if write
            else (None if NAME_PATTERN.fullmatch(name) else "must match ^[A-Za-z_][A-Za-z0-9_]*$")
        )
        if problem is not None:
            _refuse(f"{what} {name!r} {problem}")
        return name

    def generated(self, letter: str) -> str:
        self._generated += 1
        return quote(f"#{letter}{self._generated}")

    # -- statement and clauses --------------------------------------------------------------------

    def statement(self) -> str:
        text, _returned = self.query(set())
        if self.peek().kind is not Kind.END:
            self.fail("unexpected text after the query")
        return text

    def query(self, scope: set[str], *, importing: bool = False) -> tuple[str, set[str]]:
        """Single queries joined by UNION; returns the text and the names the last RETURN exports.
        `importing`: a `CALL { }` body, where a branch sees `scope` only through a leading WITH."""
        parts: list[str] = []
        while True:
            visible = scope if not importing or self.kw("WITH") else set()
            text, returned = self.single_query(set(visible))
            parts.append(text)
            if not self.kw("UNION"):
                return "".join(parts), returned
            parts.append(self.take())
            if self.kw("ALL", "DISTINCT"):
                parts.append(self.take())

    def single_query(self, scope: set[str]) -> tuple[str, set[str]]:
        parts: list[str] = []
        returned: set[str] = set()
        while not (self.peek().kind is Kind.END or self.sym("}") or self.sym(")") or self.kw("UNION")):
            is_return = self.kw("RETURN")
            parts.append(self.clause(scope))
            if is_return:
                returned = set(self._returned)
        if not parts:
            self.fail("expected a clause such as MATCH, CREATE or RETURN")
        return "".join(parts), returned

    def clause(self, scope: set[str]) -> str:
        t = self.peek()
        word = t.text.upper() if t.kind is Kind.NAME else ""
        if word == "MATCH":
            return self.match_clause(scope)
        if word == "OPTIONAL":
            if self.kw("MATCH", k=1):
                return self.match_clause(scope)
            if self.kw("CALL", k=1):
                return self.take() + self.call_clause(scope)
            self.fail("expected OPTIONAL MATCH or OPTIONAL CALL")
        if word == "CREATE":
            return self.create_clause(scope)
        if word == "MERGE":
            return self.merge_clause(scope)
        if word in ("WITH", "RETURN"):
            return self.projection(scope, is_with=word == "WITH")
        if word == "UNWIND":
            out = self.take() + self.expr(scope, _CLAUSE_STOPS) + self.expect_kw("AS")
            return out + self.bind(scope)
        if word == "SET":
            self.writes = True
            return self.take() + self.set_items(scope)
        if word == "REMOVE":
            self.writes = True
            return self.take() + self.remove_items()
        if word in ("DELETE", "DETACH", "NODETACH"):
            self.writes = True
            out = self.take()
            if word != "DELETE":
                out += self.expect_kw("DELETE")
            return out + self.expr_list(scope)
        if word == "CALL":
            return self.call_clause(scope)
        if word == "FOREACH":
            return self.foreach_clause(scope)
        if word == "FINISH":
            return self.take()
        if word in _REFUSED_CLAUSES:
            self.fail(_REFUSED_CLAUSES[word])
        if t.kind is Kind.SYMBOL and t.text == "(":
            self.fail("a query starts with a clause: MATCH (...), CREATE (...), ...")
        self.fail(f"unsupported clause {t.text!r}" if t.kind is not Kind.END else "expected a clause")

    def bind(self, scope: set[str]) -> str:
        """A variable a clause binds (UNWIND ... AS x, ... AS alias)."""
        if not self.is_name():
            self.fail("expected a variable name")
        t = self.advance()
        scope.add(self.name_of(t))
        return t.pre + self.canonical(t)

    def match_clause(self, scope: set[str]) -> str:
        out = self.take()
        if self.kw("MATCH"):
            out += self.take()
        out += self.patterns(scope, "match")
        if self.kw("USING"):
            self.fail(_REFUSED_CLAUSES["USING"])
        if self.kw("WHERE"):
            out += self.take() + self.expr(scope, _CLAUSE_STOPS)
        return out

    def create_clause(self, scope: set[str]) -> str:
        if not (self.sym("(", k=1) or (self.is_name(k=1) and self.sym("=", k=2))):
            self.fail(_ADMIN)
        self.writes = True
        return self.take() + self.patterns(scope, "create")

    def merge_clause(self, scope: set[str]) -> str:
        self.writes = True
        saved, self._on_create = self._on_create, []
        out = self.take() + self.pattern_part(scope, "merge")
        if self._on_create:
            out += " ON CREATE SET " + ", ".join(self._on_create)
        self._on_create = saved
        while self.kw("ON"):
            out += self.take()
            if not self.kw("CREATE", "MATCH"):
                self.fail("expected ON CREATE SET or ON MATCH SET")
            out += self.take() + self.expect_kw("SET") + self.set_items(scope)
        return out

    def call_clause(self, scope: set[str]) -> str:
        out = self.take()  # CALL
        importing = False
        if self.sym("("):
            out += self.take()
            inner: set[str] = set()
            while not self.sym(")"):
                if self.sym("*"):
                    inner |= scope
                    out += self.take()
                elif self.is_name():
                    t = self.advance()
                    inner.add(self.name_of(t))
                    out += t.pre + self.canonical(t)
                else:
                    self.fail("expected the variables a subquery imports: CALL (a, b) { ... }")
                if self.sym(","):
                    out += self.take()
            out += self.take()
            if not self.sym("{"):
                self.fail("expected '{' after CALL (...)")
        elif self.sym("{"):
            inner, importing = set(scope), True
        else:
            name = self.peek().text
            k = 1
            while self.sym(".", k=k) and self.is_name(k=k + 1):
                name += "." + self.peek(k + 1).text
                k += 2
            if name.lower() not in ALLOWED_PROCEDURES:
                self.fail(f"procedure calls (CALL {name}) are not allowed; subqueries CALL {{ ... }} are")
            self.fail("procedure calls are not supported")  # pragma: no cover - the allowlist is empty
        out += self.take()
        text, returned = self.query(inner, importing=importing)
        out += text + self.expect("}")
        if self.kw("IN"):
            self.fail("CALL { ... } IN TRANSACTIONS is not allowed: a query runs in one transaction")
        scope |= returned
        return out

    def foreach_clause(self, scope: set[str]) -> str:
        out = self.take() + self.expect("(")
        inner = set(scope)
        out += self.bind(inner) + self.expect_kw("IN") + self.expr(scope, frozenset(), frozenset({"|"}))
        out += self.expect("|")
        while not self.sym(")"):
            if not self.kw(*_UPDATING):
                self.fail("FOREACH may only contain CREATE, MERGE, SET, REMOVE, DELETE or FOREACH")
            out += self.clause(inner)
        return out + self.take()

    def projection(self, scope: set[str], *, is_with: bool) -> str:
        out = self.take()
        if self.kw("DISTINCT"):
            out += self.take()
        kept: set[str] = set()
        star = False
        while True:
            if self.sym("*"):
                out += self.take()
                star = True
            else:
                first = self.peek()
                simple = self.is_variable() and (
                    self.sym(",", k=1)
                    or self.kw(*_CLAUSE_STOPS, k=1)
                    or self.peek(1).kind is Kind.END
                    or self.sym("}", k=1)
                    or self.sym(")", k=1)
                )
                text = self.expr(scope, _CLAUSE_STOPS, frozenset({","}))
                if self.peek() is first:
                    self.fail("expected an expression")
                if self.kw("AS"):
                    out += text + self.take() + self.bind(kept)
                else:
                    original = self.src[first.start : self.toks[self.i - 1].end]
                    out += text
                    if simple:
                        kept.add(self.name_of(first))
                    if not is_with and text.strip() != original:
                        alias = self._aliases.setdefault(original, f"#c{len(self._aliases)}")
                        self.columns[alias] = original
                        out += " AS " + quote(alias)
            if not self.sym(","):
                break
            out += self.take()
        if self.kw("ORDER"):
            out += self.take() + self.expect_kw("BY")
            while True:
                out += self.expr(scope, _CLAUSE_STOPS, frozenset({","}))
                if self.kw("ASC", "DESC", "ASCENDING", "DESCENDING"):
                    out += self.take()
                if not self.sym(","):
                    break
                out += self.take()
        if self.kw("SKIP", "OFFSET"):
            out += self.take() + self.expr(scope, _CLAUSE_STOPS)
        if self.kw("LIMIT"):
            out += self.take() + self.expr(scope, _CLAUSE_STOPS)
        if is_with and self.kw("WHERE"):
            out += self.take() + self.expr(scope, _CLAUSE_STOPS)
        if is_with:
            if not star:
                scope.clear()
            scope |= kept
        else:
            self._returned = kept | (set(scope) if star else set())
        return out

    # -- SET / REMOVE -----------------------------------------------------------------------------

    def set_items(self, scope: set[str]) -> str:
        items = [self.set_item(scope)]
        while self.sym(","):
            self.advance()
            items.append(self.set_item(scope))
        return " " + ", ".join(items)

    def target(self, verb: str) -> str:
        if not self.is_variable():
            self.fail(f"{verb} needs a variable: n.prop ...")
        return self.canonical(self.advance())

    def set_item(self, scope: set[str]) -> str:
        var = self.target("SET")
        if self.sym("."):
            self.advance()
            key = self.property_key_to_write()
            if self.sym(".") or self.sym("["):
                self.fail("SET sets a property of a node or relationship: n.prop = value")
            self.expect("=")
            value = self.expr(scope, _CLAUSE_STOPS, frozenset({","}))
            return f"{var}.{quote(key)} = {value.strip()}, {var}.{quote(order_key(key))} = null"
        if self.sym("["):
            self.fail("dynamic property names (n[key]) cannot be set: name the property")
        if self.sym(":") or self.kw("IS"):
            self.fail("labels cannot change in a query: use the graph routes to change a node's labels")
        if self.sym("+=") or self.sym("="):
            replace = self.advance().text == "="
            return self.set_map(scope, var, replace=replace)
        self.fail("expected n.prop = value, n += {...} or n = {...}")

    def property_key_to_write(self) -> str:
        key = self.schema_name("property", write=True)
        if key == "id":
            _refuse("the id of a node or relationship cannot change: create a new one (and delete the old one)")
        return key

    def set_map(self, scope: set[str], var: str, *, replace: bool) -> str:
        keep = f"{Q_KEY}: {var}.{Q_KEY}, {Q_LABELS}: {var}.{Q_LABELS}, {Q_TYPE}: {var}.{Q_TYPE}"
        op = "=" if replace else "+="
        if self.sym("{"):
            entries = self.map_entries(scope, key=self.property_key_to_write)
            if self.sym(".") or self.sym("["):
                self.fail("SET n += / = takes a map literal {...} or a parameter $name")
            parts = [f"{quote(k)}: {v.strip()}" for k, v in entries]
            if replace:
                parts.append(keep)
            else:
                parts += [f"{quote(order_key(k))}: null" for k, _v in entries]
            return f"{var} {op} {{{', '.join(parts)}}}"
        t = self.peek()
        if t.kind is Kind.PARAM and not (self.sym(".", k=1) or self.sym("[", k=1)):
            param = self.canonical(self.advance())[1:]
            self.map_params.add(param)
            if replace:
                return f"{var} = {{{keep}}}, {var} += ${param}"
            return f"{var} += ${param}, {var} += ${ORDER_KEY_PARAM_PREFIX}{param}"
        self.fail("SET n += ... and SET n = ... take a map literal {...} or a parameter $name")

    def remove_items(self) -> str:
        items: list[str] = []
        while True:
            var = self.target("REMOVE")
            if self.sym(":") or self.kw("IS"):
                self.fail("labels cannot change in a query: use the graph routes to change a node's labels")
            if not self.sym("."):
                self.fail("REMOVE removes a property: REMOVE n.prop")
            self.advance()
            key = self.property_key_to_write()
            items.append(f"{var}.{quote(key)}, {var}.{quote(order_key(key))}")
            if not self.sym(","):
                return " " + ", ".join(items)
            self.advance()

    # -- patterns ---------------------------------------------------------------------------------

    def patterns(self, scope: set[str], mode: str) -> str:
        out = self.pattern_part(scope, mode)
        while self.sym(","):
            out += self.take() + self.pattern_part(scope, mode)
        return out

    def pattern_part(self, scope: set[str], mode: str) -> str:
        out = ""
        if self.is_variable() and self.sym("=", k=1):
            out += self.bind(scope) + self.take()
        selector = False
        while mode == "match" and (self.kw(*_SELECTOR_WORDS) or (selector and self.peek().kind is Kind.NUMBER)):
            selector = True
            out += self.take()
        if self.kw("SHORTESTPATH", "ALLSHORTESTPATHS") and self.sym("(", k=1):
            if mode != "match":
                self.fail("shortestPath is only allowed in MATCH")
            return out + self.take() + self.take() + self.path(scope, mode) + self.expect(")")
        return out + self.path(scope, mode)

    def path(self, scope: set[str], mode: str) -> str:
        out = self.element(scope, mode)
        while True:
            if self.rel_start():
                out += self.relationship(scope, mode) + self.element(scope, mode)
            elif self.sym("(") and mode == "match":
                out += self.element(scope, mode)
            else:
                return out

    def rel_start(self, k: int = 0) -> bool:
        if self.sym("<", k=k):
            return self.sym("-", k=k + 1)
        return self.sym("-", k=k) and (self.sym("-", k=k + 1) or self.sym("[", k=k + 1))

    def element(self, scope: set[str], mode: str) -> str:
        if not self.sym("("):
            self.fail("expected a node pattern (...)")
        if not self.sym("(", k=1):
            return self.node(scope, mode)
        if mode != "match":
            self.fail("quantified and parenthesized path patterns are only allowed in MATCH")
        out = self.take() + self.path(scope, mode)
        if self.kw("WHERE"):
            out += self.take() + self.expr(scope, frozenset())
        return out + self.expect(")") + self.quantifier()

    def quantifier(self) -> str:
        if self.sym("+") or self.sym("*"):
            return self.take()
        if not self.sym("{"):
            return ""
        out = self.take()
        while not self.sym("}"):
            if not (self.peek().kind is Kind.NUMBER or self.sym(",")):
                self.fail("a quantifier is {m,n} with integer bounds")
            out += self.take()
        return out + self.take()

    def node(self, scope: set[str], mode: str) -> str:
        out = self.take()  # (
        var: str | None = None
        var_text = ""
        if self.is_variable():
            t = self.advance()
            var, var_text = self.name_of(t), t.pre + self.canonical(t)
        labels: _Lx | None = None
        if self.sym(":"):
            self.advance()
            labels = self.label_expression()
        elif self.kw("IS"):
            self.advance()
            labels = self.label_expression(colon_conjunction=False)
        entries: list[tuple[str, str]] | None = None
        if self.sym("{"):
            entries = self.map_entries(scope, key=lambda: self.pattern_key(mode))
        elif self.peek().kind is Kind.PARAM:
            self.fail("a parameter as a pattern's property map is not supported: write {key: $param.key, ...}")
        where = ""
        if self.kw("WHERE"):
            if mode != "match":
                self.fail("WHERE inside a node pattern is only allowed in MATCH")
            where = self.take() + self.expr(scope, frozenset())
        close = self.expect(")")
        if mode != "match" and var is not None and var in scope and labels is None and entries is None:
            return out + var_text + close  # a node bound earlier
        if var is not None:
            scope.add(var)
            self.node_vars.add(var)
        if mode == "match":
            return out + var_text + self.node_labels(labels) + self.props_text(entries) + where + close
        names = [] if labels is None else _lx_names(labels, "and")
        if names is None:
            self.fail("a node to create takes plain labels (:A:B), not a label expression")
        names = [_written_name(name, "label") for name in dict.fromkeys(names)]
        label_text = self.node_labels(("and", [("name", name) for name in names]))
        label_list = "[" + ", ".join(f"'{name}'" for name in names) + "]"
        given = dict(entries or [])
        if mode == "create":
            entries = [e for e in entries or [] if e[0] != KEY]
            entries.append((KEY, _new_key(given.get(KEY))))
            entries.append((LABELS, label_list))
            return out + var_text + label_text + self.props_text(entries) + close
        # MERGE: match on the client's properties; the internal ones are set when it creates
        if var_text == "":
            var_text = " " + self.generated("n")
        name = var_text.strip()
        if KEY in given:
            entries = [(k, f"toString({v.strip()})" if k == KEY else v) for k, v in entries or []]
        else:
            self._on_create.append(f"{name}.{Q_KEY} = randomUUID()")
        self._on_create.append(f"{name}.{Q_LABELS} = {label_list}")
        return out + var_text + label_text + self.props_text(entries) + close

    def pattern_key(self, mode: str) -> str:
        key = self.schema_name("property", write=mode != "match")
        return KEY if key == "id" else key

    def props_text(self, entries: list[tuple[str, str]] | None) -> str:
        if entries is None:
            return ""
        return " {" + ", ".join(f"{quote(k)}: {v.strip()}" for k, v in entries) + "}"

    def node_labels(self, lx: _Lx | None) -> str:
        if lx is None:
            return ":" + self.ns.n
        # always GPM symbols: Neo4j refuses a query mixing `:A:B` with `&|!%` anywhere in it
        names = _lx_names(lx, "and")
        if names is not None:
            return ":" + self.ns.n + "".join("&" + quote(self.ns.label_prefix + name) for name in names)
        return ":" + self.ns.n + "&" + self.emit_labels(lx, parenthesize=True)

    def emit_labels(self, lx: _Lx, *, parenthesize: bool = False) -> str:
        kind = lx[0]
        if kind == "name":
            return quote(self.ns.label_prefix + lx[1])
        if kind == "any":
            return "%"
        if kind == "not":
            return "!" + self.emit_labels(lx[1], parenthesize=True)
        joined = ("&" if kind == "and" else "|").join(self.emit_labels(part, parenthesize=True) for part in lx[1])
        return f"({joined})" if parenthesize else joined

    def type_predicate(self, var: str, lx: _Lx) -> str:
        kind = lx[0]
        if kind == "name":
            return f"{var}.{Q_TYPE} = '{lx[1]}'"
        if kind == "any":
            return f"{var}.{Q_TYPE} IS NOT NULL"
        if kind == "not":
            return f"NOT ({self.type_predicate(var, lx[1])})"
        names = _lx_names(lx, "or")
        if names is not None:
            return f"{var}.{Q_TYPE} IN [" + ", ".join(f"'{name}'" for name in names) + "]"
        joiner = " AND " if kind == "and" else " OR "
        return "(" + joiner.join(f"({self.type_predicate(var, part)})" for part in lx[1]) + ")"

    def label_expression(self, *, colon_conjunction: bool = True) -> _Lx:
        """After ':' or IS: `A`, `A:B` (legacy conjunction), `A|B`, `A&B`, `!A`, `%`, parentheses."""
        terms = [self._lx_or()]
        while colon_conjunction and self.sym(":"):
            self.advance()
            terms.append(self._lx_or())
        return terms[0] if len(terms) == 1 else ("and", terms)

    def _lx_or(self) -> _Lx:
        parts = [self._lx_and()]
        while self.sym("|") and not self._projection_bar():
            self.advance()
            if self.sym(":"):
                self.advance()
            parts.append(self._lx_and())
        return parts[0] if len(parts) == 1 else ("or", parts)

    def _projection_bar(self) -> bool:
        """Is the '|' ahead a list comprehension's projection (`[x IN l WHERE x:A | x.p]`), not
        a label disjunction? As Neo4j decides: when the name after it goes on as an expression."""
        k = 2 if self.sym(":", k=1) else 1
        return self.is_name(k=k) and any(self.sym(s, k=k + 1) for s in (".", "(", "["))

    def _lx_and(self) -> _Lx:
        parts = [self._lx_not()]
        while self.sym("&"):
            self.advance()
            parts.append(self._lx_not())
        return parts[0] if len(parts) == 1 else ("and", parts)

    def _lx_not(self) -> _Lx:
        if self.sym("!"):
            self.advance()
            return ("not", self._lx_not())
        if self.sym("%"):
            self.advance()
            return ("any",)
        if self.sym("("):
            self.advance()
            inner = self._lx_or()
            if not self.sym(")"):
                self.fail("expected ')' in a label expression")
            self.advance()
            return inner
        if self.sym("$"):
            self.fail("dynamic labels and types ($(...)) are not supported")
        return ("name", self.schema_name("label or relationship type"))

    def relationship(self, scope: set[str], mode: str) -> str:
        left = ""
        if self.sym("<"):
            self.advance()
            left = "<"
        self.expect("-")
        var: str | None = None
        var_text = ""
        types: _Lx | None = None
        length = ""
        entries: list[tuple[str, str]] | None = None
        where = ""
        if self.sym("["):
            self.advance()
            if self.is_variable():
                t = self.advance()
                var, var_text = self.name_of(t), self.canonical(t)
            if self.sym(":") or self.kw("IS"):
                self.advance()
                types = self.label_expression(colon_conjunction=False)
            if self.sym("*"):
                length = self.take()
                if self.peek().kind is Kind.NUMBER:
                    length += self.take()
                if self.sym(".."):
                    length += self.take()
                    if self.peek().kind is Kind.NUMBER:
                        length += self.take()
            if self.sym("{"):
                entries = self.map_entries(scope, key=lambda: self.pattern_key(mode))
            elif self.peek().kind is Kind.PARAM:
                self.fail("a parameter as a pattern's property map is not supported: write {key: $param.key, ...}")
            if self.kw("WHERE"):
                if mode != "match":
                    self.fail("WHERE inside a relationship pattern is only allowed in MATCH")
                self.advance()
                where = self.expr(scope, frozenset()).strip()
            self.expect("]")
        self.expect("-")
        right = ""
        if self.sym(">"):
            self.advance()
            right = ">"
        quantifier = self.quantifier() if mode == "match" else ""
        if var is not None:
            scope.add(var)
            self.rel_vars.add(var)
        entries = list(entries or [])
        predicates: list[str] = []
        single = _lx_names(types, "or") if types is not None else None
        if mode != "match":
            if single is None or len(single) != 1:
                self.fail("a relationship to create needs exactly one type: -[:TYPE]->")
            _written_name(single[0], "relationship type")
            if length:
                self.fail("a variable-length relationship cannot be created")
            if mode == "merge" and not var_text:
                var_text = self.generated("r")
            given = dict(entries)
            entries = [e for e in entries if e[0] != KEY]
            entries.append((TYPE, f"'{single[0]}'"))
            if mode == "create":
                entries.append((KEY, _new_key(given.get(KEY))))
            elif KEY in given:
                entries.append((KEY, f"toString({given[KEY].strip()})"))
            else:
                self._on_create.append(f"{var_text}.{Q_KEY} = randomUUID()")
        elif types is not None and single is not None and len(single) == 1:
            entries.append((TYPE, f"'{single[0]}'"))
        elif types is not None and types != ("any",):
            if length:
                self.fail(
                    "a variable-length relationship with several types (or a type expression) is not supported: "
                    "write a quantified path pattern, e.g. (a)(()-[:A|B]->()){1,3}(b)"
                )
            if not var_text:
                var_text = self.generated("r")
            predicates.append(self.type_predicate(var_text, types))
        if where:
            predicates.append(where)
        inner = var_text + ":" + self.ns.r + length + (self.props_text(entries) if entries else "")
        if predicates:
            inner += " WHERE " + " AND ".join(f"({p})" if len(predicates) > 1 else p for p in predicates)
        return f"{left}-[{inner}]-{right}{quantifier}"

    def map_entries(self, scope: set[str], key: Callable[[], str]) -> list[tuple[str, str]]:
        """`{k: v, ...}`: the keys (through `key`) and the rewritten value texts."""
        self.expect("{")
        entries: list[tuple[str, str]] = []
        while not self.sym("}"):
            name = key()
            self.expect(":")
            entries.append((name, self.expr(scope, frozenset(), frozenset({","}))))
            if self.sym(","):
                self.advance()
            elif not self.sym("}"):
                self.fail("expected ',' or '}' in a map")
        self.advance()
        return entries

    def plain_key(self) -> str:
        t = self.peek()
        if t.kind not in (Kind.NAME, Kind.QUOTED):
            self.fail("expected a map key")
        self.advance()
        return self.name_of(t)

    # -- expressions ------------------------------------------------------------------------------

    def expr_list(self, scope: set[str]) -> str:
        out = self.expr(scope, _CLAUSE_STOPS, frozenset({","}))
        while self.sym(","):
            out += self.take() + self.expr(scope, _CLAUSE_STOPS, frozenset({","}))
        return out

    def expr(self, scope: set[str], stop_words: frozenset[str], stop_syms: frozenset[str] = frozenset()) -> str:
        """Scan an expression up to a stop (at its top level) or the closing bracket around it.
        `chain` is where the current atom and its postfix operators start in `out` (for `.id`)."""
        out: list[str] = []
        chain: int | None = None
        cases: list[int] = []
        previous = ""
        while True:
            t = self.peek()
            upper = t.text.upper() if t.kind is Kind.NAME else ""
            if t.kind is Kind.END or (t.kind is Kind.SYMBOL and t.text in (")", "]", "}")):
                break
            if t.kind is Kind.SYMBOL and t.text in stop_syms:
                break
            if upper in stop_words and not (upper == "WITH" and previous in ("STARTS", "ENDS")):
                break
            previous = upper
            if t.kind is Kind.SYMBOL:
                chain = self.expr_symbol(scope, out, chain)
            elif t.kind is Kind.NAME and upper in _OPERATOR_WORDS:
                chain = self.expr_word(out, chain, cases)
            elif t.kind in (Kind.NAME, Kind.QUOTED):
                chain = self.expr_name(scope, out)
            else:  # string, number, parameter: an atom
                chain = len(out)
                out.append(self.take())
        return "".join(out)

    def expr_word(self, out: list[str], chain: int | None, cases: list[int]) -> int | None:
        upper = self.peek().text.upper()
        if upper == "IS" and chain is not None and not (self.kw(*_NOT_A_LABEL_AFTER_IS, k=1) or self.sym("::", k=1)):
            self.advance()
            out[chain:] = [self.label_predicate("".join(out[chain:]), colon_conjunction=False)]
            return None
        if upper == "CASE":
            cases.append(len(out))
        out.append(self.take())
        if upper == "END" and cases:
            return cases.pop()
        return len(out) - 1 if upper in ("NULL", "TRUE", "FALSE") else None

    def expr_symbol(self, scope: set[str], out: list[str], chain: int | None) -> int | None:
        t = self.peek()
        if t.text == "(":
            if self.looks_like_pattern():
                pre = t.pre
                self.toks[self.i] = _Tok(t.kind, t.text, "", t.start, t.end)
                out.append(f"{pre}EXISTS {{ {self.path(set(scope), 'match')} }}")
                return None
            start = len(out)
            out.append(self.take() + self.expr(scope, frozenset()) + self.expect(")"))
            return start
        if t.text == "[":
            start = len(out)
            if chain is None and self.looks_like_pattern_comprehension():
                out.append(self.pattern_comprehension(scope))
                return start
            out.append(self.take() + self.expr(scope, frozenset()) + self.expect("]"))
            return chain if chain is not None else start
        if t.text == "{":
            base = self.simple_variable("".join(out[chain:])) if chain is not None else None
            if base is not None:
                out.append(self.map_projection(scope, "".join(out[chain:]).strip()))
                return chain
            pre = t.pre
            entries = self.map_entries(scope, key=self.plain_key)
            start = len(out)
            out.append(pre + "{" + ", ".join(f"{quote(k)}: {v.strip()}" for k, v in entries) + "}")
            return start
        if t.text == "." and chain is not None:
            self.advance()
            out[chain:] = [self.property_access("".join(out[chain:]))]
            return chain
        if t.text == ":" and chain is not None:
            self.advance()
            out[chain:] = [self.label_predicate("".join(out[chain:]), colon_conjunction=True)]
            return None
        if t.text in (".", ":"):
            self.fail(f"unexpected {t.text!r}")
        out.append(self.take())
        return None

    def expr_name(self, scope: set[str], out: list[str]) -> int:
        start = len(out)
        t = self.peek()
        upper = t.text.upper() if t.kind is Kind.NAME else ""
        if upper in ("EXISTS", "COUNT", "COLLECT") and self.sym("{", k=1):
            out.append(self.take() + self.subquery_expression(scope))
            return start
        if upper in ("SHORTESTPATH", "ALLSHORTESTPATHS") and self.sym("(", k=1):
            out.append(self.take() + self.take() + self.path(set(scope), "match") + self.expect(")"))
            return start
        k = 1
        while t.kind is Kind.NAME and self.sym(".", k=k) and self.peek(k + 1).kind is Kind.NAME:
            k += 2
        if t.kind is Kind.NAME and self.sym("(", k=k):
            out.append(self.function_call(scope, k))
            return start
        out.append(self.take())
        return start

    def function_call(self, scope: set[str], k: int) -> str:
        pre = self.peek().pre
        name = "".join(self.advance().text for _ in range(k))
        lower = name.lower()
        if "." in name:
            if lower.split(".")[0] not in FUNCTION_NAMESPACES:
                self.fail(f"function {name}() is not available in a dataset query")
        elif lower in ("id", "elementid"):
            self.fail(f"{name}() gives internal ids, which are not available: use n.id, a node's or edge's own key")
        self.expect("(")
        if lower == "range":
            return pre + self.range_call(scope)
        inner = self.expr(scope, frozenset())
        self.expect(")")
        if lower == "labels":
            return f"{pre}({inner.strip()}).{Q_LABELS}"
        if lower == "type":
            return f"{pre}({inner.strip()}).{Q_TYPE}"
        if lower == "keys":
            k_var = quote("#k")
            return f"{pre}[{k_var} IN keys({inner.strip()}) WHERE NOT {k_var} STARTS WITH '#']"
        return f"{pre}{name}({inner})"

    def range_call(self, scope: set[str]) -> str:
        """`range(a, b[, s])` after its '(': refused when its integer literals make more than
        `MAX_RANGE` elements; with any other argument, it binds them once and ends in a parse error
        of a text holding `RANGE_LIMIT_MARKER` (which the runner turns into a 400) before it would."""
        args: list[str] = []
        literal: list[int | None] = []
        while True:
            start = self.i
            args.append(self.expr(scope, frozenset(), frozenset({","})))
            literal.append(_integer_literal(self.toks[start : self.i]))
            if not self.sym(","):
                break
            self.advance()
        self.expect(")")
        if len(args) not in (2, 3):
            return "range(" + ",".join(args) + ")"  # Neo4j names the mistake
        if all(value is not None for value in literal):
            first, last, step = (*literal, 1) if len(literal) == 2 else literal
            assert first is not None and last is not None and step is not None
            if step != 0:
                count = len(range(first, last + (1 if step > 0 else -1), step))
                if count > MAX_RANGE:
                    _refuse(range_refusal(count))
            return "range(" + ",".join(args) + ")"
        v = self.generated("r")
        a, b = f"{v}[0]", f"{v}[1]"
        error = f"date('{RANGE_LIMIT_MARKER}')"
        if len(args) == 2:
            end = f"CASE WHEN {b} - {a} >= {MAX_RANGE} THEN {error} ELSE {b} END"
            call = f"range({a}, {end})"
        else:
            s = f"{v}[2]"
            end = f"CASE WHEN {s} = 0 THEN {b} WHEN ({b} - {a}) / {s} >= {MAX_RANGE} THEN {error} ELSE {b} END"
            call = f"range({a}, {end}, {s})"
        bound = ", ".join(arg.strip() for arg in args)
        return f"[{v} IN [[{bound}]] | {call}][0]"

    def simple_variable(self, text: str) -> str | None:
        """The variable name when `text` is just one variable, else None."""
        text = text.strip()
        if NAME.fullmatch(text) and text.upper() not in _OPERATOR_WORDS:
            return text
        if len(text) > 1 and text[0] == "`" and text[-1] == "`" and "`" not in text[1:-1].replace("``", ""):
            return quoted_value(text)
        return None

    def property_access(self, base: str) -> str:
        """`base.key`: `id` reads the internal key of a node or relationship (and a map's own `id`)."""
        t = self.peek()
        if t.kind not in (Kind.NAME, Kind.QUOTED):
            self.fail("expected a property name after '.'")
        key = self.schema_name("property")
        if key != "id":
            return f"{base}.{key if t.kind is Kind.NAME else quote(key)}"
        var = self.simple_variable(base)
        if var is not None and var in self.node_vars | self.rel_vars:
            return f"{base}.{Q_KEY}"
        if base.strip().startswith("$"):
            return f"{base}.id"
        lead = base[: len(base) - len(base.lstrip())]
        inner = base.strip()
        return f"{lead}coalesce({inner}.{Q_KEY}, {inner}.id)"

    def label_predicate(self, subject: str, *, colon_conjunction: bool) -> str:
        var = self.simple_variable(subject)
        if var is None:
            self.fail("a label predicate applies to a variable: n:Label")
        lx = self.label_expression(colon_conjunction=colon_conjunction)
        if var in self.rel_vars and var not in self.node_vars:
            return f"{subject[: len(subject) - len(subject.lstrip())]}({self.type_predicate(subject.strip(), lx)})"
        return f"{subject}:{self.emit_labels(lx)}"

    def map_projection(self, scope: set[str], base: str) -> str:
        pre = self.peek().pre
        self.expect("{")
        items: list[str] = []
        while not self.sym("}"):
            if self.sym("."):
                self.advance()
                if self.sym("*"):
                    self.advance()
                    items.append(".*")
                else:
                    key = self.schema_name("property")
                    items.append(f"id: {self.id_of(base)}" if key == "id" else "." + quote(key))
            elif self.is_name() and self.sym(":", k=1):
                key = self.plain_key()
                self.advance()
                items.append(f"{quote(key)}: {self.expr(scope, frozenset(), frozenset({','})).strip()}")
            elif self.is_variable():
                items.append(self.canonical(self.advance()))
            else:
                self.fail("expected .property, key: value or a variable in a map projection")
            if self.sym(","):
                self.advance()
            elif not self.sym("}"):
                self.fail("expected ',' or '}' in a map projection")
        self.advance()
        return f"{pre}{{{', '.join(items)}}}"

    def id_of(self, base: str) -> str:
        var = self.simple_variable(base)
        if var is not None and var in self.node_vars | self.rel_vars:
            return f"{base}.{Q_KEY}"
        return f"coalesce({base}.{Q_KEY}, {base}.id)"

    def subquery_expression(self, scope: set[str]) -> str:
        out = self.take()  # {
        if self.kw(*_SUBQUERY_START):
            text, _returned = self.query(set(scope))
            out += text
        else:
            inner = set(scope)
            out += self.patterns(inner, "match")
            if self.kw("WHERE"):
                out += self.take() + self.expr(inner, frozenset())
        return out + self.expect("}")

    def looks_like_pattern(self, k: int = 0) -> bool:
        """Is the '(' at k a node pattern followed by a relationship (a pattern predicate)?"""
        close = self.closers.get(self.i + k)
        if close is None:
            return False
        inside = close - (self.i + k) - 1
        first = self.peek(k + 1)
        shape = (
            inside == 0
            or (first.kind is Kind.SYMBOL and first.text == ":")
            or (
                self.is_variable(k + 1)
                and (inside == 1 or self.sym(":", k=k + 2) or self.sym("{", k=k + 2) or self.kw("IS", "WHERE", k=k + 2))
            )
        )
        return shape and self.rel_start(close - self.i + 1)

    def looks_like_pattern_comprehension(self) -> bool:
        if self.sym("(", k=1) and self.looks_like_pattern(1):
            return True
        return self.is_variable(1) and self.sym("=", k=2) and self.sym("(", k=3) and self.looks_like_pattern(3)

    def pattern_comprehension(self, scope: set[str]) -> str:
        inner = set(scope)
        out = self.take()  # [
        if self.is_variable() and self.sym("=", k=1):
            out += self.bind(inner) + self.take()
        out += self.path(inner, "match")
        if self.kw("WHERE"):
            out += self.take() + self.expr(inner, frozenset(), frozenset({"|"}))
        out += self.expect("|") + self.expr(inner, frozenset())
        return out + self.expect("]")


def _integer_literal(toks: list[_Tok]) -> int | None:
    """The value of an integer literal (optionally signed), else None."""
    sign = 1
    if len(toks) == 2 and toks[0].kind is Kind.SYMBOL and toks[0].text in "+-":
        sign = -1 if toks[0].text == "-" else 1
        toks = toks[1:]
    if len(toks) != 1 or toks[0].kind is not Kind.NUMBER:
        return None
    text = toks[0].text.lower()
    if text.startswith("0") and len(text) > 1 and text[1] not in "xo":
        return None  # leading zeros: let Neo4j say what it makes of them (and guard it like a variable)
    try:
        return sign * int(text, 0)
    except ValueError:
        return None


# -- bounded expression loops ---------------------------------------------------------------------

_QUANTIFIERS = frozenset({"ANY", "ALL", "NONE", "SINGLE"})


def check_iterations(toks: list[_Tok]) -> None:
    """Refuse iterations nested so deep that one expression may loop too long.

    Neo4j checks a transaction's time limit only between rows, so a loop inside one expression
    runs to its end. Every iteration (list comprehension, pattern comprehension, reduce, any / all /
    none / single) takes as many steps as its list has items: a list literal its elements, a
    `range()` of integer literals its count, a `range()` of anything else `MAX_RANGE` (its runtime
    cap), any other list (a parameter, a variable, a property, a function's result, a pattern's
    matches) `UNKNOWN_LIST_SIZE`. A reduce over a list the text spells out (a literal or a range)
    takes its steps squared (its accumulator may grow with every step). The steps of iterations
    nested in each other multiply; more than `MAX_NESTED_STEPS` is refused."""
    closers = _closers(toks)
    _walk_iterations(toks, closers, 0, len(toks), 1)


def _closers(toks: list[_Tok]) -> dict[int, int]:
    stack: list[int] = []
    closers: dict[int, int] = {}
    for k, t in enumerate(toks):
        if t.kind is Kind.SYMBOL and t.text in "([{":
            stack.append(k)
        elif t.kind is Kind.SYMBOL and t.text in ")]}" and stack:
            closers[stack.pop()] = k
    return closers


def _top_level(toks: list[_Tok], closers: dict[int, int], lo: int, hi: int, pred: Callable[[_Tok], bool]) -> list[int]:
    """Indexes in [lo, hi) of tokens matching `pred` outside any bracket opened in the range."""
    found: list[int] = []
    k = lo
    while k < hi:
        t = toks[k]
        if k in closers:
            k = closers[k] + 1
            continue
        if pred(t):
            found.append(k)
        k += 1
    return found


def _is_sym(text: str) -> Callable[[_Tok], bool]:
    return lambda t: t.kind is Kind.SYMBOL and t.text == text


def _is_word(*words: str) -> Callable[[_Tok], bool]:
    return lambda t: t.kind is Kind.NAME and t.text.upper() in words


def _is_var(t: _Tok) -> bool:
    return t.kind is Kind.QUOTED or (t.kind is Kind.NAME and t.text.upper() not in _OPERATOR_WORDS)


def _list_size(toks: list[_Tok], closers: dict[int, int], lo: int, hi: int) -> tuple[int, bool]:
    """Steps of an iteration over the list toks[lo:hi], and whether the text spells its size out."""
    is_list = lo < hi and toks[lo].kind is Kind.SYMBOL and toks[lo].text == "[" and closers.get(lo) == hi - 1
    if is_list and not _comprehension(toks, closers, lo):
        if lo + 1 == hi - 1:
            return 0, True
        return len(_top_level(toks, closers, lo + 1, hi - 1, _is_sym(","))) + 1, True
    if (
        hi - lo >= 3
        and toks[lo].kind is Kind.NAME
        and toks[lo].text.lower() == "range"
        and toks[lo + 1].kind is Kind.SYMBOL
        and toks[lo + 1].text == "("
        and closers.get(lo + 1) == hi - 1
    ):
        commas = _top_level(toks, closers, lo + 2, hi - 1, _is_sym(","))
        bounds = [lo + 2, *(c + 1 for c in commas)]
        ends = [*commas, hi - 1]
        values = [_integer_literal(toks[b:e]) for b, e in zip(bounds, ends, strict=True)]
        if len(values) in (2, 3) and all(v is not None for v in values):
            first, last, step = (*values, 1) if len(values) == 2 else values
            assert first is not None and last is not None and step is not None
            if step == 0:
                return 0, True
            count = len(range(first, last + (1 if step > 0 else -1), step))
            if count > MAX_RANGE:
                _refuse(range_refusal(count))
            return count, True
        return MAX_RANGE, True
    return UNKNOWN_LIST_SIZE, False


def _comprehension(toks: list[_Tok], closers: dict[int, int], open_at: int) -> str | None:
    """What the '[' at `open_at` starts: "list" (x IN ...), "pattern" ((...)-...-(...) | ...) or None."""
    close = closers.get(open_at, open_at)
    if _top_level(toks, closers, open_at + 1, close, _is_sym(",")):
        return None
    k = open_at + 1
    if k + 1 < close and _is_var(toks[k]) and _is_word("IN")(toks[k + 1]):
        return "list"
    if k + 1 < close and _is_var(toks[k]) and _is_sym("=")(toks[k + 1]):
        k += 2
    if k < close and _is_sym("(")(toks[k]) and _top_level(toks, closers, k, close, _is_sym("|")):
        return "pattern"
    return None


def _walk_iterations(toks: list[_Tok], closers: dict[int, int], lo: int, hi: int, steps: int) -> None:
    k = lo
    while k < hi:
        t = toks[k]
        if t.kind is Kind.SYMBOL and t.text == "[" and k in closers:
            close = closers[k]
            kind = _comprehension(toks, closers, k)
            if kind == "list":
                ends = _top_level(toks, closers, k + 3, close, lambda x: _is_word("WHERE")(x) or _is_sym("|")(x))
                source_end = ends[0] if ends else close
                size, _known = _list_size(toks, closers, k + 3, source_end)
                _walk_iterations(toks, closers, k + 3, source_end, steps)
                _walk_iterations(toks, closers, source_end, close, _nested(steps, size))
                k = close + 1
                continue
            if kind == "pattern":
                _walk_iterations(toks, closers, k + 1, close, _nested(steps, UNKNOWN_LIST_SIZE))
                k = close + 1
                continue
        if (
            t.kind is Kind.NAME
            and t.text.upper() in (_QUANTIFIERS | {"REDUCE"})
            and k + 1 < hi
            and _is_sym("(")(toks[k + 1])
            and (k == 0 or not _is_sym(".")(toks[k - 1]))
            and k + 1 in closers
        ):
            open_at, close = k + 1, closers[k + 1]
            start = open_at + 1
            if t.text.upper() == "REDUCE":
                commas = _top_level(toks, closers, start, close, _is_sym(","))
                if commas:
                    _walk_iterations(toks, closers, start, commas[0], steps)
                    start = commas[0] + 1
            if start + 1 < close and _is_var(toks[start]) and _is_word("IN")(toks[start + 1]):
                stop = _is_sym("|") if t.text.upper() == "REDUCE" else _is_word("WHERE")
                ends = _top_level(toks, closers, start + 2, close, stop)
                source_end = ends[0] if ends else close
                size, known = _list_size(toks, closers, start + 2, source_end)
                if t.text.upper() == "REDUCE":
                    _check_accumulator_growth(toks, open_at + 1, source_end, close, size if known else None)
                    if known:
                        size = size * size
                _walk_iterations(toks, closers, start + 2, source_end, steps)
                _walk_iterations(toks, closers, source_end, close, _nested(steps, size))
                k = close + 1
                continue
        k += 1


MAX_DOUBLINGS = 20
"""A reduce whose step uses its accumulator twice (`s + s`) may double it each step: at most this many."""


def _check_accumulator_growth(toks: list[_Tok], acc_at: int, step_from: int, close: int, size: int | None) -> None:
    """Refuse a reduce that can grow its accumulator exponentially: Neo4j does not count string
    memory against the transaction, so `reduce(s = 'x', i IN range(1, 30) | s + s)` builds a 1 GiB
    string on the shared heap before any limit applies."""
    if acc_at + 1 >= close or not _is_var(toks[acc_at]) or not _is_sym("=")(toks[acc_at + 1]):
        return
    name = toks[acc_at].text
    uses = sum(1 for k in range(step_from + 1, close) if toks[k].kind is toks[acc_at].kind and toks[k].text == name)
    if uses >= 2 and (size is None or size > MAX_DOUBLINGS):
        _refuse(
            f"reduce() uses its accumulator {name} {uses} times per step over "
            f"{'a list the query does not spell out' if size is None else f'{size} items'}: it could double "
            f"every step and exhaust the server's memory; at most {MAX_DOUBLINGS} such steps are allowed"
        )


def _nested(steps: int, size: int) -> int:
    total = steps * max(size, 1)
    if total > MAX_NESTED_STEPS:
        _refuse(
            f"the query nests loops too deeply: its iterations (list or pattern comprehensions, reduce, any / all / "
            f"none / single) multiply to more than {MAX_NESTED_STEPS} steps, and Neo4j cannot stop a loop inside one "
            f"expression at the time limit (a list the query does not spell out counts as {UNKNOWN_LIST_SIZE} items, "
            "a reduce over a literal list or range as its size squared): UNWIND the outer list into rows instead"
        )
    return total


def _written_name(name: str, what: str) -> str:
    """A label or type a write stores: the graph routes' rule (`domain.names`)."""
    problem = name_problem(name)
    if problem is not None:
        _refuse(f"{what} {name!r} {problem}")
    return name


def _new_key(given: str | None) -> str:
    """The key of a created node or relationship: the client's (as text, as the graph routes keep
    it), else a generated one."""
    if given is None:
        return "randomUUID()"
    return f"coalesce(toString({given.strip()}), randomUUID())"

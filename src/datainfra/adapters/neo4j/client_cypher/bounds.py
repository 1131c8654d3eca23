"""How big a client Cypher query may be in shape, checked on its tokens before anything recurses.

The rewriter recurses once per bracket, and Neo4j's parser, semantic analysis and planner once per
level of the expression tree; some of Neo4j's passes grow much faster than the query (a chain of a
few hundred string concatenations, nested CASEs or property accesses, a fixed-length path of a dozen
hops or a long UNION each keep a Neo4j thread planning for longer than the query's time limit, which
does not interrupt planning). So the shape is bounded up front, each limit named with its number:

- MAX_NESTING: brackets `( [ {`, `CASE ... END` and runs of prefix operators (`NOT`, unary `-`/`+`,
  label `!`) open levels; at most this many at once.
- MAX_CHAIN: binary operators (arithmetic, comparison, boolean, string, `IN`, `IS`, label `|`/`&`/`:`),
  property accesses and subscripts in one expression between separators (`,`, a clause word,
  `WHEN/THEN/ELSE`, a bracket): the length of a left-deep chain; also the WHEN branches of one CASE.
  MAX_OPERATORS bounds them over the whole query.
- MAX_ITEMS: items written out in one list, map, argument list or clause (`[1, 2, ...]`, `RETURN a,
  b, ...`); longer lists go in a parameter.
- MAX_PATH_HOPS: relationships written one after another in one path pattern; MAX_MATCH_PATTERNS:
  patterns matched in the whole query (MATCH clauses and their comma-separated parts), which the
  planner joins with a search that grows very fast with their number.
- MAX_UNION_PARTS and MAX_CLAUSES: queries joined by UNION, and clauses in the whole query.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn, Protocol

from datainfra.adapters.neo4j.client_cypher.tokens import Kind
from datainfra.domain.errors import InvalidRequest

MAX_NESTING = 64
MAX_CHAIN = 100
MAX_OPERATORS = 1_000
MAX_ITEMS = 1_000
MAX_PATH_HOPS = 10
MAX_MATCH_PATTERNS = 32
MAX_UNION_PARTS = 32
MAX_CLAUSES = 256

FIELD = "query"

_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = frozenset(_OPENERS.values())
_BINARY_SYMBOLS = frozenset({"+", "-", "*", "/", "%", "^", "=", "<>", "!=", "<", ">", "<=", ">=", "=~", "|", "&", "."})
_BINARY_WORDS = frozenset({"AND", "OR", "XOR", "IN", "IS", "CONTAINS", "STARTS", "ENDS"})
_CLAUSE_WORDS = frozenset(
    {
        "MATCH", "MERGE", "CREATE", "WITH", "RETURN", "UNWIND", "SET", "REMOVE", "DELETE", "CALL", "FOREACH",
        "UNION", "WHERE", "ORDER", "SKIP", "LIMIT", "OFFSET", "YIELD", "FINISH", "FILTER", "LET",
    }
)  # fmt: skip
_SEPARATOR_WORDS = _CLAUSE_WORDS | {"WHEN", "THEN", "ELSE", "OPTIONAL", "DETACH", "AS", "BY", "ON"}
_KEYWORDS = _BINARY_WORDS | _SEPARATOR_WORDS | {"NOT", "CASE", "DISTINCT", "UNWIND", "EXISTS", "COUNT", "COLLECT"}
"""Words after which a value starts (so a `-` is a sign, a `[` a list): any other name ends one."""
_OPERAND_END_KINDS = frozenset({Kind.NUMBER, Kind.STRING, Kind.PARAM, Kind.QUOTED})


class _Token(Protocol):
    @property
    def kind(self) -> Kind: ...
    @property
    def text(self) -> str: ...


def _refuse(detail: str) -> NoReturn:
    raise InvalidRequest(detail, field=FIELD)


def _word(t: _Token, before: _Token | None, after: _Token | None) -> str:
    """A keyword's upper-case text, or "" for a name used as a property key, map key or variable."""
    if t.kind is not Kind.NAME:
        return ""
    if before is not None and before.kind is Kind.SYMBOL and before.text in (".", ":", "$"):
        return ""
    if after is not None and after.kind is Kind.SYMBOL and after.text == ":":
        return ""  # a map key ({end: 1}) or a variable with a label (n:Label)
    return t.text.upper()


def _ends_operand(t: _Token | None, word: str) -> bool:
    """Whether a `-`, `+` or `!` after `t` is binary (or part of a pattern), not a prefix operator."""
    if t is not None and t.kind is Kind.SYMBOL and t.text in ("-", ">", "<"):
        return True  # `)-->(`, `]->(`: pattern arrows
    return _ends_value(t, word)


def check_shape(toks: Sequence[_Token]) -> None:
    """InvalidRequest (field "query") naming the first limit of this module the query goes past.
    One pass over the significant tokens; nothing here recurses."""
    stack: list[str] = []  # open brackets and CASEs
    chains: list[int] = [0]  # binary operators since the last separator, per level
    items: list[int] = [0]  # commas per level
    branches: list[int] = []  # WHENs per open CASE
    operators = clauses = unions = prefix_run = patterns = 0
    clause = ""
    hops = 0  # `)-` or `)<` since the last separator: relationships of one path in a row
    words = [
        _word(t, toks[k - 1] if k else None, toks[k + 1] if k + 1 < len(toks) else None) for k, t in enumerate(toks)
    ]
    for k, t in enumerate(toks):
        before = toks[k - 1] if k else None
        word = words[k]
        prefix = (word == "NOT" and (k == 0 or words[k - 1] != "IS")) or (
            t.kind is Kind.SYMBOL and t.text in ("-", "+", "!") and not _ends_operand(before, words[k - 1] if k else "")
        )
        prefix_run = prefix_run + 1 if prefix else 0
        if len(stack) + prefix_run > MAX_NESTING:
            _refuse(
                f"the query nests more than {MAX_NESTING} levels deep (brackets, CASE expressions and prefix "
                "operators such as NOT or unary minus count)"
            )
        if prefix:
            continue
        if t.kind is Kind.SYMBOL and t.text in _OPENERS:
            if t.text == "[" and _ends_value(before, words[k - 1] if k else ""):
                operators, chains[-1] = _count_operator(operators, chains[-1])
            stack.append(t.text)
            chains.append(0)
            items.append(0)
            continue
        if t.kind is Kind.SYMBOL and t.text in _CLOSERS:
            if stack and stack[-1] != "CASE":
                stack.pop()
                chains.pop()
                items.pop()
            if t.text == ")" and _continues_path(toks, k):
                hops += 1
                if hops > MAX_PATH_HOPS:
                    _refuse(
                        f"a path pattern has more than {MAX_PATH_HOPS} relationships in a row; use a "
                        "variable-length relationship ([*n..m]) or split the pattern with WITH"
                    )
            continue
        if word == "CASE":
            stack.append("CASE")
            chains.append(0)
            items.append(0)
            branches.append(0)
            continue
        if word == "END" and stack and stack[-1] == "CASE":
            stack.pop()
            chains.pop()
            items.pop()
            branches.pop()
            continue
        if word == "WHEN" and stack and stack[-1] == "CASE":
            branches[-1] += 1
            if branches[-1] > MAX_CHAIN:
                _refuse(f"a CASE expression has more than {MAX_CHAIN} WHEN branches; look the value up in a map")
        if word == "MATCH":
            patterns += 1
        if t.kind is Kind.SYMBOL and t.text == "," and not stack and clause == "MATCH":
            patterns += 1
        if patterns > MAX_MATCH_PATTERNS:
            _refuse(f"the query matches more than {MAX_MATCH_PATTERNS} patterns (MATCH clauses and their parts)")
        if t.kind is Kind.SYMBOL and t.text == ",":
            items[-1] += 1
            if items[-1] >= MAX_ITEMS:
                _refuse(
                    f"a list, map, argument list or clause holds more than {MAX_ITEMS} items; "
                    "send long lists as a parameter"
                )
        if word in _CLAUSE_WORDS:
            clause = word if not stack else clause
            items[-1] = 0
            clauses += 1
            if clauses > MAX_CLAUSES:
                _refuse(f"the query has more than {MAX_CLAUSES} clauses")
            if word == "UNION":
                unions += 1
                if unions + 1 > MAX_UNION_PARTS:
                    _refuse(f"the query joins more than {MAX_UNION_PARTS} queries with UNION")
        if word in _SEPARATOR_WORDS or word in _BINARY_WORDS or (t.kind is Kind.SYMBOL and t.text in (",", ";")):
            hops = 0
        if word in _SEPARATOR_WORDS or (t.kind is Kind.SYMBOL and t.text in (",", ";")):
            chains[-1] = 0
            continue
        if word in _BINARY_WORDS or (t.kind is Kind.SYMBOL and t.text in _BINARY_SYMBOLS) or _label_colon(toks, k):
            operators, chains[-1] = _count_operator(operators, chains[-1])


def _count_operator(operators: int, chain: int) -> tuple[int, int]:
    operators, chain = operators + 1, chain + 1
    if chain > MAX_CHAIN:
        _refuse(
            f"an expression chains more than {MAX_CHAIN} operators (arithmetic, comparisons, AND/OR, property "
            "accesses, subscripts, label | & :); use a list and IN, a parameter, or split it with WITH"
        )
    if operators > MAX_OPERATORS:
        _refuse(f"the query has more than {MAX_OPERATORS} operators")
    return operators, chain


def _ends_value(before: _Token | None, word: str) -> bool:
    """Whether `before` ends a value, so a '[' after it subscripts (`l[0]`, `m['k']`) rather than opens a
    list or a relationship."""
    if before is None:
        return False
    if before.kind in _OPERAND_END_KINDS:
        return True
    if before.kind is Kind.SYMBOL:
        return before.text in _CLOSERS
    return before.kind is Kind.NAME and word not in _KEYWORDS


def _label_colon(toks: Sequence[_Token], k: int) -> bool:
    """A ':' between labels (`n:A:B`), not a map key's ':' (`{a: 1}`): the label chain `:A:A:A`."""
    t = toks[k]
    if t.kind is not Kind.SYMBOL or t.text != ":" or k < 2:
        return False
    before, before2 = toks[k - 1], toks[k - 2]
    return before.kind in (Kind.NAME, Kind.QUOTED) and before2.kind is Kind.SYMBOL and before2.text == ":"


def _continues_path(toks: Sequence[_Token], k: int) -> bool:
    """Whether the ')' at `k` is followed by more of a path (a relationship)."""
    after = toks[k + 1] if k + 1 < len(toks) else None
    return after is not None and after.kind is Kind.SYMBOL and after.text in ("-", "<")

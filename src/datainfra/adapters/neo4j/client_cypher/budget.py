"""The CPU budget of one expression: `range()` sizes and nested iterations, bounded before Neo4j runs them.

Neo4j checks a transaction's time limit only between rows, so a loop inside one expression runs to
its end however long it takes. Every iteration (list comprehension, pattern comprehension, reduce,
any / all / none / single) takes as many steps as its list has items: a list literal its elements,
a `range()` of integer literals its count, a `range()` of anything else `MAX_RANGE` (its runtime
cap, which the rewriter adds), any other list (a parameter, a variable, a property, a function's
result, a pattern's matches) `UNKNOWN_LIST_SIZE`. A reduce over a list the text spells out (a
literal or a range) takes its steps squared (its accumulator may grow with every step). The steps
of iterations nested in each other multiply; more than `MAX_NESTED_STEPS` is refused. A reduce
that may double its accumulator every step is refused past `MAX_DOUBLINGS` steps.

Lists the text does not spell out are not refused for being nested (issue 11: `none(x IN list WHERE
none(y IN list WHERE x <= y))` over nine items is ordinary Cypher): when counting each as
`UNKNOWN_LIST_SIZE` would pass `MAX_NESTED_STEPS`, each of them gets a run-time guard instead
(`Guard`): the rewriter evaluates the list once, and a list longer than the guard's cap fails at
once with `GUARD_LIMIT_MARKER` (a 400), before any of its iterations run. The cap is the same for
every guarded list of the query: the largest such that each chain of nested iterations stays within
`MAX_NESTED_STEPS` (with pattern comprehensions, whose matches cannot be counted beforehand, still
counted as `UNKNOWN_LIST_SIZE`); below `MIN_GUARD_CAP` the query is refused as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from datainfra.adapters.neo4j.client_cypher.significant import SignificantToken, is_variable_token, refuse
from datainfra.adapters.neo4j.client_cypher.tokens import Kind

MAX_RANGE = 1_000_000
"""Most elements one `range()` may make: more is refused (integer literals) or fails when it runs."""
MAX_NESTED_STEPS = 1_000_000
"""Most steps nested iterations may multiply to (see `check_iterations`)."""
UNKNOWN_LIST_SIZE = 10_000
"""What a list the query text does not spell out counts as (the most items a list parameter may have)."""
RANGE_LIMIT_MARKER = "datainfra: range() exceeds its element limit"
RANGE_TYPE_MARKER = "datainfra: range() takes integers"
"""In the error a guarded `range()` raises when an argument is not an integer (as Neo4j refuses it)."""
RANGE_TYPE_REFUSAL = "range() takes integer arguments (start, end and an optional step)"
"""In the error a guarded `range()` raises when it runs (Neo4j echoes the text it cannot parse)."""
MAX_DOUBLINGS = 20
"""A reduce whose step uses its accumulator twice (`s + s`) may double it each step: at most this many."""

GUARD_LIMIT_MARKER = "datainfra: a list in nested loops exceeds its iteration limit"
"""In the error a guarded list raises when it is longer than its cap."""
MIN_GUARD_CAP = 10
"""A guard's cap below this would refuse ordinary data: such a query is refused before it runs."""

_QUANTIFIERS = frozenset({"ANY", "ALL", "NONE", "SINGLE"})


@dataclass(frozen=True, slots=True)
class Guard:
    """A run-time bound on the list an iteration walks: its tokens end before `end`; at most `cap` items."""

    end: int
    cap: int


@dataclass(frozen=True, slots=True)
class _Chain:
    """Iterations nested in each other: the product of the sizes the text spells out, the spans of
    the lists it does not (guardable), and how many pattern comprehensions it passes through."""

    known: int = 1
    unknowns: tuple[tuple[int, int], ...] = ()
    patterns: int = 0

    def static_steps(self) -> int:
        return int(self.known * UNKNOWN_LIST_SIZE**self.patterns)

    def counted_steps(self) -> int:
        """The steps as counted before guards: every unknown list as UNKNOWN_LIST_SIZE."""
        return int(self.static_steps() * UNKNOWN_LIST_SIZE ** len(self.unknowns))


def nesting_refusal() -> str:
    return (
        f"the query nests loops too deeply: its iterations (list or pattern comprehensions, reduce, any / all / "
        f"none / single) multiply to more than {MAX_NESTED_STEPS} steps, and Neo4j cannot stop a loop inside one "
        f"expression at the time limit (a pattern comprehension counts as {UNKNOWN_LIST_SIZE} items, "
        "a reduce over a literal list or range as its size squared): UNWIND the outer list into rows instead"
    )


def guard_refusal() -> str:
    """The detail of a guarded list that was too long when the query ran."""
    return (
        "a list iterated inside nested loops (list comprehensions, reduce, any / all / none / single) is longer "
        f"than this query allows (its nested iterations may take at most {MAX_NESTED_STEPS} steps in all, and "
        "Neo4j cannot stop a loop inside one expression at the time limit): UNWIND the outer list into rows instead"
    )


def _root(budget: int, n: int) -> int:
    """The largest c with c**n <= budget."""
    c: int = max(1, round(float(budget) ** (1.0 / n)))
    while c**n > budget:
        c -= 1
    while (c + 1) ** n <= budget:
        c += 1
    return c


def range_refusal(count: int | None) -> str:
    """The detail of a refused `range()`: `count` elements when known (integer literals)."""
    size = f"{count} elements" if count is not None else f"more than {MAX_RANGE} elements"
    return (
        f"range() would make {size}; a query may make at most {MAX_RANGE} (Neo4j cannot stop a loop inside "
        "one expression at the time limit): work on smaller ranges, or page through the data"
    )


def integer_literal(toks: list[SignificantToken]) -> int | None:
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


def check_iterations(toks: list[SignificantToken]) -> dict[int, Guard]:
    """Refuse iterations nested so deep that one expression may loop too long, or say which lists to
    guard at run time (by the index of their first token; see the module)."""
    walk = _Iterations(toks)
    walk.walk(0, len(toks), _Chain())
    over = [chain for chain in walk.chains if chain.counted_steps() > MAX_NESTED_STEPS]
    if not over:
        return {}
    cap = min(_root(MAX_NESTED_STEPS // chain.static_steps(), len(chain.unknowns)) for chain in over)
    if cap < MIN_GUARD_CAP:
        refuse(nesting_refusal())
    return {lo: Guard(hi, cap) for chain in over for lo, hi in chain.unknowns}


def _is_sym(text: str) -> Callable[[SignificantToken], bool]:
    return lambda t: t.kind is Kind.SYMBOL and t.text == text


def _is_word(*words: str) -> Callable[[SignificantToken], bool]:
    return lambda t: t.kind is Kind.NAME and t.text.upper() in words


class _Iterations:
    """A walk over one query's tokens that multiplies the steps of nested iterations."""

    def __init__(self, toks: list[SignificantToken]) -> None:
        self.toks = toks
        self.closers = _closers(toks)
        self.chains: list[_Chain] = []

    def nested(self, chain: _Chain, size: int, known: bool, span: tuple[int, int]) -> _Chain:
        """The chain one iteration deeper: over `size` items when `known`, else over the list at `span`."""
        if known:
            inner = _Chain(chain.known * max(size, 1), chain.unknowns, chain.patterns)
        elif span[0] >= span[1]:  # no list to guard (Neo4j will refuse the text): counted as before
            inner = _Chain(chain.known, chain.unknowns, chain.patterns + 1)
        else:
            inner = _Chain(chain.known, (*chain.unknowns, span), chain.patterns)
        return self.counted(inner)

    def counted(self, chain: _Chain) -> _Chain:
        if chain.static_steps() > MAX_NESTED_STEPS:
            refuse(nesting_refusal())
        self.chains.append(chain)
        return chain

    def top_level(self, lo: int, hi: int, pred: Callable[[SignificantToken], bool]) -> list[int]:
        """Indexes in [lo, hi) of tokens matching `pred` outside any bracket opened in the range."""
        found: list[int] = []
        k = lo
        while k < hi:
            t = self.toks[k]
            if k in self.closers:
                k = self.closers[k] + 1
                continue
            if pred(t):
                found.append(k)
            k += 1
        return found

    def list_size(self, lo: int, hi: int) -> tuple[int, bool]:
        """Steps of an iteration over the list toks[lo:hi], and whether the text spells its size out."""
        toks, closers = self.toks, self.closers
        is_list = lo < hi and toks[lo].kind is Kind.SYMBOL and toks[lo].text == "[" and closers.get(lo) == hi - 1
        if is_list and not self.comprehension(lo):
            if lo + 1 == hi - 1:
                return 0, True
            return len(self.top_level(lo + 1, hi - 1, _is_sym(","))) + 1, True
        if (
            hi - lo >= 3
            and toks[lo].kind is Kind.NAME
            and toks[lo].text.lower() == "range"
            and toks[lo + 1].kind is Kind.SYMBOL
            and toks[lo + 1].text == "("
            and closers.get(lo + 1) == hi - 1
        ):
            commas = self.top_level(lo + 2, hi - 1, _is_sym(","))
            bounds = [lo + 2, *(c + 1 for c in commas)]
            ends = [*commas, hi - 1]
            values = [integer_literal(toks[b:e]) for b, e in zip(bounds, ends, strict=True)]
            if len(values) in (2, 3) and all(v is not None for v in values):
                first, last, step = (*values, 1) if len(values) == 2 else values
                assert first is not None and last is not None and step is not None
                if step == 0:
                    return 0, True
                count = len(range(first, last + (1 if step > 0 else -1), step))
                if count > MAX_RANGE:
                    refuse(range_refusal(count))
                return count, True
            return MAX_RANGE, True
        return UNKNOWN_LIST_SIZE, False

    def comprehension(self, open_at: int) -> str | None:
        """What the '[' at `open_at` starts: "list" (x IN ...), "pattern" ((...)-...-(...) | ...) or None."""
        toks = self.toks
        close = self.closers.get(open_at, open_at)
        if self.top_level(open_at + 1, close, _is_sym(",")):
            return None
        k = open_at + 1
        if k + 1 < close and is_variable_token(toks[k]) and _is_word("IN")(toks[k + 1]):
            return "list"
        if k + 1 < close and is_variable_token(toks[k]) and _is_sym("=")(toks[k + 1]):
            k += 2
        if k < close and _is_sym("(")(toks[k]) and self.top_level(k, close, _is_sym("|")):
            return "pattern"
        return None

    def walk(self, lo: int, hi: int, steps: _Chain) -> None:
        toks, closers = self.toks, self.closers
        k = lo
        while k < hi:
            t = toks[k]
            if t.kind is Kind.SYMBOL and t.text == "[" and k in closers:
                close = closers[k]
                kind = self.comprehension(k)
                if kind == "list":
                    ends = self.top_level(k + 3, close, lambda x: _is_word("WHERE")(x) or _is_sym("|")(x))
                    source_end = ends[0] if ends else close
                    size, known = self.list_size(k + 3, source_end)
                    self.walk(k + 3, source_end, steps)
                    self.walk(source_end, close, self.nested(steps, size, known, (k + 3, source_end)))
                    k = close + 1
                    continue
                if kind == "pattern":
                    self.walk(k + 1, close, self.counted(_Chain(steps.known, steps.unknowns, steps.patterns + 1)))
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
                    commas = self.top_level(start, close, _is_sym(","))
                    if commas:
                        self.walk(start, commas[0], steps)
                        start = commas[0] + 1
                if start + 1 < close and is_variable_token(toks[start]) and _is_word("IN")(toks[start + 1]):
                    stop = _is_sym("|") if t.text.upper() == "REDUCE" else _is_word("WHERE")
                    ends = self.top_level(start + 2, close, stop)
                    source_end = ends[0] if ends else close
                    size, known = self.list_size(start + 2, source_end)
                    if t.text.upper() == "REDUCE":
                        self.check_accumulator_growth(open_at + 1, source_end, close, size if known else None)
                        if known:
                            size = size * size
                    self.walk(start + 2, source_end, steps)
                    self.walk(source_end, close, self.nested(steps, size, known, (start + 2, source_end)))
                    k = close + 1
                    continue
            k += 1

    def check_accumulator_growth(self, acc_at: int, step_from: int, close: int, size: int | None) -> None:
        """Refuse a reduce that can grow its accumulator exponentially: Neo4j does not count string
        memory against the transaction, so `reduce(s = 'x', i IN range(1, 30) | s + s)` builds a 1 GiB
        string on the shared heap before any limit applies."""
        toks = self.toks
        if acc_at + 1 >= close or not is_variable_token(toks[acc_at]) or not _is_sym("=")(toks[acc_at + 1]):
            return
        name = toks[acc_at].text
        uses = sum(1 for k in range(step_from + 1, close) if toks[k].kind is toks[acc_at].kind and toks[k].text == name)
        if uses >= 2 and (size is None or size > MAX_DOUBLINGS):
            refuse(
                f"reduce() uses its accumulator {name} {uses} times per step over "
                f"{'a list the query does not spell out' if size is None else f'{size} items'}: it could double "
                f"every step and exhaust the server's memory; at most {MAX_DOUBLINGS} such steps are allowed"
            )


def _closers(toks: list[SignificantToken]) -> dict[int, int]:
    stack: list[int] = []
    closers: dict[int, int] = {}
    for k, t in enumerate(toks):
        if t.kind is Kind.SYMBOL and t.text in "([{":
            stack.append(k)
        elif t.kind is Kind.SYMBOL and t.text in ")]}" and stack:
            closers[stack.pop()] = k
    return closers

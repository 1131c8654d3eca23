"""Expressions: scanned, not parsed into a tree; only what needs scoping is rewritten.

That is `datainfra.key(x)` (the internal key), `x:Label` predicates, `labels()` / `type()` / `keys()`, pattern
predicates and comprehensions, `EXISTS` / `COUNT` / `COLLECT` subqueries, map literals and
projections, and `range()`, whose size is capped (`budget.MAX_RANGE`). Functions outside a few
namespaces and internal-id functions are refused.
"""

from __future__ import annotations

from collections.abc import Callable

from datainfra.adapters.neo4j.client_cypher.budget import (
    GUARD_LIMIT_MARKER,
    MAX_RANGE,
    RANGE_LIMIT_MARKER,
    RANGE_TYPE_MARKER,
    Guard,
    integer_literal,
    nesting_refusal,
    range_refusal,
)
from datainfra.adapters.neo4j.client_cypher.rewrite.rules import Rules
from datainfra.adapters.neo4j.client_cypher.significant import OPERATOR_WORDS, SignificantToken, refuse
from datainfra.adapters.neo4j.client_cypher.tokens import NAME, Kind, quoted_value
from datainfra.adapters.neo4j.namespacing import Q_KEY, Q_LABELS, Q_TYPE, quote

FUNCTION_NAMESPACES = frozenset(
    {"point", "date", "datetime", "localdatetime", "time", "localtime", "duration", "vector"}
)
"""Namespaced functions a client may call; `db.*`, `dbms.*`, `apoc.*`, `gds.*`, `graph.*`... are refused."""
KEY_FUNCTION = "datainfra.key"
"""`datainfra.key(x)`: the key of node or relationship `x`, the `{id}` of the graph routes (stored as
`#id`; generated for what Cypher creates). Cypher's `x.id` is an ordinary property."""
_NOT_A_LABEL_AFTER_IS = frozenset({"NULL", "NOT", "TYPED", "NORMALIZED", "NFC", "NFD", "NFKC", "NFKD"})
_SUBQUERY_START = frozenset({"MATCH", "OPTIONAL", "WITH", "UNWIND", "CALL", "RETURN", "UNION", "CREATE", "MERGE"})


class ExpressionRules(Rules):
    """Expressions, up to a stop word or symbol at their top level."""

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
            guard = self.guards.pop(self.i, None)
            if guard is not None:
                chain = len(out)
                out.append(self.guarded_list(scope, guard))
                continue
            if t.kind is Kind.SYMBOL:
                chain = self.expr_symbol(scope, out, chain)
            elif t.kind is Kind.NAME and upper in OPERATOR_WORDS:
                chain = self.expr_word(out, chain, cases)
            elif t.kind in (Kind.NAME, Kind.QUOTED):
                chain = self.expr_name(scope, out)
            else:  # string, number, parameter: an atom
                chain = len(out)
                out.append(self.take())
        return "".join(out)

    def guarded_list(self, scope: set[str], guard: Guard) -> str:
        """The list an iteration walks, evaluated once and failing with `GUARD_LIMIT_MARKER` when it has
        more than `guard.cap` items (`budget.check_iterations` says which lists need it)."""
        pre = self.peek().pre
        first = self.i
        inner = self.expr(scope, frozenset({"WHERE"}), frozenset({"|"}))
        if self.i == first + 1 and self.toks[first].kind is Kind.PARAM:  # a client list: checked when bound too
            name = inner.strip()[1:]
            self.collected.guarded_params[name] = min(guard.cap, self.collected.guarded_params.get(name, guard.cap))
        if self.i != guard.end:  # not where the budget saw the list end: no guess, the old refusal
            refuse(nesting_refusal())
        g = quote("#g")
        error = f"date('{GUARD_LIMIT_MARKER}')"
        return f"{pre}[{g} IN [{inner.strip()}] | CASE WHEN size({g}) > {guard.cap} THEN {error} ELSE {g} END][0]"

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
                self.toks[self.i] = SignificantToken(t.kind, t.text, "", t.start, t.end)
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
        if lower == KEY_FUNCTION:
            self.expect("(")
            inner = self.expr(scope, frozenset())
            self.expect(")")
            return f"{pre}({inner.strip()}).{Q_KEY}"
        if "." in name:
            if lower.split(".")[0] not in FUNCTION_NAMESPACES:
                self.fail(f"function {name}() is not available in a dataset query")
        elif lower in ("id", "elementid"):
            self.fail(
                f"{name}() gives internal ids, which are not available: {KEY_FUNCTION}(n) is the key of a node or "
                "relationship (what the graph routes address)"
            )
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
            literal.append(integer_literal(self.toks[start : self.i]))
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
                    refuse(range_refusal(count))
            return "range(" + ",".join(args) + ")"
        v = self.variables.fresh("r")
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
        t = quote("#t")  # Neo4j refuses a float or a boolean argument, but not once it is read from a list
        typed = (
            f"CASE WHEN any({t} IN {v} WHERE NOT {t} IS :: INTEGER) THEN date('{RANGE_TYPE_MARKER}') ELSE {call} END"
        )
        return f"[{v} IN [[{bound}]] | {typed}][0]"

    def simple_variable(self, text: str) -> str | None:
        """The variable name when `text` is just one variable, else None."""
        text = text.strip()
        if NAME.fullmatch(text) and text.upper() not in OPERATOR_WORDS:
            return text
        if len(text) > 1 and text[0] == "`" and text[-1] == "`" and "`" not in text[1:-1].replace("``", ""):
            return quoted_value(text)
        return None

    def property_access(self, base: str) -> str:
        """`base.key`: a property like any other (`id` too: the key lives in `#id`, see `KEY_FUNCTION`)."""
        t = self.peek()
        if t.kind not in (Kind.NAME, Kind.QUOTED):
            self.fail("expected a property name after '.'")
        key = self.schema_name("property")
        return f"{base}.{key if t.kind is Kind.NAME else quote(key)}"

    def label_predicate(self, subject: str, *, colon_conjunction: bool) -> str:
        var = self.simple_variable(subject)
        if var is None:
            self.fail("a label predicate applies to a variable: n:Label")
        lx = self.label_expression(colon_conjunction=colon_conjunction)
        if var in self.variables.relationships and var not in self.variables.nodes:
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
                    items.append("." + quote(key))
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

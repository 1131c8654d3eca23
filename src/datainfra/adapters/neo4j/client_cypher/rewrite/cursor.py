"""Reading a query's significant tokens one at a time, and writing each back as Neo4j gets it.

The cursor is the base of the rewriter: lookahead (`peek`, `sym`, `kw`), consuming (`take` returns
the token's text with the whitespace before it), refusals that say where (`fail`), and the
canonical form of a token: string literals become parameters, quoted names are re-quoted, client
parameter names are checked.
"""

from __future__ import annotations

import re
from typing import NoReturn

from datainfra.adapters.neo4j.client_cypher.bounds import MAX_NESTING
from datainfra.adapters.neo4j.client_cypher.rewrite.state import Collected
from datainfra.adapters.neo4j.client_cypher.significant import SignificantToken, is_variable_token, refuse
from datainfra.adapters.neo4j.client_cypher.tokens import Kind, quoted_value
from datainfra.adapters.neo4j.namespacing import quote
from datainfra.domain.names import NAME_PATTERN, name_problem


class Cursor:
    """A position in the significant tokens of `source`, and what writing them back collected."""

    def __init__(self, toks: list[SignificantToken], source: str, collected: Collected) -> None:
        self.toks = toks
        self.src = source
        self.i = 0
        self.end = SignificantToken(Kind.END, "", "", len(source), len(source))
        self.collected = collected
        self.closers = self._match_brackets()

    def bind(self, scope: set[str]) -> str:
        """A variable a clause binds (UNWIND ... AS x, ... AS alias)."""
        if not self.is_name():
            self.fail("expected a variable name")
        t = self.advance()
        scope.add(self.name_of(t))
        return t.pre + self.canonical(t)

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
                    refuse(f"the query nests brackets more than {MAX_NESTING} deep")
            elif t.text in (")", "]", "}"):
                if not stack or pairs[self.toks[stack[-1]].text] != t.text:
                    refuse(f"unbalanced {t.text!r} at offset {t.start}")
                closers[stack.pop()] = k
        if stack:
            refuse(f"unclosed {self.toks[stack[-1]].text!r} at offset {self.toks[stack[-1]].start}")
        return closers

    def peek(self, k: int = 0) -> SignificantToken:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else self.end

    def sym(self, text: str, k: int = 0) -> bool:
        t = self.peek(k)
        return t.kind is Kind.SYMBOL and t.text == text

    def kw(self, *words: str, k: int = 0) -> bool:
        t = self.peek(k)
        return t.kind is Kind.NAME and t.text.upper() in words

    def advance(self) -> SignificantToken:
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
        refuse(detail + where)

    def canonical(self, t: SignificantToken) -> str:
        """A token as Neo4j gets it: strings as parameters, quoted names re-quoted."""
        if t.kind is Kind.STRING:
            return "$" + self.collected.string_parameter(t.text)
        if t.kind is Kind.QUOTED:
            return quote(self.quoted(t))
        if t.kind is Kind.PARAM:
            name = quoted_value(t.text[1:]) if t.text.startswith("$`") else t.text[1:]
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*|[0-9]+", name):  # never our own `_ds_...` names
                refuse(f"parameter ${name}: a parameter name is a letter followed by letters, digits or _, or digits")
            self.collected.client_params.add(name)
            return "$" + name
        if t.kind is Kind.SYMBOL and t.text == "$":
            self.fail("dynamic labels, types or properties ($(...)) are not supported")
        return t.text

    def quoted(self, t: SignificantToken) -> str:
        value = quoted_value(t.text)
        if "\\" in value:
            refuse(f"a quoted name must not contain a backslash: {value!r}")
        if value.startswith("#"):
            refuse(f"names starting with '#' are reserved: {value!r}")
        return value

    def name_of(self, t: SignificantToken) -> str:
        return self.quoted(t) if t.kind is Kind.QUOTED else t.text

    def is_name(self, k: int = 0) -> bool:
        return self.peek(k).kind in (Kind.NAME, Kind.QUOTED)

    def is_variable(self, k: int = 0) -> bool:
        return is_variable_token(self.peek(k))

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
            refuse(f"{what} {name!r} {problem}")
        return name

    def rel_start(self, k: int = 0) -> bool:
        if self.sym("<", k=k):
            return self.sym("-", k=k + 1)
        return self.sym("-", k=k) and (self.sym("-", k=k + 1) or self.sym("[", k=k + 1))

    def plain_key(self) -> str:
        t = self.peek()
        if t.kind not in (Kind.NAME, Kind.QUOTED):
            self.fail("expected a map key")
        self.advance()
        return self.name_of(t)

"""Label and relationship-type expressions: read as the client wrote them, written in the namespace.

`:A:B`, `A|B`, `A&B`, `!A`, `%` and parentheses are read into a small tree (`LabelExpr`). A node's
labels are written as the dataset label and the client's labels under the dataset's label prefix,
always in GPM symbols (Neo4j refuses a query mixing `:A:B` with `&|!%`); a relationship's types
become a predicate on its `#type` property, since every relationship of a dataset has its one type.
"""

from __future__ import annotations

from datainfra.adapters.neo4j.client_cypher.rewrite.rules import LabelExpr, Rules
from datainfra.adapters.neo4j.namespacing import Q_TYPE, quote


def lx_names(lx: LabelExpr, op: str) -> list[str] | None:
    """The names of a pure conjunction (op "and") or disjunction (op "or") of names, else None."""
    if lx[0] == "name":
        return [lx[1]]
    if lx[0] == op:
        names: list[str] = []
        for part in lx[1]:
            sub = lx_names(part, op)
            if sub is None:
                return None
            names.extend(sub)
        return names
    return None


class LabelRules(Rules):
    """Label and type expressions: reading them, and writing them in the dataset's namespace."""

    def node_labels(self, lx: LabelExpr | None) -> str:
        if lx is None:
            return ":" + self.ns.n
        # always GPM symbols: Neo4j refuses a query mixing `:A:B` with `&|!%` anywhere in it
        names = lx_names(lx, "and")
        if names is not None:
            return ":" + self.ns.n + "".join("&" + quote(self.ns.label_prefix + name) for name in names)
        return ":" + self.ns.n + "&" + self.emit_labels(lx, parenthesize=True)

    def emit_labels(self, lx: LabelExpr, *, parenthesize: bool = False) -> str:
        kind = lx[0]
        if kind == "name":
            return quote(self.ns.label_prefix + lx[1])
        if kind == "any":
            return "%"
        if kind == "not":
            return "!" + self.emit_labels(lx[1], parenthesize=True)
        joined = ("&" if kind == "and" else "|").join(self.emit_labels(part, parenthesize=True) for part in lx[1])
        return f"({joined})" if parenthesize else joined

    def type_predicate(self, var: str, lx: LabelExpr) -> str:
        kind = lx[0]
        if kind == "name":
            return f"{var}.{Q_TYPE} = '{lx[1]}'"
        if kind == "any":
            return f"{var}.{Q_TYPE} IS NOT NULL"
        if kind == "not":
            return f"NOT ({self.type_predicate(var, lx[1])})"
        names = lx_names(lx, "or")
        if names is not None:
            return f"{var}.{Q_TYPE} IN [" + ", ".join(f"'{name}'" for name in names) + "]"
        joiner = " AND " if kind == "and" else " OR "
        return "(" + joiner.join(f"({self.type_predicate(var, part)})" for part in lx[1]) + ")"

    def label_expression(self, *, colon_conjunction: bool = True) -> LabelExpr:
        """After ':' or IS: `A`, `A:B` (legacy conjunction), `A|B`, `A&B`, `!A`, `%`, parentheses."""
        terms = [self._lx_or()]
        while colon_conjunction and self.sym(":"):
            self.advance()
            terms.append(self._lx_or())
        return terms[0] if len(terms) == 1 else ("and", terms)

    def _lx_or(self) -> LabelExpr:
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

    def _lx_and(self) -> LabelExpr:
        parts = [self._lx_not()]
        while self.sym("&"):
            self.advance()
            parts.append(self._lx_not())
        return parts[0] if len(parts) == 1 else ("and", parts)

    def _lx_not(self) -> LabelExpr:
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

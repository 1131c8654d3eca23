"""Node and relationship patterns, scoped to the dataset.

In MATCH every node pattern gets the dataset label and the client's labels namespaced, every
relationship pattern the dataset type with the client's types as a `#type` predicate. CREATE adds
the internal key (a generated one) and labels (or type); MERGE matches on the client's properties
and sets the internal ones ON CREATE. A property named `id` is the client's own, like any other.
Quantified paths, WHERE inside a pattern and shortestPath are MATCH only.
"""

from __future__ import annotations

from datainfra.adapters.neo4j.client_cypher.rewrite.labels import lx_names
from datainfra.adapters.neo4j.client_cypher.rewrite.rules import LabelExpr, Rules
from datainfra.adapters.neo4j.client_cypher.significant import refuse
from datainfra.adapters.neo4j.client_cypher.tokens import Kind
from datainfra.adapters.neo4j.namespacing import KEY, LABELS, Q_KEY, Q_LABELS, TYPE, quote
from datainfra.domain.names import name_problem

NEW_KEY = "randomUUID()"
"""The key (`#id`, what the graph routes address) of a node or relationship Cypher creates: generated,
never the client's `id`, which is an ordinary property (any type, not unique)."""

_SELECTOR_WORDS = frozenset({"ANY", "ALL", "SHORTEST", "GROUP", "GROUPS", "PATH", "PATHS"})


class PatternRules(Rules):
    """Path patterns of MATCH, CREATE and MERGE (and of pattern predicates and comprehensions)."""

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
        labels: LabelExpr | None = None
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
            self.variables.nodes.add(var)
        if mode == "match":
            return out + var_text + self.node_labels(labels) + self.props_text(entries) + where + close
        names = [] if labels is None else lx_names(labels, "and")
        if names is None:
            self.fail("a node to create takes plain labels (:A:B), not a label expression")
        names = [_written_name(name, "label") for name in dict.fromkeys(names)]
        label_text = self.node_labels(("and", [("name", name) for name in names]))
        label_list = "[" + ", ".join(f"'{name}'" for name in names) + "]"
        if mode == "create":
            entries = [*(entries or []), (KEY, NEW_KEY), (LABELS, label_list)]
            return out + var_text + label_text + self.props_text(entries) + close
        # MERGE: match on the client's properties; the internal ones are set when it creates
        if var_text == "":
            var_text = " " + self.variables.fresh("n")
        name = var_text.strip()
        self.on_create.append(f"{name}.{Q_KEY} = {NEW_KEY}")
        self.on_create.append(f"{name}.{Q_LABELS} = {label_list}")
        return out + var_text + label_text + self.props_text(entries) + close

    def pattern_key(self, mode: str) -> str:
        return self.schema_name("property", write=mode != "match")

    def props_text(self, entries: list[tuple[str, str]] | None) -> str:
        if entries is None:
            return ""
        return " {" + ", ".join(f"{quote(k)}: {v.strip()}" for k, v in entries) + "}"

    def relationship(self, scope: set[str], mode: str) -> str:
        left = ""
        if self.sym("<"):
            self.advance()
            left = "<"
        self.expect("-")
        var: str | None = None
        var_text = ""
        types: LabelExpr | None = None
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
            self.variables.relationships.add(var)
        entries = list(entries or [])
        predicates: list[str] = []
        single = lx_names(types, "or") if types is not None else None
        if mode != "match":
            if single is None or len(single) != 1:
                self.fail("a relationship to create needs exactly one type: -[:TYPE]->")
            _written_name(single[0], "relationship type")
            if length:
                self.fail("a variable-length relationship cannot be created")
            if mode == "merge" and not var_text:
                var_text = self.variables.fresh("r")
            entries.append((TYPE, f"'{single[0]}'"))
            if mode == "create":
                entries.append((KEY, NEW_KEY))
            else:
                self.on_create.append(f"{var_text}.{Q_KEY} = {NEW_KEY}")
        elif types is not None and single is not None and len(single) == 1:
            entries.append((TYPE, f"'{single[0]}'"))
        elif types is not None and types != ("any",):
            if length:
                self.fail(
                    "a variable-length relationship with several types (or a type expression) is not supported: "
                    "write a quantified path pattern, e.g. (a)(()-[:A|B]->()){1,3}(b)"
                )
            if not var_text:
                var_text = self.variables.fresh("r")
            predicates.append(self.type_predicate(var_text, types))
        if where:
            predicates.append(where)
        inner = var_text + ":" + self.ns.r + length + (self.props_text(entries) if entries else "")
        if predicates:
            inner += " WHERE " + " AND ".join(f"({p})" if len(predicates) > 1 else p for p in predicates)
        return f"{left}-[{inner}]-{right}{quantifier}"


def _written_name(name: str, what: str) -> str:
    """A label or type a write stores: the graph routes' rule (`domain.names`)."""
    problem = name_problem(name)
    if problem is not None:
        refuse(f"{what} {name!r} {problem}")
    return name

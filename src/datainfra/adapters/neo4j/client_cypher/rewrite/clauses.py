"""Clauses: the statement, UNION, MATCH / CREATE / MERGE, WITH / RETURN, UNWIND, CALL, FOREACH.

Each clause hands its patterns, items and expressions to the other rule families and keeps `scope`,
the variables bound at that point, which CREATE and MERGE need (a bound `(a)` is a reference, an
unbound one a new node that must get the dataset label). What cannot run inside one dataset
(procedures, LOAD CSV, USE, schema and admin commands, CALL ... IN TRANSACTIONS) is refused here.
"""

from __future__ import annotations

from datainfra.adapters.neo4j.client_cypher.rewrite.rules import CLAUSE_STOPS, Rules
from datainfra.adapters.neo4j.client_cypher.tokens import Kind
from datainfra.adapters.neo4j.namespacing import quote

ALLOWED_PROCEDURES: frozenset[str] = frozenset()
"""Procedures a client may CALL (none: every built-in one reaches outside the dataset)."""

_UPDATING = frozenset({"CREATE", "MERGE", "SET", "REMOVE", "DELETE", "DETACH", "NODETACH", "FOREACH"})

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


class ClauseRules(Rules):
    """Clauses and the queries they make up (UNION parts, CALL bodies)."""

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
                returned = set(self.returned)
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
            out = self.take() + self.expr(scope, CLAUSE_STOPS) + self.expect_kw("AS")
            return out + self.bind(scope)
        if word == "SET":
            self.collected.writes = True
            return self.take() + self.set_items(scope)
        if word == "REMOVE":
            self.collected.writes = True
            return self.take() + self.remove_items()
        if word in ("DELETE", "DETACH", "NODETACH"):
            self.collected.writes = True
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

    def match_clause(self, scope: set[str]) -> str:
        out = self.take()
        if self.kw("MATCH"):
            out += self.take()
        out += self.patterns(scope, "match")
        if self.kw("USING"):
            self.fail(_REFUSED_CLAUSES["USING"])
        if self.kw("WHERE"):
            out += self.take() + self.expr(scope, CLAUSE_STOPS)
        return out

    def create_clause(self, scope: set[str]) -> str:
        if not (self.sym("(", k=1) or (self.is_name(k=1) and self.sym("=", k=2))):
            self.fail(_ADMIN)
        self.collected.writes = True
        return self.take() + self.patterns(scope, "create")

    def merge_clause(self, scope: set[str]) -> str:
        self.collected.writes = True
        saved, self.on_create = self.on_create, []
        out = self.take() + self.pattern_part(scope, "merge")
        if self.on_create:
            out += " ON CREATE SET " + ", ".join(self.on_create)
        self.on_create = saved
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
                    or self.kw(*CLAUSE_STOPS, k=1)
                    or self.peek(1).kind is Kind.END
                    or self.sym("}", k=1)
                    or self.sym(")", k=1)
                )
                text = self.expr(scope, CLAUSE_STOPS, frozenset({","}))
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
                        out += " AS " + quote(self.collected.column_alias(original))
            if not self.sym(","):
                break
            out += self.take()
        if self.kw("ORDER"):
            out += self.take() + self.expect_kw("BY")
            while True:
                out += self.expr(scope, CLAUSE_STOPS, frozenset({","}))
                if self.kw("ASC", "DESC", "ASCENDING", "DESCENDING"):
                    out += self.take()
                if not self.sym(","):
                    break
                out += self.take()
        if self.kw("SKIP", "OFFSET"):
            out += self.take() + self.expr(scope, CLAUSE_STOPS)
        if self.kw("LIMIT"):
            out += self.take() + self.expr(scope, CLAUSE_STOPS)
        if is_with and self.kw("WHERE"):
            out += self.take() + self.expr(scope, CLAUSE_STOPS)
        if is_with:
            if not star:
                scope.clear()
            scope |= kept
        else:
            self.returned = kept | (set(scope) if star else set())
        return out

    def expr_list(self, scope: set[str]) -> str:
        out = self.expr(scope, CLAUSE_STOPS, frozenset({","}))
        while self.sym(","):
            out += self.take() + self.expr(scope, CLAUSE_STOPS, frozenset({","}))
        return out

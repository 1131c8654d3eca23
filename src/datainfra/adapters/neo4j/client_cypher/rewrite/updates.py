"""SET and REMOVE items: properties change, the internal ones stay intact, labels never change.

Setting or removing property `p` also clears its order key (the store's sort helper, see
`namespacing.order_key`); `SET n = {...}` keeps the internal key, labels and type; `SET n += $p`
names `p` a map parameter, which the runner checks and binds the order keys of.
"""

from __future__ import annotations

from datainfra.adapters.neo4j.client_cypher.rewrite.rules import CLAUSE_STOPS, Rules
from datainfra.adapters.neo4j.client_cypher.rewrite.state import ORDER_KEY_PARAM_PREFIX
from datainfra.adapters.neo4j.client_cypher.significant import refuse
from datainfra.adapters.neo4j.client_cypher.tokens import Kind
from datainfra.adapters.neo4j.namespacing import Q_KEY, Q_LABELS, Q_TYPE, order_key, quote


class UpdateRules(Rules):
    """The items of SET and REMOVE."""

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
            value = self.expr(scope, CLAUSE_STOPS, frozenset({","}))
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
            refuse("the id of a node or relationship cannot change: create a new one (and delete the old one)")
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
            self.collected.map_params.add(param)
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

"""SET and REMOVE items: properties change, the internal ones stay intact.

A label set or removed (`SET n:A:B`, `SET n IS A`, `REMOVE n:A`) is the dataset's namespaced label,
and the node's label list (`#labels`, what the graph routes read) changes with it.

Setting or removing property `p` also clears its order key (the store's sort helper, see
`namespacing.order_key`); `SET n = {...}` keeps the internal key, labels and type; `SET n += $p`
names `p` a map parameter, which the runner checks and binds the order keys of.
"""

from __future__ import annotations

from datainfra.adapters.neo4j.client_cypher.rewrite.rules import CLAUSE_STOPS, Rules
from datainfra.adapters.neo4j.client_cypher.rewrite.state import ORDER_KEY_PARAM_PREFIX
from datainfra.adapters.neo4j.client_cypher.tokens import Kind
from datainfra.adapters.neo4j.namespacing import Q_KEY, Q_LABELS, Q_TYPE, order_key, quote


class UpdateRules(Rules):
    """The items of SET and REMOVE."""

    def set_items(self, scope: set[str]) -> str:
        added: dict[str, list[str]] = {}
        items = [self.set_item(scope, added)]
        while self.sym(","):
            self.advance()
            items.append(self.set_item(scope, added))
        # one update of the label list per variable, after every item (each reads the list as it was)
        for var, names in added.items():
            have = f"coalesce({var}.{Q_LABELS}, [])"
            new, each = quote("#l"), self.label_list(list(dict.fromkeys(names)))
            items.append(f"{var}.{Q_LABELS} = {have} + [{new} IN {each} WHERE NOT {new} IN {have}]")
        return " " + ", ".join(items)

    def target(self, verb: str) -> str:
        if self.sym("(") and self.is_variable(k=1) and self.sym(")", k=2):  # (n).prop, as Cypher allows
            self.advance()
            var = self.canonical(self.advance())
            self.advance()
            return var
        if not self.is_variable():
            self.fail(f"{verb} needs a variable: n.prop ...")
        return self.canonical(self.advance())

    def set_item(self, scope: set[str], added: dict[str, list[str]]) -> str:
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
            names = self.labels_to_change()
            added.setdefault(var, []).extend(names)
            return f"{var}{self.namespaced_labels(names)}"
        if self.sym("+=") or self.sym("="):
            replace = self.advance().text == "="
            return self.set_map(scope, var, replace=replace)
        self.fail("expected n.prop = value, n += {...} or n = {...}")

    def labels_to_change(self) -> list[str]:
        """`:A:B` or `IS A` after the variable of a SET or REMOVE item: the client's label names."""
        names: list[str] = []
        if self.kw("IS"):
            self.advance()
            names.append(self.schema_name("label", write=True))
        while self.sym(":"):
            self.advance()
            names.append(self.schema_name("label", write=True))
        if self.sym("&") or self.sym("|") or self.sym("!") or self.sym("%"):
            self.fail("SET and REMOVE take plain labels: n:A:B")
        return names

    def namespaced_labels(self, names: list[str]) -> str:
        return "".join(":" + quote(self.ns.label_prefix + name) for name in names)

    @staticmethod
    def label_list(names: list[str]) -> str:
        return "[" + ", ".join(f"'{name}'" for name in names) + "]"  # checked names: no quote inside

    def property_key_to_write(self) -> str:
        return self.schema_name("property", write=True)

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
        removed: dict[str, list[str]] = {}
        while True:
            var = self.target("REMOVE")
            if self.sym(":") or self.kw("IS"):
                names = self.labels_to_change()
                items.append(f"{var}{self.namespaced_labels(names)}")
                removed.setdefault(var, []).extend(names)
            else:
                if not self.sym("."):
                    self.fail("REMOVE removes a property or a label: REMOVE n.prop, REMOVE n:Label")
                self.advance()
                key = self.property_key_to_write()
                items.append(f"{var}.{quote(key)}, {var}.{quote(order_key(key))}")
            if not self.sym(","):
                break
            self.advance()
        kept = quote("#l")
        label_lists = [
            f"{var}.{Q_LABELS} = [{kept} IN {var}.{Q_LABELS} WHERE NOT {kept} IN {self.label_list(names)}]"
            for var, names in removed.items()
        ]
        return " " + ", ".join(items) + (" SET " + ", ".join(label_lists) if label_lists else "")

"""The TCK's value syntax, read by a bounded recursive descent, into one comparable form.

Values: `null`, `true`/`false`, integers, floats (`1.0`, `-.5`, `1e3`, `NaN`, `Inf`, `-Inf`), strings
in single quotes (`\\'` and `\\\\` escapes), lists `[...]`, maps `{k: v}`, nodes `(:A:B {p: 1})`,
relationships `[:T {p: 1}]` and paths `<(...)-[...]->(...)>`. Nesting is at most MAX_DEPTH levels
(a deeper text is refused, never a RecursionError).

The comparable form (`Value`) is made of tuples, so values hash and lists can be compared as
multisets: ("null",), ("bool", b), ("int", i), ("float", f) (NaN as ("float", "NaN")), ("str", s),
("list", items), ("map", sorted items), ("node", sorted labels, map), ("rel", type, map),
("path", items) with items alternating nodes and ("->" | "<-", rel)."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["MAX_DEPTH", "Value", "parse_value", "render_value", "unordered"]

MAX_DEPTH = 64
Value = tuple[Any, ...]
NULL: Value = ("null",)


def number(value: float) -> Value:
    return ("float", "NaN") if math.isnan(value) else ("float", value)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> ValueError:
        return ValueError(f"TCK value {self.text!r}: {what} at {self.pos}")

    def space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self, token: str) -> bool:
        self.space()
        return self.text.startswith(token, self.pos)

    def expect(self, token: str) -> None:
        if not self.peek(token):
            raise self.fail(f"{token!r} expected")
        self.pos += len(token)

    def value(self, depth: int) -> Value:
        if depth > MAX_DEPTH:
            raise self.fail(f"nested deeper than {MAX_DEPTH} levels")
        self.space()
        if self.pos >= len(self.text):
            raise self.fail("a value expected")
        char = self.text[self.pos]
        if char == "'":
            return ("str", self.string())
        if char == "[":
            return self.relationship(depth) if self.text.startswith("[:", self.pos) else self.list(depth)
        if char == "{":
            return self.map(depth)
        if char == "(":
            return self.node(depth)
        if char == "<":
            return self.path(depth)
        return self.scalar()

    def string(self) -> str:
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if char == "'":
                self.pos += 1
                return "".join(out)
            out.append(char)
            self.pos += 1
        raise self.fail("an unclosed string")

    def scalar(self) -> Value:
        start = self.pos
        while self.pos < len(self.text) and (self.text[self.pos].isalnum() or self.text[self.pos] in "+-._"):
            self.pos += 1
        word = self.text[start : self.pos]
        lowered = word.lower()
        if lowered == "null":
            return NULL
        if lowered in ("true", "false"):
            return ("bool", lowered == "true")
        if word in ("NaN", "-NaN"):
            return ("float", "NaN")
        if word in ("Inf", "+Inf", "Infinity"):
            return ("float", math.inf)
        if word in ("-Inf", "-Infinity"):
            return ("float", -math.inf)
        try:
            if word.lstrip("+-").isdigit():
                return ("int", int(word))
            if word.lower().startswith(("0x", "-0x")):
                return ("int", int(word, 16))
            return number(float(word))
        except ValueError:
            raise self.fail(f"cannot read {word!r}") from None

    def items(self, close: str, depth: int, item: Any) -> list[Any]:
        out: list[Any] = []
        if self.peek(close):
            self.pos += len(close)
            return out
        while True:
            out.append(item(depth))
            if self.peek(","):
                self.pos += 1
                continue
            self.expect(close)
            return out

    def list(self, depth: int) -> Value:
        self.expect("[")
        return ("list", tuple(self.items("]", depth + 1, self.value)))

    def key(self) -> str:
        self.space()
        if self.peek("`"):
            end = self.text.find("`", self.pos + 1)
            if end < 0:
                raise self.fail("an unclosed name")
            name, self.pos = self.text[self.pos + 1 : end], end + 1
            return name
        start = self.pos
        while self.pos < len(self.text) and (self.text[self.pos].isalnum() or self.text[self.pos] == "_"):
            self.pos += 1
        if start == self.pos:
            raise self.fail("a name expected")
        return self.text[start : self.pos]

    def entry(self, depth: int) -> tuple[str, Value]:
        name = self.key()
        self.expect(":")
        return name, self.value(depth)

    def map(self, depth: int) -> Value:
        self.expect("{")
        entries = self.items("}", depth + 1, self.entry)
        return ("map", tuple(sorted(entries)))

    def properties(self, depth: int) -> Value:
        return self.map(depth) if self.peek("{") else ("map", ())

    def names(self) -> list[str]:
        names: list[str] = []
        while self.peek(":"):
            self.pos += 1
            names.append(self.key())
        return names

    def node(self, depth: int) -> Value:
        self.expect("(")
        labels = self.names()
        props = self.properties(depth + 1)
        self.expect(")")
        return ("node", tuple(sorted(labels)), props)

    def relationship(self, depth: int) -> Value:
        self.expect("[")
        names = self.names()
        if len(names) != 1:
            raise self.fail("a relationship has one type")
        props = self.properties(depth + 1)
        self.expect("]")
        return ("rel", names[0], props)

    def path(self, depth: int) -> Value:
        self.expect("<")
        items: list[Any] = [self.node(depth + 1)]
        while not self.peek(">"):
            backwards = self.peek("<-")
            self.expect("<-" if backwards else "-")
            rel = self.relationship(depth + 1)
            self.expect("-" if backwards else "->")
            items.append(("<-" if backwards else "->", rel))
            items.append(self.node(depth + 1))
        self.expect(">")
        return ("path", tuple(items))


def parse_value(text: str) -> Value:
    parser = _Parser(text)
    value = parser.value(0)
    parser.space()
    if parser.pos != len(text):
        raise parser.fail("text after the value")
    return value


def unordered(value: Value) -> Value:
    """The same value with every list's items in a canonical order (the TCK's "ignoring element
    order for lists")."""
    kind = value[0]
    if kind == "list":
        return ("list", tuple(sorted((unordered(v) for v in value[1]), key=repr)))
    if kind == "map":
        return ("map", tuple((k, unordered(v)) for k, v in value[1]))
    if kind == "node":
        return ("node", value[1], unordered(value[2]))
    if kind == "rel":
        return ("rel", value[1], unordered(value[2]))
    return value


def _name(name: str) -> str:
    return name if name.isidentifier() else f"`{name}`"


def render_value(value: Value) -> str:
    """The TCK's text of a value (what parse_value reads back)."""
    kind = value[0]
    if kind == "null":
        return "null"
    if kind == "bool":
        return "true" if value[1] else "false"
    if kind == "int":
        return str(value[1])
    if kind == "float":
        number = value[1]
        if number == "NaN":
            return "NaN"
        if math.isinf(number):
            return "Inf" if number > 0 else "-Inf"
        return repr(float(number))
    if kind == "str":
        return "'" + value[1].replace("\\", "\\\\").replace("'", "\\'") + "'"
    if kind == "list":
        return "[" + ", ".join(render_value(v) for v in value[1]) + "]"
    if kind == "map":
        return "{" + ", ".join(f"{_name(k)}: {render_value(v)}" for k, v in value[1]) + "}"
    if kind == "node":
        labels = "".join(":" + _name(label) for label in value[1])
        props = " " + render_value(value[2]) if value[2][1] else ""
        return f"({labels}{props})"
    if kind == "rel":
        props = " " + render_value(value[2]) if value[2][1] else ""
        return f"[:{_name(value[1])}{props}]"
    if kind == "path":
        parts = [render_value(value[1][0])]
        for i in range(1, len(value[1]), 2):
            direction, rel = value[1][i]
            node = render_value(value[1][i + 1])
            parts.append(f"<-{render_value(rel)}-{node}" if direction == "<-" else f"-{render_value(rel)}->{node}")
        return "<" + "".join(parts) + ">"
    raise ValueError(f"not a TCK value: {value!r}")

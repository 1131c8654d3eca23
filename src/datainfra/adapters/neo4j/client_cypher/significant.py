"""The tokens a query's meaning rests on, as the rewriter and the iteration budget read it.

Whitespace and comments fold into the `pre` of the token after them (a comment becomes one space),
so Neo4j only ever receives text we emitted. What Neo4j could read differently from us is refused
here, before anything else looks at the query: an unclosed string, quoted name or comment, a
backslash or non-ASCII character outside string literals (Neo4j decodes ``\\uXXXX`` escapes before
it tokenizes anything, even inside quoted names), more than one statement, and names of the store's
own shape (dataset labels and types, `#` properties).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NoReturn

from datainfra.adapters.neo4j.client_cypher.tokens import Kind, Token, quoted_value
from datainfra.domain.errors import InvalidRequest

FIELD = "query"
"""The request field every refusal of a client's Cypher names."""

OPERATOR_WORDS = frozenset(
    {
        "AND", "OR", "XOR", "NOT", "IN", "IS", "STARTS", "ENDS", "CONTAINS", "WITH", "CASE", "WHEN", "THEN", "ELSE",
        "END", "DISTINCT", "WHERE", "NULL", "TRUE", "FALSE", "AS", "ASC", "DESC", "TYPED", "NORMALIZED",
    }
)  # fmt: skip
"""Words that are operators or literals inside an expression, never a variable (unless quoted)."""

RESERVED_NAME = re.compile(r"[DLR]_[0-9a-f]{32}")
"""Names of this shape are the store's own (dataset labels and types): no client may write one."""


def refuse(detail: str) -> NoReturn:
    raise InvalidRequest(detail, field=FIELD)


@dataclass(frozen=True, slots=True)
class SignificantToken:
    """A significant token with the whitespace before it (comments become one space)."""

    kind: Kind
    text: str
    pre: str
    start: int
    end: int


def is_variable_token(t: SignificantToken) -> bool:
    """Can `t` name a variable (a quoted name, or a name that is not an operator word)?"""
    return t.kind is Kind.QUOTED or (t.kind is Kind.NAME and t.text.upper() not in OPERATOR_WORDS)


def significant(tokens: list[Token]) -> list[SignificantToken]:
    """The tokens of one statement without its whitespace and comments, or InvalidRequest."""
    out: list[SignificantToken] = []
    pre: list[str] = []
    for token in tokens:
        if not token.closed:
            what = {Kind.STRING: "string", Kind.QUOTED: "quoted name", Kind.COMMENT: "comment"}.get(token.kind, "token")
            refuse(f"the query ends inside a {what}: close it")
        if token.kind is Kind.SPACE:
            pre.append(token.text)
        elif token.kind is Kind.COMMENT:
            pre.append(" ")
        elif token.kind is Kind.OTHER:
            if token.text == "\\":
                refuse("a backslash is only allowed inside a string literal")
            refuse(
                f"unexpected character {token.text!r} at offset {token.start}: outside string literals a query is "
                "ASCII (quote other names with backticks)"
            )
        else:
            if token.kind in (Kind.NAME, Kind.QUOTED, Kind.PARAM):
                _check_written_name(token)
            out.append(SignificantToken(token.kind, token.text, "".join(pre), token.start, token.end))
            pre = []
    semicolons = [k for k, t in enumerate(out) if t.kind is Kind.SYMBOL and t.text == ";"]
    if semicolons and semicolons[0] != len(out) - 1:
        refuse("only one statement per query: remove the ';' and send the statements one by one")
    if semicolons:
        out.pop()
    if not out:
        refuse("the query is empty")
    return out


def _check_written_name(token: Token) -> None:
    text = token.text[1:] if token.kind is Kind.PARAM else token.text
    value = quoted_value(text) if text.startswith("`") else text
    if token.kind is not Kind.PARAM and value.startswith("#"):
        refuse(f"names starting with '#' are reserved: {value!r}")
    if "\\" in value:
        refuse(f"a quoted name must not contain a backslash: {value!r}")
    if RESERVED_NAME.match(value):
        refuse(f"names like {value[:2]}<32 hex digits>... are reserved: {value!r}")

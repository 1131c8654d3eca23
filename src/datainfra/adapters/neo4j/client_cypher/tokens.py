"""Cypher text as tokens: the lexer both the rewriter and the plan check read queries with.

Every token keeps its exact text, so joining the tokens gives the input back; string literals and
backtick-quoted names are decoded by `string_value` / `quoted_value` with Cypher's own escapes.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import NoReturn

from datainfra.domain.errors import InvalidRequest


class Kind(enum.Enum):
    SPACE = "space"
    COMMENT = "comment"
    STRING = "string"
    NAME = "name"
    QUOTED = "quoted"  # `backtick quoted` name
    PARAM = "param"
    NUMBER = "number"
    SYMBOL = "symbol"
    OTHER = "other"  # a character Cypher has no use for outside strings (non-ASCII, backslash, control)
    END = "end"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str
    start: int
    closed: bool = True
    """False for a string, quoted name or block comment the text ends inside."""

    @property
    def end(self) -> int:
        return self.start + len(self.text)


_SPACE = re.compile(r"[ \t\r\n\f\v]+")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(
    r"0[xX][0-9A-Fa-f_]+|0[oO][0-7_]+|(?:[0-9][0-9_]*(?:\.[0-9][0-9_]*)?|\.[0-9][0-9_]*)"
    r"(?:[eE][+-]?[0-9][0-9_]*)?[A-Za-z0-9_]*"
)
"""A number; like Neo4j's lexer (longest match), `.5` is a float wherever it stands (so `n.1` is an error there
too), while `1..2` stays `1` `..` `2` because a `.` followed by a `.` starts no number."""
_LINE_END = re.compile("[\n\r\x0b\x0c\x85\u2028\u2029]")
_PARAM_NAME = re.compile(r"[A-Za-z0-9_]+")
_MULTI_SYMBOLS = ("<>", "<=", ">=", "=~", "+=", "::", "..", "!=")
_SYMBOLS = frozenset("()[]{},.:;|&!%=<>+-*/^$")


def tokenize(text: str) -> list[Token]:
    """Every character of `text` in exactly one token, in order (``"".join`` gives `text` back).
    Never fails: an unterminated string, quoted name or comment runs to the end (``closed=False``)
    and a character Cypher does not use is an OTHER token; the rewriter refuses both."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if match := _SPACE.match(text, i):
            kind, j, closed = Kind.SPACE, match.end(), True
        elif text.startswith("//", i):
            end = _LINE_END.search(text, i)
            kind, j, closed = Kind.COMMENT, end.start() if end else n, True
        elif text.startswith("/*", i):
            end_at = text.find("*/", i + 2)
            kind, j, closed = Kind.COMMENT, (end_at + 2 if end_at >= 0 else n), end_at >= 0
        elif c in "'\"":
            kind, (j, closed) = Kind.STRING, _string_end(text, i)
        elif c == "`":
            kind, (j, closed) = Kind.QUOTED, _quoted_end(text, i)
        elif c == "$" and i + 1 < n and (text[i + 1] == "`" or NAME.match(text, i + 1) or text[i + 1].isdigit()):
            kind = Kind.PARAM
            if text[i + 1] == "`":
                j, closed = _quoted_end(text, i + 1)
            else:
                j, closed = (m.end() if (m := _PARAM_NAME.match(text, i + 1)) else i + 1), True
        elif match := NAME.match(text, i):
            kind, j, closed = Kind.NAME, match.end(), True
        elif match := _NUMBER.match(text, i):
            kind, j, closed = Kind.NUMBER, match.end(), True
        elif multi := next((s for s in _MULTI_SYMBOLS if text.startswith(s, i)), None):
            kind, j, closed = Kind.SYMBOL, i + len(multi), True
        elif c in _SYMBOLS:
            kind, j, closed = Kind.SYMBOL, i + 1, True
        else:
            kind, j, closed = Kind.OTHER, i + 1, True
        tokens.append(Token(kind, text[i:j], i, closed))
        i = j
    return tokens


def _string_end(text: str, i: int) -> tuple[int, bool]:
    quote_char, j, n = text[i], i + 1, len(text)
    while j < n:
        if text[j] == "\\":
            j += 2
        elif text[j] == quote_char:
            return j + 1, True
        else:
            j += 1
    return n, False


def _quoted_end(text: str, i: int) -> tuple[int, bool]:
    j = i + 1
    while True:
        k = text.find("`", j)
        if k < 0:
            return len(text), False
        if text.startswith("``", k):
            j = k + 2
            continue
        return k + 1, True


_ESCAPES = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", "'": "'", '"': '"', "\\": "\\"}


def string_value(token_text: str) -> str:
    """The value of a Cypher string literal: the usual backslash escapes and \\uXXXX / \\UXXXXXXXX;
    an unknown escape stays as written (as Neo4j keeps it)."""
    body = token_text[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\" or i + 1 >= len(body):
            out.append(c)
            i += 1
            continue
        e = body[i + 1]
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i += 2
        elif e in "uU":
            width = 4 if e == "u" else 8
            digits = body[i + 2 : i + 2 + width]
            if len(digits) != width or not all(d in "0123456789abcdefABCDEF" for d in digits):
                _refuse(f"invalid \\{e} escape in a string: it needs {width} hexadecimal digits")
            code = int(digits, 16)
            if code > 0x10FFFF:
                _refuse(f"invalid \\{e} escape in a string: no such character")
            out.append(chr(code))
            i += 2 + width
        else:
            out.append(c + e)
            i += 2
    value = "".join(out)
    try:  # join escaped surrogate pairs; a lone surrogate cannot be sent
        return value.encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeDecodeError:
        _refuse("a string contains an unpaired surrogate escape")


def quoted_value(token_text: str) -> str:
    """The name inside a backtick-quoted identifier (a doubled backtick is one backtick)."""
    return token_text[1:-1].replace("``", "`")


def _refuse(detail: str) -> NoReturn:
    raise InvalidRequest(detail, field="query")

"""How deeply a JSON text nests, measured before any recursive decoder sees it.

Decoders (msgspec, the standard library's json) recurse once per level and stop at the
interpreter's recursion limit with a RecursionError, or, in a native stack, may not stop at all.
Neither is a limit: the depth is counted here, without recursion, and a document past the limit is
refused by name and number. Brackets inside strings do not count; a malformed document is measured
as well as it can be and left to the decoder to refuse.
"""

from __future__ import annotations

from itertools import accumulate
from typing import Any

MAX_JSON_DEPTH = 128
"""Nested arrays and objects in a request body (a record's json value may nest 64 deep inside the
body's own few levels; a `where` tree 32). Nothing legitimate comes near it."""

_KEEP = b'"[]'
_DROP = bytes(b for b in range(256) if b not in _KEEP and b not in b"{}")
_FOLD = bytes.maketrans(b"{}", b"[]")
_STEPS = bytes.maketrans(b"[]", b"\x01\xff")
_PEELS = 8


def json_depth_exceeds(document: bytes | str, limit: int) -> bool:
    """Whether the arrays and objects of `document` nest more than `limit` deep (a scalar is depth
    0, `[]` depth 1). A few C-speed passes over the bytes, then one sum over the brackets left."""
    if isinstance(document, str):  # an NDJSON line, a CSV cell: most are shallow, so count before copying
        if document.count("[") + document.count("{") <= limit:
            return False
        data = document.encode("utf-8", "surrogatepass")
    else:
        data = document
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    if b"\\" in data:  # escapes out: a backslash pair first, then an escaped quote
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    marks = data.translate(_FOLD, _DROP)  # quotes and brackets only, objects folded into arrays
    # Two adjacent quotes enclose no bracket and removing them flips no other quote's side, so
    # only strings that hold brackets keep their quotes; their insides are then cut out.
    marks = marks.replace(b'""', b"")
    if b'"' in marks:
        marks = b"".join(marks.split(b'"')[::2])
    for peeled in range(_PEELS):  # each pass peels exactly the innermost level, everywhere
        if marks.count(b"[") + peeled <= limit:
            return False
        marks = marks.replace(b"[]", b"")
    steps = memoryview(marks.translate(_STEPS)).cast("b")  # what is left: +1 / -1 per bracket, summed
    return _PEELS + max(accumulate(steps), default=0) > limit


def json_depth_refusal(what: str, limit: int) -> str:
    """The one wording of a depth refusal, so clients can recognise it."""
    return f"{what} nests arrays and objects more than {limit} levels deep"


def value_depth_exceeds(value: object, limit: int) -> bool:
    """Whether the lists, tuples and dicts of a decoded value (one a store gave back) nest more than
    `limit` deep; walked with a stack of its own, so any depth is measured."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, list | tuple | dict):
            depth += 1
            if depth > limit:
                return True
            stack.extend((child, depth) for child in (item.values() if isinstance(item, dict) else item))
    return False


def result_depth_refusal(limit: int) -> str:
    return f"a result value nests lists or maps more than {limit} levels deep; return a flatter value"

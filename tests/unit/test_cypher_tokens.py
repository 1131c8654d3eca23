"""The Cypher lexer: every kind of token, Cypher's own escapes, and any text back from its tokens."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datainfra.adapters.neo4j.client_cypher.tokens import Kind, quoted_value, string_value, tokenize


def kinds(text: str) -> list[tuple[Kind, str]]:
    return [(t.kind, t.text) for t in tokenize(text) if t.kind is not Kind.SPACE]


def test_tokens_of_every_kind() -> None:
    text = "MATCH (n:`a``b`) WHERE n.x = 'it\\'s' AND n.y <> \"q\\\"\" // c\n/* b */ RETURN $p, 1.5e3, 0x1F, 1..3"
    assert kinds(text) == [
        (Kind.NAME, "MATCH"),
        (Kind.SYMBOL, "("),
        (Kind.NAME, "n"),
        (Kind.SYMBOL, ":"),
        (Kind.QUOTED, "`a``b`"),
        (Kind.SYMBOL, ")"),
        (Kind.NAME, "WHERE"),
        (Kind.NAME, "n"),
        (Kind.SYMBOL, "."),
        (Kind.NAME, "x"),
        (Kind.SYMBOL, "="),
        (Kind.STRING, "'it\\'s'"),
        (Kind.NAME, "AND"),
        (Kind.NAME, "n"),
        (Kind.SYMBOL, "."),
        (Kind.NAME, "y"),
        (Kind.SYMBOL, "<>"),
        (Kind.STRING, '"q\\""'),
        (Kind.COMMENT, "// c"),
        (Kind.COMMENT, "/* b */"),
        (Kind.NAME, "RETURN"),
        (Kind.PARAM, "$p"),
        (Kind.SYMBOL, ","),
        (Kind.NUMBER, "1.5e3"),
        (Kind.SYMBOL, ","),
        (Kind.NUMBER, "0x1F"),
        (Kind.SYMBOL, ","),
        (Kind.NUMBER, "1"),
        (Kind.SYMBOL, ".."),
        (Kind.NUMBER, "3"),
    ]


def test_unterminated_and_foreign_characters_are_tokens_not_errors() -> None:
    assert [(t.kind, t.closed) for t in tokenize("'abc")] == [(Kind.STRING, False)]
    assert [(t.kind, t.closed) for t in tokenize("`abc")] == [(Kind.QUOTED, False)]
    assert [(t.kind, t.closed) for t in tokenize("/* abc")] == [(Kind.COMMENT, False)]
    assert [t.kind for t in tokenize("é\\#")] == [Kind.OTHER, Kind.OTHER, Kind.OTHER]


def test_a_line_comment_ends_at_any_line_break() -> None:
    for brk in ("\n", "\r", "\u2028", "\x85"):
        assert [t.kind for t in tokenize(f"// c{brk}x")][-1] is Kind.NAME


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("'plain'", "plain"),
        ("'it\\'s'", "it's"),
        ('"say \\"hi\\""', 'say "hi"'),
        ("'a\\\\b'", "a\\b"),
        ("'tab\\there'", "tab\there"),
        ("'\\u0041\\U0001F600'", "A\U0001f600"),
        ("'\\uD83D\\uDE00'", "\U0001f600"),
        ("'keep \\q'", "keep \\q"),
    ],
)
def test_string_values(literal: str, value: str) -> None:
    assert string_value(literal) == value


def test_quoted_values() -> None:
    assert quoted_value("`a``b`") == "a`b"


@given(st.text())
def test_the_tokenizer_round_trips_any_text(text: str) -> None:
    assert "".join(t.text for t in tokenize(text)) == text


# -- issue 11 item 6: floats with no digit before the point ----------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RETURN .1", [(Kind.NAME, "RETURN"), (Kind.NUMBER, ".1")]),
        ("-.5", [(Kind.SYMBOL, "-"), (Kind.NUMBER, ".5")]),
        ("1 + .5e3", [(Kind.NUMBER, "1"), (Kind.SYMBOL, "+"), (Kind.NUMBER, ".5e3")]),
        (".3405892687E-2", [(Kind.NUMBER, ".3405892687E-2")]),
        ("n.prop", [(Kind.NAME, "n"), (Kind.SYMBOL, "."), (Kind.NAME, "prop")]),
        ("a.b.c", [(Kind.NAME, "a"), (Kind.SYMBOL, "."), (Kind.NAME, "b"), (Kind.SYMBOL, "."), (Kind.NAME, "c")]),
        ("l[1..2]", [(Kind.NAME, "l"), (Kind.SYMBOL, "["), (Kind.NUMBER, "1"), (Kind.SYMBOL, ".."), (Kind.NUMBER, "2"),
                     (Kind.SYMBOL, "]")]),
        ("l[..2]", [(Kind.NAME, "l"), (Kind.SYMBOL, "["), (Kind.SYMBOL, ".."), (Kind.NUMBER, "2"), (Kind.SYMBOL, "]")]),
        ("x..y", [(Kind.NAME, "x"), (Kind.SYMBOL, ".."), (Kind.NAME, "y")]),
        ("n.`1`", [(Kind.NAME, "n"), (Kind.SYMBOL, "."), (Kind.QUOTED, "`1`")]),
        ("1.5.x", [(Kind.NUMBER, "1.5"), (Kind.SYMBOL, "."), (Kind.NAME, "x")]),
        ("$1, $0", [(Kind.PARAM, "$1"), (Kind.SYMBOL, ","), (Kind.PARAM, "$0")]),
    ],
)  # fmt: skip
def test_leading_point_floats_and_what_stays_a_point(text: str, expected: list[tuple[Kind, str]]) -> None:
    assert kinds(text) == expected


_DIGITS = st.text("0123456789", min_size=1, max_size=6)
_NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,5}", fullmatch=True)


@given(_DIGITS, st.sampled_from(["", "e3", "E-2", "e+10"]))
def test_a_point_then_digits_is_one_float(digits: str, exponent: str) -> None:
    literal = f".{digits}{exponent}"
    assert kinds(f"RETURN {literal}") == [(Kind.NAME, "RETURN"), (Kind.NUMBER, literal)]
    assert kinds(f"-{literal}") == [(Kind.SYMBOL, "-"), (Kind.NUMBER, literal)]


@given(_NAMES, st.lists(_NAMES, min_size=1, max_size=3))
def test_a_point_then_a_name_is_still_property_access(variable: str, keys: list[str]) -> None:
    expected = [(Kind.NAME, variable)]
    for key in keys:
        expected += [(Kind.SYMBOL, "."), (Kind.NAME, key)]
    assert kinds(".".join([variable, *keys])) == expected


@given(_DIGITS, _DIGITS)
def test_a_range_between_integers_stays_a_range(low: str, high: str) -> None:
    assert kinds(f"[{low}..{high}]") == [
        (Kind.SYMBOL, "["),
        (Kind.NUMBER, low),
        (Kind.SYMBOL, ".."),
        (Kind.NUMBER, high),
        (Kind.SYMBOL, "]"),
    ]

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

"""The query editor: SQL and Cypher with highlighting, parameters, the read-only switch, a typed
result grid with `truncated` and `elapsed_ms`, problems with their detail and position, this tab's
history, and a Cypher result of nodes, relationships and paths drawn as a graph."""

from __future__ import annotations

import re

import pytest

from tests.browser.console import XSS, Console

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]


def _set_query(page, text: str) -> None:  # type: ignore[no-untyped-def]
    page.locator("#query-text + .CodeMirror").evaluate("(node, text) => node.CodeMirror.setValue(text)", text)


def _headers(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [h.replace("\n", " ") for h in page.locator("#result-grid thead th").all_inner_texts()]


def test_sql_with_parameters_types_truncation_errors_and_history(console: Console) -> None:
    sid = console.api.session("queries")
    did = console.api.people(sid, rows=20)
    page = console.open(f"#/s/{sid}/query")
    editor = page.locator(".CodeMirror")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("SELECT name, age FROM people WHERE age >= $1 ORDER BY age DESC, name")
    assert editor.locator(".cm-keyword").count() >= 4  # highlighted as SQL
    page.get_by_label("Parameters").fill("[30]")
    page.keyboard.press("Tab")
    editor.click()
    page.keyboard.press("Control+Enter")
    meta = page.locator("#result-meta")
    meta.filter(has_text="row(s)").wait_for()
    assert re.search(r"^11 row\(s\) · elapsed_ms [0-9.]+ · truncated: no$", meta.inner_text())
    assert _headers(page) == ["name text", "age integer"]
    assert page.locator("#result-grid tbody tr").first.inner_text().split("\t") == [XSS, "99"]
    assert page.locator("#result-grid img").count() == 0
    console.axe("query editor (SQL result)")
    console.shot("query-editor")

    page.get_by_label("Max rows").fill("3")
    page.get_by_role("button", name="Run (Ctrl+Enter)").click()
    meta.filter(has_text="truncated: yes").wait_for()
    assert page.locator("#result-grid tbody tr").count() == 3

    _set_query(page, "SELECT name FROMM people")
    page.get_by_label("Parameters").fill("")
    page.get_by_role("button", name="Run (Ctrl+Enter)").click()
    problem = page.locator("#query-output .problem")
    problem.wait_for()
    assert 'syntax error at or near "people", at index 18' in problem.inner_text()
    assert page.locator("#problem-position").inner_text() == "At line 1, column 19."
    assert editor.locator(".cm-problem").inner_text() == "people"
    console.axe("query editor (problem)")
    console.shot("query-error")

    _set_query(page, "UPDATE people SET age = 0 WHERE age = 99")
    page.get_by_role("button", name="Run (Ctrl+Enter)").click()
    problem.filter(has_text="not allowed in a read-only query").wait_for()
    page.get_by_label("Read-only").uncheck()
    page.get_by_role("button", name="Run (Ctrl+Enter)").click()
    meta.filter(has_text="affected 1").wait_for()
    ages = console.api.ok("GET", f"/sessions/{sid}/datasets/{did}/records", params={"name": f"eq:{XSS}"})["items"]
    assert [r["age"] for r in ages] == [0]

    history = page.locator("#history li")  # newest first; a query run again moves up instead of repeating
    assert history.all_inner_texts() == [
        "SQL: UPDATE people SET age = 0 WHERE age = 99",
        "SQL: SELECT name FROMM people",
        "SQL: SELECT name, age FROM people WHERE age >= $1 ORDER BY age DESC, name",
    ]
    history.nth(2).get_by_role("button").click()
    assert "SELECT name, age FROM people" in editor.inner_text()
    assert page.get_by_label("Parameters").input_value() == "[30]"
    assert page.get_by_label("Read-only").is_checked()


def test_cypher_results_with_nodes_and_paths_are_drawn_as_a_graph(console: Console) -> None:
    sid = console.api.session("cypher")
    console.api.social(sid)
    page = console.open(f"#/s/{sid}/query")
    page.get_by_label("Language").select_option("cypher")
    page.get_by_label("Graph dataset").select_option("social")
    _set_query(
        page, "MATCH p = (a:Person)-[:LIKES*1..2]->(b) WHERE datainfra.key(a) = $key RETURN p, b ORDER BY length(p)"
    )
    page.get_by_label("Parameters").fill('{"key": "a"}')
    editor = page.locator(".CodeMirror")
    assert editor.locator(".cm-keyword").count() >= 3  # highlighted as Cypher
    page.get_by_role("button", name="Run (Ctrl+Enter)").click()
    page.locator("#result-meta").filter(has_text="2 row(s)").wait_for()
    assert _headers(page) == ["p path", "b node"]
    assert XSS in page.locator("#result-grid tbody tr").nth(1).inner_text()

    page.get_by_role("button", name="Show as graph (3 nodes, 2 relationships)").click()
    nodes = page.locator("#result-graph-nodes button")
    nodes.first.wait_for()
    assert sorted(nodes.all_inner_texts()) == sorted(["a (Person)", "e (Person)", f"{XSS} (City)"])
    page.locator("#result-graph-nodes").get_by_role("button", name=f"{XSS} (City)").click()
    assert page.locator("#result-graph-properties dd").all_inner_texts() == [XSS, "City", XSS]
    assert page.locator("main img").count() == 0
    console.axe("query editor (graph result)")
    console.shot("query-graph")

    _set_query(page, "MATCH (n RETURN n")
    page.get_by_role("button", name="Run (Ctrl+Enter)").click()
    page.locator("#query-output .problem").filter(has_text="unclosed '(' at offset 6").wait_for()
    assert page.locator("#problem-position").inner_text() == "At line 1, column 7."

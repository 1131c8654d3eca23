"""The graph view: a node's neighbourhood by depth and relationship type, expanding a node by
clicking it (on the drawing or in the node list), its properties on selection, colours by label,
and the shortest path between two chosen nodes."""

from __future__ import annotations

import pytest

from tests.browser.console import XSS, Console

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]


def _drawn(page) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(page.locator("#graph-nodes button").evaluate_all("buttons => buttons.map(b => b.dataset.node)"))


def _click_on_canvas(page, key: str) -> None:  # type: ignore[no-untyped-def]
    """A real mouse click where Cytoscape drew the node."""
    canvas = page.locator("#graph-canvas")
    box = canvas.bounding_box()
    position = canvas.evaluate("(node, key) => node._cyreg.cy.getElementById('n:' + key).renderedPosition()", key)
    page.mouse.click(box["x"] + position["x"], box["y"] + position["y"])


def test_neighbourhoods_expand_properties_colours_and_shortest_path(console: Console) -> None:
    sid = console.api.session("graphs")
    did = console.api.social(sid)
    page = console.open(f"#/s/{sid}/d/{did}/graph")
    message = page.locator("#graph-message")
    message.filter(has_text="within 1 hop(s)").wait_for()  # the first node's neighbourhood, drawn on arrival

    page.get_by_label("Start node (key)").fill("a")
    page.get_by_label("Depth").select_option("1")
    page.get_by_role("button", name="Draw neighbourhood").click()
    message.filter(has_text="Node a: 2 neighbour(s) and 2 relationship(s) within 1 hop(s)").wait_for()
    assert _drawn(page) == ["a", "b", "e"]

    page.get_by_label("Depth").select_option("3")
    page.get_by_role("checkbox", name="KNOWS").check()
    page.get_by_role("button", name="Draw neighbourhood").click()
    message.filter(has_text="Node a: 3 neighbour(s) and 3 relationship(s) within 3 hop(s)").wait_for()
    assert _drawn(page) == ["a", "b", "c", "d"]

    page.get_by_role("checkbox", name="KNOWS").uncheck()
    page.get_by_label("Depth").select_option("1")
    page.get_by_role("button", name="Draw neighbourhood").click()
    message.filter(has_text="Node a: 2 neighbour(s)").wait_for()
    _click_on_canvas(page, "e")  # expand e: its City neighbour appears
    message.filter(has_text="Node e:").wait_for()
    assert _drawn(page) == sorted(["a", "b", "e", XSS])
    assert page.locator("#graph-properties dd").all_inner_texts() == ["e", "Person", "Eve"]

    page.locator("#graph-nodes").get_by_role("button", name=f"{XSS} (City)").click()
    assert page.locator("#graph-properties dd").all_inner_texts() == [XSS, "City", XSS]
    assert page.locator("main img").count() == 0
    legend = page.locator(".legend li")
    assert legend.all_inner_texts() == ["City", "Person"]
    # the legend is redrawn as the drawing settles: wait until its swatches are the settled ones, each
    # coloured (a swatch read while being replaced is detached and has no computed colour)
    page.wait_for_function(
        "() => { const c = [...document.querySelectorAll('.legend li .swatch')]"
        ".map(s => s.isConnected ? getComputedStyle(s).backgroundColor : '');"
        " return c.length === 2 && c.every(Boolean); }"
    )
    colours = legend.locator(".swatch").evaluate_all("spans => spans.map(s => getComputedStyle(s).backgroundColor)")
    assert len(set(colours)) == 2 and "" not in colours

    page.locator("#graph-nodes").get_by_role("button", name="a (Person)").click()
    page.get_by_role("button", name="Selected node as start").click()
    page.get_by_label("Path to").fill("d")
    page.get_by_role("button", name="Shortest path").click()
    message.filter(has_text="Shortest path a → d: 3 hop(s) via a → b → c → d.").wait_for()
    assert page.get_by_label("Path from").input_value() == "a"
    highlighted = page.locator("#graph-canvas").evaluate(
        "node => node._cyreg.cy.$('.path').map(e => e.data('key')).sort()"
    )
    assert len(highlighted) == 7  # the path's 4 nodes and 3 relationships
    console.axe("graph")
    console.shot("graph")

    page.get_by_label("Path to").fill("nowhere")
    page.get_by_role("button", name="Shortest path").click()
    page.locator("#graph-message .problem").wait_for()  # the API's 404 for an unknown node, shown as it is


def test_a_narrow_window_keeps_every_page_usable(console: Console) -> None:
    sid = console.api.session("narrow")
    did = console.api.people(sid, rows=5)
    gid = console.api.social(sid)
    page = console.open(f"#/s/{sid}/d/{did}/table")
    page.set_viewport_size({"width": 420, "height": 800})
    for name, route, ready in [
        ("table-narrow", f"#/s/{sid}/d/{did}/table", "#page-info"),
        ("query-narrow", f"#/s/{sid}/query", ".CodeMirror"),
        ("graph-narrow", f"#/s/{sid}/d/{gid}/graph", "#graph-nodes button"),
    ]:
        page.evaluate("route => { location.hash = route; }", route)
        page.locator(ready).first.wait_for()
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 420, f"{name}: the page is {width}px wide in a 420px window"
        console.axe(name)
        console.shot(name)

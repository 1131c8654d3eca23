"""Sessions and datasets in the console: list, create, drop with a confirmation naming what is
lost, and each dataset's schema, counts and indexes."""

from __future__ import annotations

import pytest

from tests.browser.console import XSS, Console

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]


def test_the_key_is_asked_once_per_tab_and_kept_out_of_urls_and_cookies(console: Console) -> None:
    page = console.open()
    assert page.evaluate("() => sessionStorage.getItem('datainfra.apiKey')") == console.api.key
    assert console.api.key not in page.url
    assert page.context.cookies() == []
    page.reload()
    page.get_by_role("heading", name="Sessions").wait_for()  # no second prompt in the same tab
    console.axe("key form and sessions")
    page.get_by_role("button", name="Forget key").click()
    page.get_by_role("textbox", name="API key").wait_for()
    console.shot("key-form")
    console.axe("key form")
    assert page.evaluate("() => sessionStorage.getItem('datainfra.apiKey')") is None

    page.get_by_role("button", name="Register a new user").click()  # no key yet: POST /users
    new_key = page.locator(".newkey").inner_text()
    assert new_key and new_key != console.api.key
    assert page.evaluate("() => sessionStorage.getItem('datainfra.apiKey')") == new_key
    page.get_by_role("button", name="Continue").click()
    page.get_by_text("No sessions yet").wait_for()  # the new user's own (empty) list


def test_sessions_are_listed_created_and_dropped_naming_what_is_lost(console: Console) -> None:
    sid = console.api.session("kept")
    doomed = console.api.session(XSS)
    console.api.people(doomed, rows=3)
    page = console.open()
    page.get_by_label("New session name").fill("made in the browser")
    page.get_by_role("button", name="Create session").click()
    page.get_by_role("link", name="made in the browser").wait_for()
    assert page.get_by_role("link", name=XSS).count() == 1  # the name shown as text, not markup
    assert page.locator("main img").count() == 0
    console.axe("sessions")
    console.shot("sessions")

    page.get_by_role("button", name=f"Delete session {XSS}").click()
    page.get_by_role("link", name=XSS).wait_for(state="detached")
    assert console.dialogs[-1].startswith(f'Delete session "{XSS}"? This also deletes its 1 dataset(s)')
    assert "people (tabular, 3 rows)" in console.dialogs[-1]
    names = {s["name"] for s in console.api.ok("GET", "/sessions")["items"]}
    assert names == {"kept", "made in the browser"}

    console.accept_dialogs = False  # a refused confirmation deletes nothing
    page.get_by_role("button", name="Delete session kept").click()
    assert console.api.ok("GET", f"/sessions/{sid}")["name"] == "kept"


def test_datasets_are_created_described_and_dropped(console: Console) -> None:
    sid = console.api.session("work")
    console.api.people(sid, rows=5)
    console.api.social(sid)
    page = console.open(f"#/s/{sid}")
    page.get_by_role("row", name="people tabular 5 rows").wait_for()
    page.get_by_role("row", name="social graph 6 nodes").wait_for()

    page.get_by_label("Name", exact=True).fill("events")
    page.get_by_role("button", name="Create dataset").click()
    page.get_by_role("link", name="events").wait_for()
    page.get_by_label("Schema (JSON)").fill("{not json")
    page.get_by_label("Name", exact=True).fill("broken")
    page.get_by_role("button", name="Create dataset").click()
    page.get_by_text("Schema is not JSON").wait_for()
    page.get_by_label("Schema (JSON)").fill('{"columns": [{"name": "x", "type": "nonsense"}]}')
    page.get_by_role("button", name="Create dataset").click()
    page.locator(".problem").filter(has_text="type must be one of").filter(has_text="schema.columns[0].type").wait_for()
    console.axe("session")
    console.shot("session")

    page.get_by_role("link", name="people").click()
    page.get_by_role("heading", name="tabular dataset people").wait_for()
    assert page.locator("#dataset-counts").inner_text() == "Count: 5 rows"
    page.get_by_role("row", name="age integer yes").wait_for()
    page.get_by_role("listitem").filter(has_text="age").first.wait_for()
    console.axe("dataset (tabular)")
    console.shot("dataset-tabular")

    page.get_by_role("link", name="Datasets").click()
    page.get_by_role("link", name="social").click()
    page.locator("#dataset-counts").filter(has_text="6 nodes, 5 relationships").wait_for()
    page.get_by_text("Label Person: properties").wait_for()
    console.axe("dataset (graph)")

    page.get_by_role("button", name="Delete dataset").click()
    page.get_by_role("heading", name="Datasets").wait_for()
    assert console.dialogs[-1] == 'Delete the graph dataset "social" and its 6 nodes? This cannot be undone.'
    names = {d["name"] for d in console.api.ok("GET", f"/sessions/{sid}/datasets")["items"]}
    assert names == {"people", "events"}


def _tab_to(page, name: str, limit: int = 40) -> None:  # type: ignore[no-untyped-def]
    """Press Tab until the focused element's accessible name is `name` (what a keyboard user does)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement; return e.getAttribute('aria-label') || e.labels?.[0]?.innerText"
            " || e.innerText || ''; }"
        )
        if focused.strip() == name:
            return
    raise AssertionError(f"{name!r} cannot be reached with Tab")


def test_sessions_and_datasets_work_from_the_keyboard_alone(console: Console) -> None:
    console.api.people(console.api.session("by keyboard"), rows=2)
    page = console.open()
    page.reload()  # a fresh load: focus starts at the top of the page (the key stays in the tab)
    page.get_by_role("link", name="by keyboard").wait_for()
    page.keyboard.press("Tab")  # the skip link comes first and moves focus to the content
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    assert page.get_by_role("heading", name="Sessions").is_visible()
    _tab_to(page, "New session name")
    page.keyboard.type("typed")
    page.keyboard.press("Enter")
    page.get_by_role("link", name="typed").wait_for()
    _tab_to(page, "by keyboard")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Session by keyboard").wait_for()
    _tab_to(page, "Table")
    page.keyboard.press("Enter")
    page.locator("#page-info").filter(has_text="of 2").wait_for()

"""What the console must never do: put the key in a URL or a cookie, call anything but the public
API with that key, or run markup found in the data (the CSP would refuse it even if it did)."""

from __future__ import annotations

import pytest

from tests.browser.console import Console

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]


def test_every_request_sends_the_key_as_a_header_only_to_the_api(console: Console) -> None:
    sid = console.api.session("watched")
    did = console.api.people(sid, rows=3)
    gid = console.api.social(sid)
    requests: list[tuple[str, str | None]] = []
    console.page.on("request", lambda r: requests.append((r.url, r.headers.get("x-api-key"))))
    page = console.open(f"#/s/{sid}/d/{did}/table")
    page.locator("#page-info").filter(has_text="of 3").wait_for()
    page.evaluate("route => { location.hash = route; }", f"#/s/{sid}/d/{gid}/graph")
    page.locator("#graph-nodes button").first.wait_for()

    assert requests
    for url, key in requests:
        assert console.api.key not in url
        assert url.startswith(console.base_url), f"a request left the console's origin: {url}"
        path = url[len(console.base_url) :]
        if path.startswith("/console"):
            assert key is None, f"the key was sent for a static file: {path}"
        else:
            assert key == console.api.key, f"an API call without the tab's key: {path}"
    assert page.context.cookies() == []


def test_markup_injected_into_the_page_cannot_run(console: Console) -> None:
    page = console.open()
    page.get_by_role("heading", name="Sessions").wait_for()
    ran = page.evaluate(
        """() => new Promise(resolve => {
             window.__ran = false;
             const holder = document.createElement("div");
             holder.innerHTML = '<img src="x" onerror="window.__ran = true">';
             document.body.append(holder);
             const script = document.createElement("script");
             script.textContent = "window.__ran = true";
             document.body.append(script);
             setTimeout(() => resolve(window.__ran), 500);
           })"""
    )
    assert ran is False
    assert any("Content Security Policy" in e for e in console.errors)
    console.errors.clear()  # the refusals this test provoked

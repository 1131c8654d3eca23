"""The table view: server-side pages by the `next` cursor, sort by a column click, per-column
filters with the API's operators, column selection, inline edit and row delete with the API's own
errors next to the cell, and exports of the same filtered view."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.browser.console import XSS, Console

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]


def _column(page, name: str) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator(f'#records tbody td[data-column="{name}"]').all_inner_texts()


def test_pages_sort_filter_and_choose_columns(console: Console) -> None:
    sid = console.api.session("tables")
    did = console.api.people(sid, rows=60)
    page = console.open(f"#/s/{sid}/d/{did}/table")
    info = page.locator("#page-info")
    info.filter(has_text="Rows 1 to 25 of 60").wait_for()
    assert _column(page, "name")[0] == XSS  # the probe is text in its cell, never an element
    assert page.locator("#records img").count() == 0
    console.axe("table")
    console.shot("table")

    page.get_by_role("button", name="Next page").click()
    info.filter(has_text="Rows 26 to 50 of 60").wait_for()
    assert _column(page, "name")[0] == "person 025"
    page.get_by_role("button", name="Next page").click()
    info.filter(has_text="Rows 51 to 60 of 60").wait_for()
    assert page.get_by_role("button", name="Next page").is_disabled()
    page.get_by_role("button", name="Previous page").click()
    info.filter(has_text="Rows 26 to 50").wait_for()

    page.get_by_role("button", name="Sort by age").click()
    info.filter(has_text="Rows 1 to 25 of 60 (page 1)").wait_for()
    page.locator('th[aria-sort="ascending"]').wait_for()
    assert _column(page, "age")[0] == "20"
    page.get_by_role("button", name="Sort by age, now ascending").click()
    page.locator('th[aria-sort="descending"]').wait_for()
    assert _column(page, "age")[:2] == ["99", "69"]

    page.get_by_label("Operator for city").select_option("eq")
    page.get_by_label("Filter value for city").fill("Lima")
    page.get_by_label("Filter value for city").press("Enter")
    info.filter(has_text="of 20").wait_for()
    assert set(_column(page, "city")) == {"Lima"}
    page.get_by_label("Operator for age").select_option("gte")
    page.get_by_label("Filter value for age").fill("60")
    page.get_by_role("button", name="Filter", exact=True).click()
    info.filter(has_text="of 4").wait_for()
    assert all(int(age) >= 60 for age in _column(page, "age"))
    page.get_by_label("Operator for age").select_option("like")
    page.get_by_role("button", name="Filter", exact=True).click()
    page.locator("#table-message .problem").wait_for()  # the API's own 400 for like on an integer

    page.get_by_label("Operator for age").select_option("gte")
    page.get_by_label("Filter value for age").fill("")
    page.get_by_label("Filter value for city").fill("")
    page.get_by_role("button", name="Filter", exact=True).click()
    info.filter(has_text="of 60").wait_for()
    page.get_by_text("Columns", exact=True).click()
    page.get_by_role("checkbox", name="city").uncheck()
    page.get_by_role("button", name="Sort by city").wait_for(state="detached")
    assert page.locator('#records td[data-column="city"]').count() == 0
    assert page.locator('#records td[data-column="name"]').count() == 25
    console.axe("table with filters")


def test_inline_edit_delete_and_the_apis_errors_next_to_the_cell(console: Console) -> None:
    sid = console.api.session("edits")
    did = console.api.people(sid, rows=5)
    page = console.open(f"#/s/{sid}/d/{did}/table")
    page.locator("#page-info").filter(has_text="of 5").wait_for()
    row = page.locator("#records tbody tr").nth(1)
    age = row.locator('td[data-column="age"]')
    age.dblclick()
    page.get_by_label("New value for age").fill("41")
    page.get_by_label("New value for age").press("Enter")
    age.filter(has_text="41").wait_for()
    records = console.api.ok("GET", f"/sessions/{sid}/datasets/{did}/records", params={"sort": "id"})["items"]
    assert records[1]["age"] == 41

    name = row.locator('td[data-column="name"]')
    name.focus()
    name.press("Enter")  # the keyboard way in
    page.get_by_label("New value for name").fill("")
    page.get_by_label("New value for name").press("Enter")
    age.dblclick()
    page.get_by_label("New value for age").fill("forty")
    page.get_by_label("New value for age").press("Enter")
    error = age.locator(".cell-error")
    error.wait_for()
    assert "age" in error.inner_text()  # the API's problem document, naming the column
    console.axe("table with a cell error")
    page.get_by_label("New value for age").press("Escape")
    age.filter(has_text="41").wait_for()

    row.get_by_role("button", name="Delete row").click()
    page.locator("#page-info").filter(has_text="of 4").wait_for()
    assert console.dialogs[-1].startswith('Delete the row id=2 from "people"?')
    assert len(console.api.ok("GET", f"/sessions/{sid}/datasets/{did}/records")["items"]) == 4


def test_exports_download_the_filtered_view(console: Console) -> None:
    sid = console.api.session("exports")
    did = console.api.people(sid, rows=30)
    page = console.open(f"#/s/{sid}/d/{did}/table")
    page.get_by_label("Filter value for city").fill("Pune")
    page.get_by_label("Filter value for city").press("Enter")
    page.locator("#page-info").filter(has_text="of 10").wait_for()

    with page.expect_download() as csv_download:
        page.get_by_role("button", name="CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(csv_download.value.path()).read_text(encoding="utf-8"))))
    assert len(rows) == 10 and {r["city"] for r in rows} == {"Pune"}
    assert csv_download.value.suggested_filename == "people.csv"

    with page.expect_download() as json_download:
        page.get_by_role("button", name="JSON").click()
    text = Path(json_download.value.path()).read_text(encoding="utf-8")
    records = json.loads(text)
    records = records["items"] if isinstance(records, dict) else records
    assert len(records) == 10

    # Parquet exports come with issue 14; until the server has them it answers 400 and the console says so.
    parquet = console.api.http.get(f"/sessions/{sid}/datasets/{did}/export", params={"format": "parquet"})
    if parquet.status_code == 400:
        page.get_by_role("button", name="Parquet").click()
        page.locator("#table-message .problem").wait_for()
        assert "Parquet export failed" in page.locator("#table-message").inner_text()
    else:
        assert parquet.status_code == 200
        with page.expect_download() as parquet_download:
            page.get_by_role("button", name="Parquet").click()
        assert Path(parquet_download.value.path()).read_bytes()[:4] == b"PAR1"

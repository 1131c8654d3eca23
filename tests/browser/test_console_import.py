"""Import: a CSV, NDJSON, Parquet or GraphML file dropped onto a dataset, a ZIP onto a session, with
a progress bar of the bytes sent and the answer, or the problem naming the row or field at fault."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.browser.console import XSS, Console

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]

DROP = """([name, type, text]) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([text], name, { type }));
  const zone = document.getElementById("dataset-import");
  zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
}"""


def _sent(page, zone: str, size: int) -> None:  # type: ignore[no-untyped-def]
    page.locator(f"#{zone}-sent").filter(has_text=f"{size} of {size} bytes sent").wait_for()
    assert page.locator(f"#{zone}-progress").evaluate("bar => [bar.value, bar.max]") == [size, size]


def test_files_dropped_onto_a_tabular_dataset(console: Console, tmp_path: Path) -> None:
    sid = console.api.session("imports")
    did = console.api.people(sid, rows=2)
    page = console.open(f"#/s/{sid}/d/{did}")
    result = page.locator("#dataset-import-result")

    page.locator("#dataset-counts").filter(has_text="2 rows").wait_for()
    text = f'name,age,city\nGrace,45,"{XSS}"\n"Doe, Jane",,Oslo\n'
    page.evaluate(DROP, ["more.csv", "text/csv", text])  # a real drop event carrying the file
    result.filter(has_text="more.csv: inserted 2, updated 0, ignored 0").wait_for()
    _sent(page, "dataset-import", len(text.encode()))
    page.locator("#dataset-counts").filter(has_text="4 rows").wait_for()
    console.axe("dataset import")
    console.shot("import")

    ndjson = tmp_path / "more.ndjson"
    ndjson.write_text('{"name": "Nia", "age": 31}\n{"name": "Omar", "age": 32}\n', encoding="utf-8")
    page.locator("#dataset-import-file").set_input_files(str(ndjson))  # the keyboard's way: a file picker
    result.filter(has_text="more.ndjson: inserted 2").wait_for()
    _sent(page, "dataset-import", ndjson.stat().st_size)

    bad = tmp_path / "bad.csv"
    bad.write_text("name,age\nKim,41\nLee,old\n", encoding="utf-8")
    page.locator("#dataset-import-file").set_input_files(str(bad))
    problem = result.locator(".problem")
    problem.wait_for()
    assert "bad.csv was not imported" in result.inner_text()
    assert "age" in problem.inner_text()  # the problem names the field (and the row) at fault
    page.locator("#dataset-counts").filter(has_text="6 rows").wait_for()  # all-or-nothing

    parquet = tmp_path / "more.parquet"
    buffer = io.BytesIO()
    pq.write_table(pa.table({"name": ["Pia"], "age": pa.array([50], pa.int64()), "city": ["Lima"]}), buffer)
    parquet.write_bytes(buffer.getvalue())
    page.locator("#dataset-import-file").set_input_files(str(parquet))
    result.filter(has_text="more.parquet").wait_for()
    supported = console.api.http.post(
        f"/sessions/{sid}/datasets/{did}/records",
        content=b"",
        headers={"Content-Type": "application/vnd.apache.parquet"},
    )
    if supported.status_code == 415:  # Parquet uploads come with issue 14: until then the 415 is what the user sees
        assert "application/vnd.apache.parquet" in result.inner_text()
    else:
        result.filter(has_text="more.parquet: inserted 1").wait_for()
    assert page.locator("main img").count() == 0


def test_graphml_onto_a_graph_and_a_zip_onto_a_session(console: Console, tmp_path: Path) -> None:
    sid = console.api.session("source")
    gid = console.api.social(sid)
    graphml = tmp_path / "social.graphml"
    graphml.write_bytes(
        console.api.http.get(f"/sessions/{sid}/datasets/{gid}/export", params={"format": "graphml"}).content
    )
    archive = tmp_path / "source.zip"
    archive.write_bytes(console.api.http.get(f"/sessions/{sid}/export").content)

    target = console.api.session("target")
    copy = console.api.dataset(target, "copy", "graph", {})
    page = console.open(f"#/s/{target}/d/{copy}")
    page.locator("#dataset-import-file").set_input_files(str(graphml))
    page.locator("#dataset-import-result").filter(has_text="social.graphml: inserted 11").wait_for()
    _sent(page, "dataset-import", graphml.stat().st_size)
    page.locator("#dataset-counts").filter(has_text="6 nodes, 5 relationships").wait_for()

    page.get_by_role("link", name="Datasets").click()
    page.locator("#session-import-file").set_input_files(str(archive))
    page.locator("#session-import-result").filter(has_text="source.zip: imported").wait_for()
    _sent(page, "session-import", archive.stat().st_size)
    page.get_by_role("row", name="social graph 6 nodes").wait_for()
    console.axe("session import")

    page.locator("#session-import-file").set_input_files(str(archive))  # again: the names clash, the API says so
    problem = page.locator("#session-import-result .problem")
    problem.wait_for()
    assert "409" in problem.inner_text()

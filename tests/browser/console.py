"""What the browser tests share: a client of the public API for setting data up (a fresh user per
test), and the page wrapper that opens the console with that user's key, runs the axe-core scan,
saves screenshots and collects every JavaScript error and CSP violation the page logged."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
XSS = "<img src=x onerror=alert(1)>"
"""A value that would run script if the console ever rendered data as HTML."""


class ConsoleApi:
    """The public REST API as one user (a key registered for the test)."""

    def __init__(self, base_url: str, key: str) -> None:
        self.base_url = base_url
        self.key = key
        self.http = httpx.Client(base_url=base_url, headers={"X-API-Key": key}, timeout=60)

    @classmethod
    def for_new_user(cls, base_url: str) -> ConsoleApi:
        answer = httpx.post(f"{base_url}/users", timeout=60)
        answer.raise_for_status()
        return cls(base_url, answer.json()["api_key"])

    def __enter__(self) -> ConsoleApi:
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.http.close()

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.http.request(method, path, **kwargs)
        assert answer.is_success, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content else None

    def session(self, name: str) -> str:
        return str(self.ok("POST", "/sessions", json={"name": name})["id"])

    def dataset(self, sid: str, name: str, kind: str, schema: dict[str, Any]) -> str:
        body = {"name": name, "kind": kind, "schema": schema}
        return str(self.ok("POST", f"/sessions/{sid}/datasets", json=body)["id"])

    def records(self, sid: str, did: str, body: dict[str, Any]) -> Any:
        return self.ok("POST", f"/sessions/{sid}/datasets/{did}/records", json=body)

    def people(self, sid: str, rows: int = 60) -> str:
        """A tabular dataset `people` (id, name, age, city): `rows` rows, the first named with the XSS probe."""
        did = self.dataset(
            sid,
            "people",
            "tabular",
            {
                "columns": [
                    {"name": "name", "type": "text", "nullable": False},
                    {"name": "age", "type": "integer"},
                    {"name": "city", "type": "text"},
                ],
                "indexes": [{"columns": ["age"]}],
            },
        )
        records = [{"name": XSS, "age": 99, "city": XSS}] + [
            {"name": f"person {i:03d}", "age": 20 + i % 50, "city": ["Oslo", "Lima", "Pune"][i % 3]}
            for i in range(1, rows)
        ]
        self.records(sid, did, {"records": records})
        return did

    def social(self, sid: str) -> str:
        """A graph `social`: a-b-c-d a chain of KNOWS, a-e-<probe> LIKES; the City node's key and name are
        the XSS probe (labels are identifiers: the API refuses the probe as a label)."""
        did = self.dataset(
            sid,
            "social",
            "graph",
            {
                "node_labels": [
                    {"name": "Person", "properties": [{"name": "name", "type": "text"}]},
                    {"name": "City", "properties": [{"name": "name", "type": "text"}]},
                ],
                "relationship_types": [{"name": "KNOWS", "properties": []}, {"name": "LIKES", "properties": []}],
            },
        )
        people = {"a": "Ada", "b": "Bob", "c": "Cy", "d": "Di", "e": "Eve"}
        nodes = [{"id": k, "labels": ["Person"], "properties": {"name": v}} for k, v in people.items()]
        nodes.append({"id": XSS, "labels": ["City"], "properties": {"name": XSS}})
        edges = [
            {"source": "a", "target": "b", "type": "KNOWS", "properties": {}},
            {"source": "b", "target": "c", "type": "KNOWS", "properties": {}},
            {"source": "c", "target": "d", "type": "KNOWS", "properties": {}},
            {"source": "a", "target": "e", "type": "LIKES", "properties": {}},
            {"source": "e", "target": XSS, "type": "LIKES", "properties": {}},
        ]
        self.records(sid, did, {"nodes": nodes, "edges": edges})
        return did


@dataclass
class Console:
    """A browser page on the console, signed in with the test user's key."""

    page: Any
    base_url: str
    api: ConsoleApi
    screenshots: Path
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    accept_dialogs: bool = True

    def __post_init__(self) -> None:
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}\n{error.stack}"))
        self.page.on("console", self._console_message)
        self.page.on("dialog", self._dialog)

    def _console_message(self, message: Any) -> None:
        text = message.text
        if message.type == "error" and "Failed to load resource" not in text:
            self.errors.append(f"console error: {text}")
        if "Content Security Policy" in text or "Refused to" in text:
            self.errors.append(f"CSP: {text}")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        if dialog.type == "confirm" and self.accept_dialogs:
            dialog.accept()
        else:
            dialog.dismiss()

    def open(self, route: str = "#/") -> Any:
        """Open the console on `route`, typing the key into the key form first (once per tab)."""
        page = self.page
        if not page.url.startswith(f"{self.base_url}/console"):
            page.goto(f"{self.base_url}/console")
            page.get_by_role("textbox", name="API key").fill(self.api.key)
            page.get_by_role("button", name="Use this key").click()
            page.get_by_role("heading", name="Sessions").wait_for()
        page.evaluate("route => { location.hash = route; }", route)
        return page

    def axe(self, name: str) -> None:
        """The accessibility scan of the page as it is now: no serious or critical violation."""
        page = self.page
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            # evaluated through the DevTools protocol, which the page's CSP does not govern (a script
            # tag would be refused by it, as it should be)
            page.evaluate(AXE.read_text(encoding="utf-8"))
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        bad = [
            f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:5]}"
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert not bad, f"axe-core on {name}:\n" + "\n".join(bad)

    def shot(self, name: str) -> Path:
        path = self.screenshots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def assert_no_page_errors(self) -> None:
        assert not self.errors, "the page logged errors:\n" + "\n".join(self.errors)

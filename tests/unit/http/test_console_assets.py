"""/console is served by the API itself: its pages, our modules and the vendored libraries (with
their licences), under a Content-Security-Policy that allows no inline script, and nothing of it
in the OpenAPI document. (The flows are driven in a real browser by tests/browser.)"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from litestar.testing import TestClient

from datainfra.adapters.http.routes.console import CONSOLE_DIR

ROOT = Path(__file__).resolve().parents[3]


def test_the_page_and_its_assets_are_served_under_a_strict_csp(client: TestClient) -> None:
    page = client.get("/console")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["referrer-policy"] == "no-referrer"
    referenced = re.findall(r'(?:src|href)="(/console/[^"]+)"', page.text)
    assert len(referenced) >= 7
    for path in referenced:
        asset = client.get(path)
        assert asset.status_code == 200, path
        assert asset.headers["content-security-policy"] == policy
    script_type = client.get("/console/js/app.js").headers["content-type"]
    assert script_type.startswith(("text/javascript", "application/javascript"))


def test_no_inline_script_and_no_html_sinks_in_our_modules() -> None:
    html = (CONSOLE_DIR / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "an inline <script> (the CSP would refuse it)"
    assert not re.search(r"\son[a-z]+=", html), "an inline event handler"
    for module in (CONSOLE_DIR / "js").glob("*.js"):
        text = module.read_text(encoding="utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in text, f"{module.name} uses {sink}: user data must only ever be text"


def test_every_module_imported_exists() -> None:
    modules = {p.name for p in (CONSOLE_DIR / "js").glob("*.js")}
    for module in (CONSOLE_DIR / "js").glob("*.js"):
        for imported in re.findall(r'from "\./([a-z_]+\.js)"', module.read_text(encoding="utf-8")):
            assert imported in modules, f"{module.name} imports a missing {imported}"


def test_paths_outside_the_console_folder_are_not_served(client: TestClient) -> None:
    assert client.get("/console/../pyproject.toml").status_code == 404
    assert client.get("/console/%2e%2e/routes/console.py").status_code == 404
    assert client.get("/console/nothing-here.js").status_code == 404


def test_the_console_is_not_part_of_the_api_document(client: TestClient) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith("/console")]


def test_the_files_ship_in_the_package_with_the_vendored_licences() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_data = pyproject["tool"]["setuptools"]["package-data"]
    assert "adapters/http/console/**/*" in package_data["datainfra"]
    vendored = CONSOLE_DIR / "vendor"
    readme = (vendored / "README.md").read_text(encoding="utf-8")
    for library in ("codemirror", "cytoscape"):
        assert (vendored / library / "LICENSE").is_file()
        for file in (vendored / library).iterdir():
            assert file.name in readme, f"vendor/README.md does not list {library}/{file.name}"

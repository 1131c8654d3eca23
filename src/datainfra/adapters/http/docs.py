"""OpenAPI 3.1 at /schema/openapi.json and Swagger UI under /schema, with its assets served by us
(from the swagger-ui-py wheel) so the docs work without internet access."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import swagger_ui
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

ASSETS_PATH = "/schema/assets"
ASSETS_DIR = Path(swagger_ui.__file__).parent / "static"


def openapi_config(version: str) -> OpenAPIConfig:
    return OpenAPIConfig(
        title="datainfra",
        version=version,
        description=(
            "Multi-tenant data infrastructure: sessions of tabular (PostgreSQL) and graph (Neo4j) datasets. "
            "Authenticate with the X-API-Key header (or Authorization: Bearer, the same key). Errors are RFC 9457 "
            "problem documents (application/problem+json)."
        ),
        path="/schema",
        render_plugins=[
            SwaggerRenderPlugin(
                path="/",
                js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
                css_url=f"{ASSETS_PATH}/swagger-ui.css",
                standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
                favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>",
            )
        ],
    )


def assets_router() -> Any:
    return create_static_files_router(path=ASSETS_PATH, directories=[ASSETS_DIR], include_in_schema=False)

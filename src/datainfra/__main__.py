"""`python -m datainfra`: read the settings, wire the container, serve the API."""

from __future__ import annotations

import sys

import uvicorn

from datainfra.config import Settings, SettingsError
from datainfra.containers import build_container


def main() -> int:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"datainfra: configuration error: {exc}", file=sys.stderr)
        return 2
    from datainfra.adapters.http.app import create_app

    app = create_app(build_container(settings))
    print(f"datainfra: serving on http://{settings.host}:{settings.port} (docs at /schema)", file=sys.stderr)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

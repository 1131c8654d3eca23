"""`python -m datainfra`: read the settings, start the local stores, serve the API in supervised
workers (datainfra.supervisor).

The server is uvicorn with uvloop and httptools (chosen on the filtered-GET benchmark, see the
README's Deployment section). Each of the DATAINFRA_WORKERS worker processes builds its own app
through `asgi_app`, the factory below; the container image runs this same command."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import structlog
import uvicorn

from datainfra.config import Settings, SettingsError
from datainfra.containers import build_container

APP_FACTORY = "datainfra.__main__:asgi_app"
"""Import path of the factory, for worker processes and for other ASGI servers (`--factory`)."""


def asgi_app() -> Any:
    """The app, built from the environment when called (never at import): one per worker process."""
    from datainfra.adapters.http.app import create_app
    from datainfra.supervisor import die_with_parent

    die_with_parent()
    return create_app(build_container(Settings.from_env()))


def server_options(settings: Settings) -> dict[str, Any]:
    """What uvicorn is given; kept apart so a test can check it against the settings."""
    return {
        "host": settings.host,
        "port": settings.port,
        "workers": settings.workers,
        "factory": True,
        "loop": "uvloop",
        "http": "httptools",
        "lifespan": "on",
        # Our middleware writes one structured line per request; uvicorn's own would repeat it.
        "access_log": False,
        "log_level": settings.log_level.lower(),
        "timeout_graceful_shutdown": int(settings.shutdown_timeout_s),
        "proxy_headers": False,
        "server_header": False,
        "log_config": server_log_config(settings),
    }


def server_log_config(settings: Settings) -> dict[str, Any]:
    """The server's own lines (start, stop, errors) in the app's format: JSON objects in production,
    uvicorn's readable lines on the console."""
    if settings.log_format != "json":
        return dict(uvicorn.config.LOGGING_CONFIG)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.JSONRenderer(),
                ],
                "foreign_pre_chain": [
                    structlog.stdlib.add_logger_name,
                    structlog.processors.add_log_level,
                    structlog.processors.TimeStamper(fmt="iso", utc=True),
                    structlog.processors.format_exc_info,
                ],
            }
        },
        "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": ["default"], "level": "INFO", "propagate": False},
        },
    }


def serving_announcement(settings: Settings) -> Callable[[], None]:
    """What is said once the server accepts connections: a line for a person on the console, an
    event in the JSON log."""
    where = f"http://{settings.host}:{settings.port}"

    def announce() -> None:
        if settings.log_format == "console":
            workers = f", {settings.workers} workers" if settings.workers > 1 else ""
            print(f"datainfra: serving on {where}{workers} (docs at /schema, metrics at /metrics)", file=sys.stderr)
        else:
            structlog.get_logger("datainfra").info("serving", url=where, workers=settings.workers)

    return announce


def main() -> int:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"datainfra: configuration error: {exc}", file=sys.stderr)
        return 2
    from datainfra.local_stores.process import LocalServerError
    from datainfra.supervisor import StartRefused, supervise

    try:
        return supervise(settings, APP_FACTORY, server_options(settings), serving_announcement(settings))
    except StartRefused as exc:
        print(f"datainfra: {exc}", file=sys.stderr)
        return 1
    except LocalServerError as exc:
        print(f"datainfra: a local store did not start: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

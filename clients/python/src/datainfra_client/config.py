"""Where the API key and the base URL come from, first found wins:

1. the argument (`Client(api_key=..., base_url=...)`, the CLI's `--api-key` / `--url`);
2. the environment: `DATAINFRA_API_KEY`, `DATAINFRA_URL`;
3. the config file: `$DATAINFRA_CONFIG`, else `$XDG_CONFIG_HOME/datainfra/config.toml`
   (`~/.config/datainfra/config.toml`), a TOML file such as

       url = "http://127.0.0.1:8000"
       api_key = "..."

The base URL defaults to http://127.0.0.1:8000 (what `make run` serves); the key has no default."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from datainfra_client.errors import ConfigError

DEFAULT_URL = "http://127.0.0.1:8000"
KEY_VARIABLE = "DATAINFRA_API_KEY"
URL_VARIABLE = "DATAINFRA_URL"
CONFIG_VARIABLE = "DATAINFRA_CONFIG"


@dataclass(frozen=True, slots=True)
class Settings:
    """The resolved base URL and API key (None when none was found: only registration works then)."""

    base_url: str
    api_key: str | None


def config_path() -> Path:
    """The config file's path (which need not exist)."""
    explicit = os.environ.get(CONFIG_VARIABLE)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "datainfra" / "config.toml"


def read_config(path: Path | None = None) -> dict[str, str]:
    """The config file's `url` and `api_key` (an absent file is empty; a broken one is a ConfigError)."""
    path = path or config_path()
    if not path.is_file():
        return {}
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc}") from exc
    return {name: str(document[name]) for name in ("url", "api_key") if isinstance(document.get(name), str)}


def write_config(api_key: str, url: str, path: Path | None = None) -> Path:
    """Store the key and URL in the config file (mode 0600, the key is a secret); returns its path."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = f"url = {_toml_string(url)}\napi_key = {_toml_string(api_key)}\n"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def resolve(api_key: str | None = None, base_url: str | None = None, config: Path | None = None) -> Settings:
    """Argument, then environment, then config file; see the module docstring."""
    stored = read_config(config)
    key = api_key or os.environ.get(KEY_VARIABLE) or stored.get("api_key")
    url = base_url or os.environ.get(URL_VARIABLE) or stored.get("url") or DEFAULT_URL
    return Settings(base_url=url.rstrip("/"), api_key=key or None)


def require_key(settings: Settings) -> str:
    """The key, or a ConfigError saying the three places it was looked for."""
    if settings.api_key is None:
        raise ConfigError(
            f"no API key: pass api_key (--api-key), set {KEY_VARIABLE}, or put api_key in {config_path()}"
        )
    return settings.api_key


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

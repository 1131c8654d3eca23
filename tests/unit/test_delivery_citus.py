"""compose.citus.yaml, checked as compose.yaml is (tests/unit/test_delivery.py): against the Compose
Specification, its services and start-up order (nodes healthy → worker registration → API), and an
API configured exactly as in compose.yaml but for the database, which is the Citus coordinator."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import jsonschema
import pytest
import yaml

from datainfra.config import Settings
from tests.unit.test_delivery import (
    ENV_EXAMPLE,
    INTERPOLATION,
    ROOT,
    SCHEMA,
    SETTING,
    compose,
    env_example_values,
    filled_env_file,
    image_env,
    interpolate,
)

CITUS_COMPOSE = ROOT / "compose.citus.yaml"


def citus_compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(CITUS_COMPOSE.read_text())
    return loaded


def workers(services: dict[str, Any]) -> list[str]:
    return [name for name, svc in services.items() if svc.get("environment", {}).get("CITUS_NODE_ROLE") == "worker"]


def test_the_citus_compose_file_validates_against_the_compose_specification() -> None:
    validator = jsonschema.Draft201909Validator(json.loads(SCHEMA.read_text()))
    errors = sorted(validator.iter_errors(citus_compose()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_a_coordinator_and_two_workers_are_registered_before_the_api_starts() -> None:
    document = citus_compose()
    services = document["services"]
    nodes = ["coordinator", *workers(services)]
    assert len(nodes) == 3 and services["coordinator"]["environment"]["CITUS_NODE_ROLE"] == "coordinator"
    for name in nodes:
        assert services[name]["image"].startswith("${CITUS_IMAGE:-citusdata/citus:14")
        assert services[name]["healthcheck"]["test"][0] == "CMD-SHELL"
        assert any(v.split(":")[0] in document["volumes"] for v in services[name]["volumes"]), name
    register = services["citus-register"]
    assert register["depends_on"] == {name: {"condition": "service_healthy"} for name in nodes}
    assert register["restart"] == "no"
    assert set(register["environment"]["CITUS_WORKERS"].split()) == set(workers(services))
    assert services["api"]["depends_on"]["citus-register"] == {"condition": "service_completed_successfully"}
    for svc in services.values():
        for mount in svc.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).is_file(), f"{source} is mounted but missing"


def test_the_api_is_configured_as_in_compose_yaml_but_on_the_coordinator() -> None:
    env_file = filled_env_file()
    plain = {k: interpolate(str(v), env_file) for k, v in compose()["services"]["api"]["environment"].items()}
    citus = {k: interpolate(str(v), env_file) for k, v in citus_compose()["services"]["api"]["environment"].items()}
    assert set(plain) == set(citus)
    assert {k for k in plain if plain[k] != citus[k]} == {"DATAINFRA_DATABASE_URL"}
    settings = Settings.from_env(image_env() | citus)
    assert settings.database_url == "postgresql://datainfra:pw-api@coordinator:5432/datainfra"


def test_every_variable_is_documented_and_no_secret_is_written() -> None:
    referenced = set(INTERPOLATION.findall(CITUS_COMPOSE.read_text().replace("$$", "")))  # $$: a literal $
    documented = set(env_example_values()) | set(SETTING.findall(ENV_EXAMPLE.read_text()))
    assert referenced - documented == set()
    for svc in citus_compose()["services"].values():
        for name, value in svc.get("environment", {}).items():
            if "PASSWORD" in name or name == "DATAINFRA_DATABASE_URL":
                assert "${" in str(value), f"{name} must come from the env file"


def test_docker_compose_accepts_the_citus_file() -> None:
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("`docker compose` is not installed: the file was checked against the Compose schema only")
    env = ROOT / "build" / "citus-compose-check.env"
    env.parent.mkdir(exist_ok=True)
    env.write_text("".join(f"{k}={v}\n" for k, v in filled_env_file().items()))
    result = subprocess.run(
        [docker, "compose", "--env-file", str(env), "-f", str(CITUS_COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr

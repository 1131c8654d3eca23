"""What a local Neo4j needs from the machine: a Java runtime (17 or newer) and the server's jars, which
Maven copies once from Maven Central into a cache folder shared by every data dir.

``org.neo4j:neo4j`` (:data:`NEO4J_VERSION`, an LTS that runs on Java 17) carries the server entry point
and depends on everything it needs (Bolt included). :func:`fetch_jars` copies those jars with Maven
(``deploy/neo4j-local/pom.xml``, the same as ``deploy/neo4j-local/neo4j-local.sh fetch``).

Cache (``DATAINFRA_NEO4J_CACHE_DIR``, default ``${XDG_CACHE_HOME:-~/.cache}/datainfra/neo4j-<version>``)::

    lib/          the jars (about 125 MB); complete once ``.complete`` exists
    cds/          class-data-sharing archives made by a first start (cut later starts by ~40%)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Final

from datainfra.local_stores.process import LocalServerError, locked

__all__ = [
    "CACHE_DIR_ENV",
    "NEO4J_VERSION",
    "LocalNeo4jError",
    "cache_dir",
    "fetch_jars",
    "find_java",
    "java_available",
]

NEO4J_VERSION: Final = "5.26.30"
"""Version of ``org.neo4j:neo4j`` run (keep in step with deploy/neo4j-local/)."""

CACHE_DIR_ENV: Final = "DATAINFRA_NEO4J_CACHE_DIR"

_MARKER: Final = ".complete"
_MIN_JAVA: Final = 17

# Fallback when the package runs outside the repository (no deploy/neo4j-local/pom.xml).
_POM: Final = f"""<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>datainfra.deploy</groupId>
  <artifactId>neo4j-local</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <properties><neo4j.version>{NEO4J_VERSION}</neo4j.version></properties>
  <dependencies>
    <dependency>
      <groupId>org.neo4j</groupId>
      <artifactId>neo4j</artifactId>
      <version>${{neo4j.version}}</version>
    </dependency>
  </dependencies>
</project>
"""


class LocalNeo4jError(LocalServerError):
    """Fetching, starting or stopping the local Neo4j server failed."""

    tail_lines = 40
    tail_bytes = 65536


def cache_dir() -> Path:
    """The folder the jars are cached in (``DATAINFRA_NEO4J_CACHE_DIR`` or the XDG default)."""
    configured = os.environ.get(CACHE_DIR_ENV)
    if configured:
        return Path(configured).expanduser().absolute()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser().absolute() / "datainfra" / f"neo4j-{NEO4J_VERSION}"


def fetch_jars(*, timeout: float = 900.0) -> Path:
    """Copy the Neo4j server's jars into :func:`cache_dir` (once) and return the lib folder.

    Idempotent and safe to call from concurrent processes: a marker file records a complete
    copy; the copy is made under a lock into a scratch folder that is renamed into place.
    Needs ``mvn`` on PATH the first time (Maven Central or a mirror configured for Maven).
    """
    root = cache_dir()
    lib = root / "lib"
    if (root / _MARKER).exists() and lib.is_dir():
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        raise LocalNeo4jError(f"mvn is not on PATH: it is needed once to fetch org.neo4j:neo4j:{NEO4J_VERSION}")
    root.mkdir(parents=True, exist_ok=True)
    with locked(root.parent / f"{root.name}.lock"):
        if (root / _MARKER).exists() and lib.is_dir():
            return lib
        scratch = Path(tempfile.mkdtemp(prefix="lib.partial-", dir=root))
        try:
            pom = _repo_pom()
            if pom is None:
                pom = scratch / "pom.xml"
                pom.write_text(_POM, encoding="utf-8")
            jars = scratch / "lib"
            args = [
                mvn,
                "-q",
                "-B",
                "-Dstyle.color=never",
                "-f",
                str(pom),
                f"-Dneo4j.version={NEO4J_VERSION}",
                "dependency:copy-dependencies",
                f"-DoutputDirectory={jars}",
            ]
            try:
                result = subprocess.run(
                    args,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise LocalNeo4jError(f"mvn did not fetch the Neo4j jars within {timeout:.0f}s") from exc
            if result.returncode != 0 or not (jars / f"neo4j-{NEO4J_VERSION}.jar").exists():
                raise LocalNeo4jError(
                    f"mvn could not fetch org.neo4j:neo4j:{NEO4J_VERSION} (exit {result.returncode}): "
                    + " ".join(args),
                    detail=result.stdout[-4000:],
                )
            if lib.exists():
                shutil.rmtree(lib)
            jars.rename(lib)
            (root / _MARKER).write_text(f"org.neo4j:neo4j:{NEO4J_VERSION}\n", encoding="utf-8")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return lib


def java_available() -> bool:
    """Whether a Java runtime Neo4j can run on (17 or newer) is at hand (JAVA_HOME or PATH)."""
    java = find_java()
    if java is None:
        return False
    try:
        result = subprocess.run(
            [java, "-version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if result.returncode != 0 or match is None:
        return False
    major = int(match.group(1))
    if major == 1 and match.group(2) is not None:  # "1.8.0_x"
        major = int(match.group(2))
    return major >= _MIN_JAVA


def find_java() -> str | None:
    """The java program JAVA_HOME names, else the one on PATH (None: neither)."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.access(Path(java_home) / "bin" / "java", os.X_OK):
        return str(Path(java_home) / "bin" / "java")
    return shutil.which("java")


def _repo_pom() -> Path | None:
    """deploy/neo4j-local/pom.xml of the source checkout this module runs from, if any."""
    for parent in Path(__file__).resolve().parents:
        pom = parent / "deploy" / "neo4j-local" / "pom.xml"
        if pom.is_file():
            return pom
    return None

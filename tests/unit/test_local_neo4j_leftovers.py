"""A Neo4j JVM left on a data dir by an owner that was killed (e.g. a SIGKILLed supervisor) is
stopped by the next start, found through its pid file or, when the owner died before writing it,
through its command line. A stand-in process carries the server's command line (no Java needed)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from datainfra.local_stores.neo4j import LocalNeo4j

pytestmark = pytest.mark.skipif(not Path("/proc/self").exists(), reason="finds processes through /proc")


def _stand_in(data_dir: Path) -> subprocess.Popen[bytes]:
    """A process whose command line is that of a server on `data_dir`, once /proc shows it: Popen can
    return before the child's command line is readable (seen in a full run with hundreds of threads),
    whereas a server left by a dead owner has long been running."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; time.sleep(120)",
            "org.neo4j.server.CommunityEntryPoint",
            f"--home-dir={data_dir}",
        ],
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while b"org.neo4j.server.CommunityEntryPoint" not in Path(f"/proc/{process.pid}/cmdline").read_bytes():
        assert time.monotonic() < deadline, "the stand-in never showed its command line"
        time.sleep(0.01)
    return process


@pytest.mark.parametrize("pid_file_written", [True, False])
def test_the_next_start_stops_a_server_left_on_the_data_dir(tmp_path: Path, pid_file_written: bool) -> None:
    data_dir = tmp_path / "neo4j"
    (data_dir / "run").mkdir(parents=True)
    other = _stand_in(tmp_path / "another-data-dir")
    left = _stand_in(data_dir.absolute())
    try:
        if pid_file_written:
            (data_dir / "run" / "datainfra-neo4j.pid").write_text(f"{left.pid}\n")
        LocalNeo4j(data_dir, stop_timeout=10)._clear_leftover_server()
        assert left.wait(15) is not None
        assert other.poll() is None, "a server of another data dir is left alone"
        assert not (data_dir / "run" / "datainfra-neo4j.pid").exists()
    finally:
        for process in (left, other):
            process.kill()
            process.wait(10)

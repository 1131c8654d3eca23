"""The `datainfra` command as a person runs it: in a real (pseudo-)terminal, importing 100,000 rows,
the progress bar is redrawn as the upload moves (percent, bytes, rows) and ends at 100% with every
row; piped to a file, the same import writes plain log lines and no terminal control codes."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from datainfra_client import Client

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]

ROWS = 100_000
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
COMMAND = [sys.executable, "-m", "datainfra_client.cli.main"]


def big_csv(path: Path) -> Path:
    with path.open("w") as handle:
        handle.write("id,name,score\n")
        for n in range(ROWS):
            handle.write(f"{n},person number {n},{n * 0.5}\n")
    return path


def in_terminal(command: list[str], env: dict[str, str], timeout_s: float = 240.0) -> tuple[int, bytes]:
    """Run in a pseudo-terminal (stdin, stdout and stderr all a tty); returns (exit code, every byte shown)."""
    main, side = pty.openpty()
    os.set_blocking(main, False)
    process = subprocess.Popen(command, stdin=side, stdout=side, stderr=side, env=env, close_fds=True)
    os.close(side)
    shown = bytearray()
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(main, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
            elif process.poll() is not None:
                break
        return process.wait(timeout=30), bytes(shown)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(main)


def test_the_progress_bar_moves_during_a_100000_row_import_in_a_terminal(
    client: Client, session_id: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    source = big_csv(tmp_path / "big.csv")
    env = {**cli_env, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "40"}
    code, shown = in_terminal(
        [*COMMAND, "import", str(source), "--session", session_id, "--dataset", "big", "--create"], env
    )
    text = shown.decode("utf-8", "replace")
    assert code == 0, text
    frames = [ANSI.sub(b"", frame).decode("utf-8", "replace") for frame in re.split(rb"[\r\n]", shown)]
    bars = [frame for frame in frames if "import big.csv" in frame and "%" in frame]
    percents = [int(m.group(1)) for frame in bars if (m := re.search(r"(\d+)%", frame))]
    assert len(set(percents)) >= 5, bars  # redrawn as the upload moved, not only at the end
    assert percents == sorted(percents) and percents[-1] == 100
    assert any(f"{ROWS:,} rows" in frame for frame in bars), bars[-3:]
    assert any(re.search(r"\d+(\.\d+)?/\d+(\.\d+)? MB", frame) for frame in bars), bars[-3:]  # bytes done/total
    assert "\x1b[" in text  # drawn with terminal control codes
    assert f"imported into big: {ROWS} inserted" in text
    dataset = next(d for d in client.list_datasets(session_id) if d.name == "big")
    assert client.page(session_id, dataset.id, count=True, limit=1).total == ROWS


def test_the_same_import_piped_writes_plain_log_lines(
    client: Client, session_id: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    source = big_csv(tmp_path / "big.csv")
    done = subprocess.run(
        [*COMMAND, "import", str(source), "-s", session_id, "-d", "big", "--create"],
        env=cli_env,
        capture_output=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.decode().splitlines()
    assert "\x1b[" not in done.stderr.decode()
    assert lines[0].startswith("datainfra: created tabular dataset big")
    assert lines[1].startswith("datainfra: import big.csv: started (")
    assert re.match(rf"datainfra: import big.csv: done: .* \(100%\), {ROWS:,} rows, .*/s in [\d.]+ s$", lines[-1])
    assert done.stdout.decode().strip() == f"imported into big: {ROWS} inserted, 0 updated, 0 ignored"


def test_an_export_in_a_terminal_counts_rows_against_the_dataset_count(
    client: Client, session_id: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    dataset = client.create_dataset(session_id, "rows", {"columns": [{"name": "n", "type": "integer"}]}).id
    client.insert(session_id, dataset, ({"n": n} for n in range(20_000)))
    env = {**cli_env, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "40"}
    target = tmp_path / "rows.csv"
    code, shown = in_terminal([*COMMAND, "export", "-s", session_id, "-d", "rows", "-o", str(target)], env)
    frames = [ANSI.sub(b"", frame).decode("utf-8", "replace") for frame in re.split(rb"[\r\n]", shown)]
    bars = [frame for frame in frames if "export" in frame and "%" in frame]
    assert code == 0, shown.decode("utf-8", "replace")
    assert any("100%" in frame and "20,000 rows" in frame for frame in bars), bars[-3:]
    assert len(target.read_text().splitlines()) == 20_001

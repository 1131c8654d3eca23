"""Progress of long uploads and downloads: a rich bar (bytes, rows, rate, ETA) on a terminal, plain
log lines on stderr otherwise (a line every few seconds and one at the end), so a script's log
shows the work moving without terminal control codes."""

from __future__ import annotations

import time
from typing import IO

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeRemainingColumn

LOG_EVERY_S = 2.0


class BarProgress:
    """A rich progress bar on stderr, redrawn whenever a whole percent (or, without a total, 256 KiB)
    more has moved, so every step shows however fast the work goes. It measures bytes when their
    total is known (uploads), else rows when theirs is (an export of a dataset whose count is known)."""

    def __init__(self, label: str, console: Console, expected_rows: int | None = None, header_lines: int = 0) -> None:
        self._label = label
        self._expected_rows = expected_rows
        self._header_lines = header_lines
        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[bytes]}"),
            TextColumn("{task.fields[rows]} rows"),
            TextColumn("{task.fields[rate]}"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            auto_refresh=False,
            transient=False,
        )
        self._task: TaskID | None = None
        self._total_bytes: int | None = None
        self._by_rows = False
        self._started = 0.0
        self._shown = -1

    def start(self, total_bytes: int | None, total_rows: int | None) -> None:
        self._total_bytes = total_bytes
        rows = total_rows if total_rows is not None else self._expected_rows
        self._by_rows = total_bytes is None and rows is not None
        total = total_bytes if total_bytes is not None else rows
        shown = _pair(0, total_bytes)
        if self._task is None:
            self._bar.start()
            self._task = self._bar.add_task(self._label, total=total, bytes=shown, rows="0", rate="")
        else:  # a retry: start the count again
            self._bar.reset(self._task, total=total, bytes=shown, rows="0", rate="")
        self._started = time.monotonic()
        self._shown = -1
        self._bar.refresh()

    def update(self, bytes_done: int, rows_done: int) -> None:
        if self._task is None:
            return
        rows_done = max(rows_done - self._header_lines, 0)
        elapsed = max(time.monotonic() - self._started, 1e-6)
        self._bar.update(
            self._task,
            completed=rows_done if self._by_rows else bytes_done,
            bytes=_pair(bytes_done, self._total_bytes),
            rows=f"{rows_done:,}",
            rate=f"{_size(int(bytes_done / elapsed))}/s",
        )
        total = self._bar.tasks[0].total
        done = rows_done if self._by_rows else bytes_done
        step = int(done * 100 / total) if total else bytes_done // (256 * 1024)
        if step != self._shown:
            self._shown = step
            self._bar.refresh()

    def finish(self) -> None:
        if self._task is not None:
            self._bar.refresh()
            self._bar.stop()
            self._task = None


class LogProgress:
    """Plain lines on a stream: `datainfra: <label>: 1.2 MB of 3.4 MB (35%), 35,000 rows, 2.1 MB/s, ETA 1 s`."""

    def __init__(
        self,
        label: str,
        stream: IO[str],
        every_s: float = LOG_EVERY_S,
        expected_rows: int | None = None,
        header_lines: int = 0,
    ) -> None:
        self._label = label
        self._expected_rows = expected_rows
        self._header_lines = header_lines
        self._total_rows: int | None = None
        self._stream = stream
        self._every = every_s
        self._total: int | None = None
        self._started = self._last = 0.0
        self._done = self._rows = 0

    def start(self, total_bytes: int | None, total_rows: int | None) -> None:
        self._total = total_bytes
        self._total_rows = total_rows if total_rows is not None else self._expected_rows
        self._started = self._last = time.monotonic()
        self._done = self._rows = 0
        size = f" ({_size(total_bytes)})" if total_bytes is not None else ""
        self._line(f"started{size}")

    def update(self, bytes_done: int, rows_done: int) -> None:
        self._done, self._rows = bytes_done, max(rows_done - self._header_lines, 0)
        now = time.monotonic()
        if now - self._last >= self._every:
            self._last = now
            self._line(self._status(now))

    def finish(self) -> None:
        self._line("done: " + self._status(time.monotonic(), eta=False))

    def _status(self, now: float, eta: bool = True) -> str:
        elapsed = max(now - self._started, 1e-6)
        rate = self._done / elapsed
        text = _size(self._done)
        if self._total:
            text += f" of {_size(self._total)} ({self._done * 100 // self._total}%)"
        text += f", {self._rows:,}"
        if not self._total and self._total_rows:
            text += f" of {self._total_rows:,} rows ({self._rows * 100 // self._total_rows}%)"
        else:
            text += " rows"
        text += f", {_size(int(rate))}/s"
        if eta and self._total and rate > 0:
            text += f", ETA {max(self._total - self._done, 0) / rate:.0f} s"
        elif eta and self._total_rows and self._rows > 0:
            row_rate = self._rows / elapsed
            text += f", ETA {max(self._total_rows - self._rows, 0) / row_rate:.0f} s"
        return text + ("" if eta else f" in {elapsed:.1f} s")

    def _line(self, text: str) -> None:
        self._stream.write(f"datainfra: {self._label}: {text}\n")
        self._stream.flush()


class NoProgress:
    """--quiet: nothing shown."""

    def start(self, total_bytes: int | None, total_rows: int | None) -> None:
        pass

    def update(self, bytes_done: int, rows_done: int) -> None:
        pass

    def finish(self) -> None:
        pass


def progress_for(
    label: str, console: Console, quiet: bool = False, *, expected_rows: int | None = None, header_lines: int = 0
) -> BarProgress | LogProgress | NoProgress:
    """A bar on a terminal, log lines otherwise, nothing when quiet. `expected_rows`: the rows a
    download will hold (its measure when the bytes' total is unknown); `header_lines`: lines of the
    stream that are not rows (a CSV export's header)."""
    if quiet:
        return NoProgress()
    if console.is_terminal:
        return BarProgress(label, console, expected_rows, header_lines)
    return LogProgress(label, console.file, expected_rows=expected_rows, header_lines=header_lines)


def _pair(done: int, total: int | None) -> str:
    """`1.2/3.4 MB` (in the total's unit), or `1.2 MB` without a total."""
    if total is None:
        return _size(done)
    value, unit = float(total), "B"
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            break
        value /= 1000
    scale = {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}[unit]
    if unit == "B":
        return f"{done}/{total} B"
    return f"{done / scale:.1f}/{total / scale:.1f} {unit}"


def _size(count: int | None) -> str:
    value = float(count or 0)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"

"""Build progress: a bar on a terminal, a few log lines otherwise (cron, systemd, CI)."""

from __future__ import annotations

import logging
import shutil
import sys

from tqdm import tqdm

log = logging.getLogger("arxiv_digest.progress")


class ProgressAwareHandler(logging.StreamHandler):
    """A log handler that writes above a running progress bar (through tqdm.write, which clears the bar
    and redraws it below) instead of into the bar's line. Without a bar it is a plain StreamHandler."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            if getattr(tqdm, "_instances", None):  # a bar is on screen
                tqdm.write(message, file=self.stream)
            else:
                self.stream.write(message + self.terminator)
                self.flush()
        except Exception:
            self.handleError(record)


class BarProgress:
    def __init__(self) -> None:
        self._bar: tqdm | None = None

    def start(self, total: int, label: str) -> None:
        # A terminal that reports no size (a bare pty, `script`, some CI runners) would hide the bar:
        # shutil falls back to 80x24 where tqdm takes the zeros at their word.
        size = shutil.get_terminal_size()
        self._bar = tqdm(
            total=total,
            desc=label,
            unit="paper",
            file=sys.stderr,
            leave=False,
            ncols=size.columns,
            nrows=size.lines,
        )

    def advance(self, done: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(done)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class LogProgress:
    """One line at the start, then about every tenth of the way."""

    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.label = ""
        self._next_report = 0

    def start(self, total: int, label: str) -> None:
        self.total, self.done, self.label = total, 0, label
        self._next_report = max(1, total // 10)
        log.info("%s: 0/%d", label, total)

    def advance(self, done: int = 1) -> None:
        self.done += done
        if self.done >= self._next_report or self.done == self.total:
            log.info("%s: %d/%d", self.label, self.done, self.total)
            self._next_report = self.done + max(1, self.total // 10)

    def close(self) -> None:
        pass


def make_progress() -> BarProgress | LogProgress:
    return BarProgress() if sys.stderr.isatty() else LogProgress()

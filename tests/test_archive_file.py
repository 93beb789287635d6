"""The archive's atomic write: a dotfile temporary (Jekyll skips it), nothing left behind, leftovers of
dead writers removed by the next write."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from digest.archive_file import STALE_AFTER_SECONDS, temp_path, write_atomically


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_post_is_written_whole_and_nothing_else_is_left(tmp_path: Path):
    path = tmp_path / "_posts" / "2026-02-18-arxiv-daily.md"
    write_atomically(path, "---\nlayout: post\n---\n\r\n中文\n")
    assert path.read_bytes() == "---\nlayout: post\n---\n\r\n中文\n".encode()
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    assert temp_path(path).name == f".{path.name}.{os.getpid()}.tmp"  # a dotfile: Jekyll skips it


def test_leftovers_of_dead_writers_are_removed_and_live_ones_kept(tmp_path: Path):
    path = tmp_path / "2026-02-18-arxiv-daily.md"
    dead = _dead_pid()
    leftovers = [
        temp_path(path, dead),
        tmp_path / f"{path.name}.tmp{dead}",  # the former naming, which Jekyll published
    ]
    live = temp_path(path, os.getppid())  # a writer still at work
    other = tmp_path / f".2026-02-17-arxiv-daily.md.{dead}.tmp"  # another post's: not this write's
    for leftover in [*leftovers, live, other]:
        leftover.write_text("half a post", encoding="utf-8")

    write_atomically(path, "whole\n")

    assert not any(p.exists() for p in leftovers)
    assert live.exists() and other.exists()
    # hours old although its pid is alive: the pid was recycled, the writer is long gone
    old = time.time() - STALE_AFTER_SECONDS - 60
    os.utime(live, (old, old))
    write_atomically(path, "whole again\n")
    assert not live.exists() and other.exists()
    assert path.read_text(encoding="utf-8") == "whole again\n"


def test_a_failed_write_keeps_the_previous_post_and_leaves_no_temporary(tmp_path: Path):
    path = tmp_path / "2026-02-18-arxiv-daily.md"
    write_atomically(path, "before\n")
    with pytest.raises(UnicodeEncodeError):
        write_atomically(path, "a lone surrogate \ud800 cannot be UTF-8")
    assert path.read_text(encoding="utf-8") == "before\n"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]

"""Writing an archive file so that a Jekyll site never publishes half of one, or a leftover.

The post is written to a temporary file beside it and renamed over it (atomic on one filesystem). The
temporary file is a dotfile, `.<name>.<pid>.tmp`: Jekyll skips names starting with a dot, whereas the
former `<date>-arxiv-daily.md.tmp<pid>` matched Jekyll's post pattern and a write killed midway left a
broken post in `_posts/`. It is flushed to disk before the rename, so a crash right after cannot leave
an empty post behind the new name. Leftovers of writers that died are removed at the next write.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path

# A leftover whose writer is still alive but older than this belongs to a recycled pid: a write takes
# milliseconds.
STALE_AFTER_SECONDS = 3600


def temp_path(path: Path, pid: int | None = None) -> Path:
    return path.with_name(f".{path.name}.{os.getpid() if pid is None else pid}.tmp")


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    tmp = temp_path(path)
    try:
        # newline="" keeps the bytes exactly as rendered on every OS.
        with open(tmp, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def remove_stale_temps(path: Path) -> list[Path]:
    """Remove the temporary files of `path` left by writers that are gone (this naming and the former
    one); the ones removed."""
    pattern = re.compile(rf"(?:\.{re.escape(path.name)}\.(\d+)\.tmp|{re.escape(path.name)}\.tmp(\d+))")
    removed = []
    for candidate in path.parent.iterdir():
        match = pattern.fullmatch(candidate.name)
        if not match:
            continue
        pid = int(match.group(1) or match.group(2))
        try:
            age = time.time() - candidate.stat().st_mtime
        except FileNotFoundError:
            continue
        if pid != os.getpid() and _alive(pid) and age < STALE_AFTER_SECONDS:
            continue  # another writer's file, being written now
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()
            removed.append(candidate)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else (or we cannot tell: keep its file)
    return True


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable; not every OS or filesystem can open a directory for that."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)

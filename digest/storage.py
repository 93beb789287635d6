"""Checks that the database file and the archive folder are usable, before anything costs money.

A build that finds out at the end that `archive_dir` is a file has already paid the LLM; SQLite's own
"unable to open database file" names neither the path nor what is wrong with it. So both are checked
up front, and every problem becomes a StorageError that names the path, what is wrong and the key to
change. Writability is tested by writing (a temporary file), not with os.access, which says yes to root
and knows nothing of read-only mounts.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class StorageError(RuntimeError):
    """The database or the archive folder cannot be used. The message is fit for a user to act on."""


DATABASE_KEY = "[storage] database"


@contextmanager
def _unreachable_as_storage_error(path: Path, what: str, key: str) -> Iterator[None]:
    """A folder on the way this user may not enter makes exists()/is_dir() raise PermissionError: that
    is a path to change, not a crash."""
    try:
        yield
    except StorageError:
        raise
    except OSError as err:
        raise StorageError(
            f"{what} {path}: cannot be reached ({_reason(err)}); give this user access to its folders, "
            f"or set {key} to a path it may write"
        ) from None


def path_exists(path: Path, what: str, key: str) -> bool:
    """Path.exists(), a StorageError naming the path when a folder on the way may not be entered."""
    with _unreachable_as_storage_error(path, what, key):
        return path.exists()


def _ensure_dir(path: Path, what: str, key: str) -> None:
    """Create `path` (and its parents) if missing; refuse it when it, or a parent, is not a folder."""
    for parent in [path, *path.parents]:
        if parent.exists() and not parent.is_dir():
            raise StorageError(f"{what} {path}: {parent} is a file, not a folder; {_set_path(key)}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StorageError(f"{what} {path}: cannot create the folder ({_reason(err)}); {_fix(key)}") from None


def _check_writable_dir(path: Path, what: str, key: str) -> None:
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-"):
            pass
    except OSError as err:
        raise StorageError(f"{what} {path} is not writable ({_reason(err)}); {_fix(key)}") from None


def _reason(err: OSError) -> str:
    return err.strerror or os.strerror(err.errno or errno.EIO)


def _set_path(key: str) -> str:
    # The database key names a file (in folders), the archive's a folder.
    what = "a file path such as data/digest.db" if key == DATABASE_KEY else "a folder path"
    return f"set {key} to {what}"


def _fix(key: str) -> str:
    return f"give this user write access to it, or set {key} to a path it may write"


def check_archive_dir(path: Path) -> None:
    """The folder the Jekyll posts go to: created if missing, a folder, writable."""
    key = "[storage] archive_dir"
    with _unreachable_as_storage_error(path, "archive_dir", key):
        _ensure_dir(path, "archive_dir", key)
        _check_writable_dir(path, "archive_dir", key)


def check_can_create(path: Path, what: str, key: str) -> None:
    """The folder `path` is usable or could be created, without creating anything: a check (doctor, a
    command about to fail on a refused token) must leave a fresh machine as it found it. The nearest
    existing folder is test-written with a temporary file, removed at once."""
    with _unreachable_as_storage_error(path, what, key):
        existing = next(p for p in [path, *path.parents] if p.exists() or p == p.parent)
        if not existing.is_dir():
            raise StorageError(f"{what} {path}: {existing} is a file, not a folder; {_set_path(key)}")
        _check_writable_dir(existing, what if existing == path else f"{what} {path}: folder", key)


def check_new_database_path(path: Path) -> None:
    """A database that does not exist yet could be created at `path`; nothing is created."""
    check_can_create(path.parent, "database folder", DATABASE_KEY)


def check_database_path(path: Path) -> None:
    """The SQLite file's folder exists and is writable (SQLite writes its -wal file beside it), and the
    path is a file or nothing yet. Whether the file is a database is for opening it to tell."""
    key = DATABASE_KEY
    with _unreachable_as_storage_error(path, "database", key):
        if path.is_dir():
            raise StorageError(
                f"database {path} is a folder, not a file; set {key} to a file path such as data/digest.db"
            )
        _ensure_dir(path.parent, "database folder", key)
        _check_writable_dir(path.parent, "database folder", key)
        if path.exists():
            try:
                with open(path, "r+b"):
                    pass
            except OSError as err:
                raise StorageError(f"database {path} is not writable ({_reason(err)}); {_fix(key)}") from None

"""`arxiv-digest search WORDS`: the full-text search of digest/search.py on the command line."""

from __future__ import annotations

import argparse

from config.settings import ConfigError, Settings
from digest.search import DEFAULT_LIMIT, BadQuery, search, to_fts_query
from digest.storage import DATABASE_KEY, path_exists


def add_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "search", parents=[common], help="full-text search over every stored paper, best match first"
    )
    parser.add_argument(
        "words", nargs="+", metavar="WORDS", help='words, "a phrase" (quoted for the shell) or author:Name'
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_LIMIT,
        help=f"at most this many results (default {DEFAULT_LIMIT})",
    )


async def run(settings: Settings, args: argparse.Namespace) -> int:
    from digest.store import Store

    query = " ".join(args.words)
    try:
        to_fts_query(query)  # a bad query is refused before the database is touched
    except BadQuery as err:
        raise ConfigError(f"search: {err}") from None
    if not 1 <= args.limit <= 50:
        raise ConfigError("search: --limit must be between 1 and 50")
    if not path_exists(
        settings.database_path, "database", DATABASE_KEY
    ):  # searching must not create an empty database
        print(f"no paper matches {query!r} (no database at {settings.database_path} yet: run a build)")
        return 0
    store = Store.open(settings.database_path)
    try:
        hits = search(store.db, query, args.limit)
    finally:
        store.close()
    if not hits:
        print(f"no paper matches {query!r}")
        return 0
    for hit in hits:
        title = " ".join(hit.title.split())
        print(f"{hit.day}  {hit.versioned_id:<16}  {title}  {hit.abs_url}")
    return 0

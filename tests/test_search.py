"""Full-text search (digest/search.py): the FTS5 index kept by the store, the query syntax readers type
(hostile too), ranking, the migration of an existing database, and `arxiv-digest search`."""

from __future__ import annotations

import json
from argparse import Namespace
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import sqlite_utils

from bot import search_cli
from config.settings import ConfigError, load_settings
from digest import search
from digest.models import Paper, Summary, SummaryRecord
from digest.store import MIGRATIONS, Store
from tests.telegram_support import seed_store

HOSTILE = [
    '"',
    '""',
    "NOT",
    "a OR b",
    "AND",
    "title:x",
    "author:",
    "author:(",
    "(",
    ")",
    "^foo",
    "NEAR(a b)",
    "foo*bar",
    "-x",
    "+x",
    "\x00",
    "'; drop table papers; --",
    "$\\{a\\}$",
    "||w||_2",
    "p(y | x)",
    "{{ site }}",
    "🤖",
    "语音合成",
    "a\"b'c",
    'author:"unterminated',
    "x " * 12,
]


def paper(base_id: str, title: str, abstract: str = "An abstract.", authors=("Ada Lovelace",)) -> Paper:
    moment = datetime(2026, 2, 17, 12, tzinfo=UTC)
    return Paper(base_id, 1, title, tuple(authors), ("cs.SD",), moment, moment, abstract)


def ids(store: Store, query: str) -> list[str]:
    return [hit.base_id for hit in search.search(store.db, query)]


@pytest.fixture
def store() -> Store:
    store = Store.memory()
    seed_store(store)
    return store


@pytest.mark.parametrize("query", HOSTILE)
def test_no_query_crashes_fts5(store: Store, query: str) -> None:
    try:
        hits = search.search(store.db, query)
    except search.BadQuery as err:
        assert str(err)  # a short reason for the reader
    else:
        assert isinstance(hits, list)


def test_the_query_language_never_reaches_fts5_as_syntax() -> None:
    assert search.to_fts_query('codec "neural audio" author:Kumar') == (
        '"codec" AND "neural audio" AND authors : "Kumar"'
    )
    assert search.to_fts_query("NOT OR") == '"NOT" AND "OR"'
    assert search.to_fts_query("gen*") == '"gen" *'
    assert search.to_fts_query("语音") == '"语 音"'
    with pytest.raises(search.BadQuery):
        search.to_fts_query("  *  () ")
    with pytest.raises(search.BadQuery):
        search.to_fts_query("x" * 301)
    with pytest.raises(search.BadQuery):
        search.to_fts_query("a " * 13)


def test_finds_by_title_breakdown_translation_author_and_chinese_substring(store: Store) -> None:
    tac = "2602.15766"
    assert ids(store, "captioning")[0] == tac  # title
    assert ids(store, "LoRA") == [tac]  # a word only its breakdown holds
    assert tac in ids(store, "多音场景")  # Chinese, in the middle of a run of Han characters
    assert ids(store, 'author:"Sonal Kumar"') == [tac]
    assert ids(store, "author:Timestamped") == []  # author: looks at authors only
    assert ids(store, "zzzunknownzzz") == []
    assert search.search(store.db, "captioning")[0].day == "2026-02-18"  # the digest that showed it
    assert search.search(store.db, "captioning")[0].abs_url == "https://arxiv.org/abs/2602.15766v1"


def test_best_first_and_at_most_ten() -> None:
    store = Store.memory()
    store.upsert_papers(
        [paper(f"2601.{i:05d}", f"Paper {i}", abstract="We study a codec.") for i in range(12)]
        + [paper("2601.99999", "A codec for speech")]
    )
    found = ids(store, "codec")
    assert len(found) == 10
    assert found[0] == "2601.99999"  # the title match ranks above abstract matches
    assert search.search(store.db, "codec")[0].day == "2026-02-17"  # never in a digest: its arXiv date


def test_the_index_follows_summaries_and_new_versions() -> None:
    store = Store.memory()
    store.upsert_papers([paper("2601.00001", "Plain title")])
    assert ids(store, "vocoder") == []
    summary = Summary("译文", "背景", "A vocoder with diffusion.", "Results.")
    record = SummaryRecord("2601.00001v1", "ok", summary)
    store.save_summary(record, "m", "zh", "p")
    assert ids(store, "vocoder") == ["2601.00001"]
    store.save_summary(SummaryRecord("2601.00001v1", "failed", None, error="x"), "m2", "zh", "p")
    assert ids(store, "vocoder") == ["2601.00001"]  # a failed attempt removes nothing
    store.upsert_papers([replace(paper("2601.00001", "Renamed title"), version=2)])
    assert ids(store, "renamed") == ["2601.00001"] and ids(store, "plain") == []
    assert ids(store, "vocoder") == ["2601.00001"]  # the v1 breakdown still finds the paper


def test_a_migration_indexes_an_existing_database(tmp_path) -> None:
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    db.table("_migrations").create({"name": str, "applied_at": str}, pk="name")
    for name, fn in MIGRATIONS:
        if name == "m011_papers_fts":
            break
        fn(db)
        db.table("_migrations").insert({"name": name, "applied_at": "2026-01-01"})
    db.table("papers").insert(
        {
            "base_id": "2501.00001",
            "version": 1,
            "title": "An old spectrogram paper",
            "authors": json.dumps(["Grace Hopper"]),
            "categories": json.dumps(["cs.SD"]),
            "published": "2025-01-02T00:00:00+00:00",
            "updated": "2025-01-02T00:00:00+00:00",
            "abstract": "Old.",
            "first_seen_at": "2025-01-02T00:00:00+00:00",
        }
    )
    db.close()
    store = Store.open(path)
    try:
        assert ids(store, "spectrogram") == ["2501.00001"]
        assert ids(store, "author:Hopper") == ["2501.00001"]
    finally:
        store.close()


def test_cli_search(make_project) -> None:
    project = make_project("http://127.0.0.1:9")
    store = Store.open(project.database)
    seed_store(store)
    store.close()
    found = project.run("search", "captioning", check=True)
    assert found.stdout.splitlines() == [
        "2026-02-18  2602.15766v1      TAC: Timestamped Audio Captioning  https://arxiv.org/abs/2602.15766v1"
    ]


async def test_cli_search_refuses_bad_queries_and_creates_nothing(tmp_path, capsys) -> None:
    settings = load_settings(None, {}, base_dir=tmp_path)
    with pytest.raises(ConfigError, match="nothing to search for"):  # exit status 2, like any input error
        await search_cli.run(settings, Namespace(words=["*", "()"], limit=10))
    assert await search_cli.run(settings, Namespace(words=["captioning"], limit=10)) == 0
    assert capsys.readouterr().out.startswith("no paper matches 'captioning' (no database")
    assert not settings.database_path.exists()  # searching created nothing
    store = Store.open(settings.database_path)
    seed_store(store)
    store.close()
    assert await search_cli.run(settings, Namespace(words=["zzzunknownzzz"], limit=10)) == 0
    assert capsys.readouterr().out == "no paper matches 'zzzunknownzzz'\n"
    with pytest.raises(ConfigError, match="--limit"):
        await search_cli.run(settings, Namespace(words=["codec"], limit=0))

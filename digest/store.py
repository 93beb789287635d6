"""SQLite through sqlite-utils: the schema (as named migrations) and every query the bot makes.

Failures are data here: a summary that did not work is a row with status 'failed' and its reason, so
the next build knows exactly what to retry.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from digest import search
from digest.delivery_log import DeliveryLog
from digest.leases import Leases, new_owner
from digest.models import (
    Digest,
    DigestItem,
    FullText,
    Paper,
    Summary,
    SummaryRecord,
    Window,
    category_key,
    split_version,
)
from digest.redaction import redact, redact_or_none
from digest.storage import StorageError, check_database_path
from digest.transactions import immediate

Migration = Callable[[sqlite_utils.Database], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_papers(db: sqlite_utils.Database) -> None:
    db.table("papers").create(
        {
            "base_id": str,
            "version": int,
            "title": str,
            "authors": str,  # JSON list
            "categories": str,  # JSON list, primary first
            "published": str,
            "updated": str,
            "abstract": str,
            "first_seen_at": str,
        },
        pk="base_id",
    )


@migration
def m002_summaries(db: sqlite_utils.Database) -> None:
    db.table("summaries").create(
        {
            "paper_id": str,  # versioned id
            "model": str,
            "language": str,
            "prompt_version": str,
            "status": str,  # ok | failed | unverified
            "translation": str,
            "background": str,
            "method": str,
            "results": str,
            "error": str,
            "prompt_tokens": int,
            "completion_tokens": int,
            "calls": int,
            "updated_at": str,
        },
        pk=("paper_id", "model", "language", "prompt_version"),
    )


@migration
def m003_digests(db: sqlite_utils.Database) -> None:
    db.table("digests").create(
        {
            "key": str,
            "date": str,
            "category_key": str,
            "categories": str,  # JSON list in the order asked for
            "window_start": str,
            "window_end": str,
            "timezone": str,
            "anchor": str,
            "fetched": int,
            "language": str,
            "model": str,
            "prompt_version": str,
            "created_at": str,
        },
        pk="key",
    )
    db.table("digests").create_index(["category_key", "date"])
    db.table("digest_items").create(
        {"digest_key": str, "base_id": str, "paper_id": str, "position": int},
        pk=("digest_key", "base_id"),
        foreign_keys=[("digest_key", "digests", "key")],
    )
    db.table("digest_items").create_index(["base_id"])


@migration
def m004_subscriptions_and_deliveries(db: sqlite_utils.Database) -> None:
    db.table("subscriptions").create(
        {
            "platform": str,  # telegram | discord
            "chat_id": str,
            "title": str,
            "categories": str,  # JSON list
            "active": int,
            "reason": str,  # why it was deactivated, if it was
            "created_at": str,
            "updated_at": str,
        },
        pk=("platform", "chat_id"),
    )
    # One row per message part delivered: the log that makes pushes idempotent.
    db.table("deliveries").create(
        {
            "platform": str,
            "chat_id": str,
            "digest_key": str,
            "part": str,  # "header" or a paper's base id
            "message_id": str,
            "delivered_at": str,
        },
        pk=("platform", "chat_id", "digest_key", "part"),
    )


@migration
def m005_fulltexts(db: sqlite_utils.Database) -> None:
    # The extracted text, not the HTML or PDF: it is what the LLM reads, and a tenth of the size.
    db.table("fulltexts").create(
        {
            "paper_id": str,  # versioned id: a new version is a new text
            "source": str,  # html | pdf | abstract
            "sections": str,  # JSON list of [title, text]
            "chars": int,
            "fetched_at": str,
        },
        pk="paper_id",
    )


@migration
def m006_summary_checks_and_build_runs(db: sqlite_utils.Database) -> None:
    db.table("summaries").add_column("source", str)  # html | pdf | abstract: what the breakdown read
    db.table("summaries").add_column("unverified", str)  # JSON list of numbers not found in the source
    # One row per build: what it cost, for the operator's eye and for budgeting.
    db.table("build_runs").create(
        {
            "id": int,
            "date": str,
            "digest_keys": str,  # JSON list
            "llm_calls": int,
            "prompt_tokens": int,
            "completion_tokens": int,
            "cost_usd": float,
            "summarized": int,
            "failures": int,
            "unverified": int,
            "seconds": float,
            "finished_at": str,
        },
        pk="id",
    )


@migration
def m007_platform_state(db: sqlite_utils.Database) -> None:
    # Small per-platform facts that must survive a restart, e.g. the hash of the registered Discord
    # commands (Discord limits command creation per day, so they are only synced when they change).
    db.table("platform_state").create(
        {"platform": str, "key": str, "value": str, "updated_at": str}, pk=("platform", "key")
    )


@migration
def m008_delivery_claims(db: sqlite_utils.Database) -> None:
    # A part is claimed (state 'claimed', owner, claimed_at) before it is sent and marked 'sent' after,
    # so two pushes at once never send it twice. Rows from before this migration were all sent.
    # `translated` says whether the card went out with its translation: cards without heal later.
    deliveries = db.table("deliveries")
    deliveries.add_column("state", str)  # claimed | sent | skipped (a card no renderer could send)
    deliveries.add_column("owner", str)  # host:pid:nonce of the process holding the claim
    deliveries.add_column("claimed_at", float)  # epoch seconds
    deliveries.add_column("translated", int)
    db.execute("update deliveries set state = 'sent', translated = 1 where state is null")


@migration
def m009_leases(db: sqlite_utils.Database) -> None:
    # One holder at a time across processes, e.g. the builder of a digest ("build:<digest key>").
    db.table("leases").create({"name": str, "owner": str, "expires_at": float}, pk="name")


@migration
def m010_usage_events(db: sqlite_utils.Database) -> None:
    # What a chat (or a user in it) did that costs money or posts in a group: on-demand builds,
    # /today posts, questions. Counted over a time span by digest.limits.
    db.table("usage_events").create(
        {"id": int, "platform": str, "chat_id": str, "user_id": str, "action": str, "at": float},
        pk="id",
    )
    db.table("usage_events").create_index(["platform", "chat_id", "action", "at"])


@migration
def m011_papers_fts(db: sqlite_utils.Database) -> None:
    # Full-text search over every stored paper (digest/search.py); an existing database is indexed here.
    search.create_index(db)
    search.index_all(db)


@migration
def m012_message_papers(db: sqlite_utils.Database) -> None:
    # Which paper a bot message (a card, a breakdown, an answer) is about, so that a reader's reply to it
    # can ask that paper. `thread` groups a question's answer with the turns before it.
    db.table("message_papers").create(
        {
            "platform": str,
            "chat_id": str,
            "message_id": str,
            "paper_id": str,  # versioned id
            "thread": str,  # None for a card or breakdown: a reply to it starts a thread
            "created_at": str,
        },
        pk=("platform", "chat_id", "message_id"),
    )


@migration
def m013_questions(db: sqlite_utils.Database) -> None:
    # Every question asked of a paper: the per-user daily limit, the tokens it cost, and the turns a
    # follow-up keeps as context.
    db.table("questions").create(
        {
            "id": int,
            "platform": str,
            "user_id": str,
            "paper_id": str,
            "thread": str,
            "day": str,  # the asker's day in the configured timezone, for the daily limit
            "question": str,
            "answer": str,
            "sections": str,  # JSON list of the sections the answer names
            "unverified": str,  # JSON list of numbers not found in the paper
            "status": str,  # pending | ok | not_said | failed
            "source": str,  # html | pdf | abstract: what the answer was read from
            "model": str,
            "prompt_tokens": int,
            "completion_tokens": int,
            "asked_at": str,
        },
        pk="id",
    )
    db.table("questions").create_index(["platform", "user_id", "day"])
    db.table("questions").create_index(["thread"])


@migration
def m014_interests(db: sqlite_utils.Database) -> None:
    # What a chat follows and mutes (issue 11); term is the label as shown: codec, "a phrase", author:X.
    db.table("interests").create(
        {"platform": str, "chat_id": str, "kind": str, "term": str, "created_at": str},
        pk=("platform", "chat_id", "kind", "term"),
    )


@migration
def m015_ratings(db: sqlite_utils.Database) -> None:
    # One row per reader and paper in a chat: +1 or -1. Taking a rating back deletes the row.
    db.table("ratings").create(
        {
            "platform": str,
            "chat_id": str,
            "user_id": str,
            "base_id": str,
            "value": int,
            "rated_at": str,
        },
        pk=("platform", "chat_id", "user_id", "base_id"),
    )


@migration
def m016_embeddings(db: sqlite_utils.Database) -> None:
    # One vector per paper version and embedding model (float32 bytes): each paper is embedded once.
    db.table("embeddings").create(
        {"paper_id": str, "model": str, "dims": int, "vector": bytes, "created_at": str},
        pk=("paper_id", "model"),
    )


@migration
def m017_subscription_max_cards(db: sqlite_utils.Database) -> None:
    # How many papers a chat gets as cards before the compact overview; NULL: the platform's default.
    db.table("subscriptions").add_column("max_cards", int)


@migration
def m018_build_run_errors(db: sqlite_utils.Database) -> None:
    # A build that stopped (the LLM refused the key, the archive could not be written) is still a row,
    # with what it spent and why it stopped.
    db.table("build_runs").add_column("error", str)


_SUMMARY_COLUMNS = [
    "paper_id",
    "model",
    "language",
    "prompt_version",
    "status",
    "translation",
    "background",
    "method",
    "results",
    "error",
    "prompt_tokens",
    "completion_tokens",
    "calls",
    "source",
    "unverified",
    "updated_at",
]
_SAVE_SUMMARY_SQL = (
    f"insert into summaries ({', '.join(_SUMMARY_COLUMNS)}) "
    f"values ({', '.join(':' + c for c in _SUMMARY_COLUMNS)}) "
    "on conflict (paper_id, model, language, prompt_version) do update set "
    + ", ".join(f"{c} = excluded.{c}" for c in _SUMMARY_COLUMNS[4:])
)


def _database_problem(path: Path, err: sqlite3.DatabaseError) -> str:
    text = str(err)
    if "not a database" in text:
        return (
            f"database {path} is not an SQLite database (or is damaged); set [storage] database to another "
            "path, or move that file away"
        )
    if "readonly" in text or "read-only" in text:
        return f"database {path} is read-only; give this user write access to it and its folder"
    return f"database {path} cannot be opened ({text}); check the file and [storage] database"


BUSY_TIMEOUT_SECONDS = 30.0


def _retry_locked(action: Callable[[], Any], seconds: float = BUSY_TIMEOUT_SECONDS) -> Any:
    # Switching to WAL needs an exclusive lock, and SQLite does not always call the busy handler for it.
    deadline = time.monotonic() + seconds
    while True:
        try:
            return action()
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class Subscription:
    platform: str
    chat_id: str
    title: str
    categories: tuple[str, ...]
    active: bool
    reason: str | None = None
    max_cards: int | None = None  # None: the platform's default for the kind of chat


class Store:
    def __init__(self, db: sqlite_utils.Database, owner: str | None = None):
        self.db = db
        self.migrate()
        # This process, as the holder of leases and delivery claims.
        self.owner = owner or new_owner()
        self.leases = Leases(db.conn, self.owner)
        self.deliveries = DeliveryLog(db.conn, self.owner)

    @classmethod
    def open(cls, path: str | Path) -> Store:
        """Open (creating if needed) and migrate the database; StorageError names the path if it cannot be
        used (a folder, unwritable, not an SQLite database)."""
        path = Path(path)
        check_database_path(path)
        try:
            # The timeout rides out concurrent writers (another build, a push, thirty processes opening a
            # new file at once); it is set on the connection before anything touches the file.
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_SECONDS)
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
            conn_db = sqlite_utils.Database(conn)
            # WAL lets the bot read while a build writes.
            _retry_locked(lambda: conn.execute("PRAGMA journal_mode = wal"))
            # With WAL, NORMAL never corrupts the file and survives an application crash; only a power cut
            # can lose the last commits, which the next build redoes. It spares a disk flush per summary.
            conn_db.conn.execute("PRAGMA synchronous = NORMAL")
            return cls(conn_db)
        except sqlite3.DatabaseError as err:  # OperationalError included: read-only, locked, damaged
            raise StorageError(_database_problem(path, err)) from None

    @classmethod
    def memory(cls) -> Store:
        return cls(sqlite_utils.Database(memory=True))

    def close(self) -> None:
        self.db.close()

    # -- migrations ---------------------------------------------------------------------------
    def migrate(self) -> None:
        """Apply the migrations not applied yet, all in one IMMEDIATE transaction: the first process
        to open a new file takes the write lock and migrates; the others wait for it (busy timeout),
        then find nothing left to do."""
        conn = self.db.conn
        names = [name for name, _ in MIGRATIONS]
        if self._applied() >= set(names):
            return  # the common case: no write lock taken at all
        with immediate(conn):
            conn.execute("create table if not exists _migrations (name text primary key, applied_at text)")
            applied = self._applied()
            for name, fn in MIGRATIONS:
                if name not in applied:
                    fn(self.db)
                    conn.execute("insert into _migrations (name, applied_at) values (?, ?)", [name, _now()])

    def _applied(self) -> set[str]:
        try:
            return {row[0] for row in self.db.conn.execute("select name from _migrations")}
        except sqlite3.OperationalError as err:
            if "no such table" in str(err):
                return set()
            raise

    # -- papers -------------------------------------------------------------------------------
    def upsert_papers(self, papers: Iterable[Paper]) -> None:
        rows = []
        now = _now()
        for paper in papers:
            rows.append(
                {
                    "base_id": paper.base_id,
                    "version": paper.version,
                    "title": paper.title,
                    "authors": json.dumps(list(paper.authors), ensure_ascii=False),
                    "categories": json.dumps(list(paper.categories)),
                    "published": _iso(paper.published),
                    "updated": _iso(paper.updated),
                    "abstract": paper.abstract,
                    "first_seen_at": now,
                }
            )
        if not rows:
            return
        with self.db.conn:
            existing = {
                row["base_id"]: row
                for row in self.db.query(
                    "select base_id, version, first_seen_at from papers "
                    "where base_id in (select value from json_each(?))",
                    [json.dumps([r["base_id"] for r in rows])],
                )
            }
            keep = []
            for row in rows:
                old = existing.get(row["base_id"])
                if old is not None:
                    if old["version"] > row["version"]:
                        continue  # never replace a newer version with an older one
                    row["first_seen_at"] = old["first_seen_at"]
                keep.append(row)
            self.db.table("papers").upsert_all(keep, pk="base_id")
            search.index_papers(self.db, [str(row["base_id"]) for row in keep])

    def get_paper(self, base_id: str) -> Paper | None:
        rows = list(self.db.query("select * from papers where base_id = ?", [base_id]))
        return _paper_from_row(rows[0]) if rows else None

    # -- summaries ----------------------------------------------------------------------------
    def get_summary(
        self, paper_id: str, model: str, language: str, prompt_version: str
    ) -> SummaryRecord | None:
        rows = list(
            self.db.query(
                "select * from summaries where paper_id = ? and model = ? and language = ? "
                "and prompt_version = ?",
                [paper_id, model, language, prompt_version],
            )
        )
        return _summary_from_row(rows[0]) if rows else None

    def best_summary(self, paper_id: str, language: str) -> SummaryRecord | None:
        """The most recent usable summary of a paper version in a language, whatever model wrote it."""
        rows = list(
            self.db.query(
                "select * from summaries where paper_id = ? and language = ? and status != 'failed' "
                "order by updated_at desc limit 1",
                [paper_id, language],
            )
        )
        return _summary_from_row(rows[0]) if rows else None

    def has_summary_attempt(self, paper_id: str) -> bool:
        """Whether any summary of this paper version was ever made or tried (in any model or language)."""
        return bool(list(self.db.query("select 1 from summaries where paper_id = ? limit 1", [paper_id])))

    def save_summary(self, record: SummaryRecord, model: str, language: str, prompt_version: str) -> None:
        texts = record.summary
        row = {
            "paper_id": record.paper_id,
            "model": model,
            "language": language,
            "prompt_version": prompt_version,
            "status": record.status,
            "translation": texts.translation if texts else None,
            "background": texts.background if texts else None,
            "method": texts.method if texts else None,
            "results": texts.results if texts else None,
            "error": redact_or_none(record.error),  # an upstream's error page may echo a key
            "prompt_tokens": record.prompt_tokens,
            "completion_tokens": record.completion_tokens,
            "calls": record.calls,
            "source": record.source,
            "unverified": json.dumps(list(texts.unverified)) if texts and texts.unverified else None,
            "updated_at": _now(),
        }
        # One prepared statement, not sqlite-utils' upsert: this runs once per paper on the build's
        # event loop, and the upsert's table introspection showed up as a quarter of its time.
        with self.db.conn:
            self.db.conn.execute(_SAVE_SUMMARY_SQL, row)
            if record.status != "failed":
                search.index_papers(self.db, [split_version(record.paper_id)[0]])

    # -- full texts ---------------------------------------------------------------------------
    def get_fulltext(self, paper_id: str) -> FullText | None:
        rows = list(self.db.query("select source, sections from fulltexts where paper_id = ?", [paper_id]))
        if not rows:
            return None
        sections = tuple((title, text) for title, text in json.loads(rows[0]["sections"]))
        return FullText(source=rows[0]["source"], sections=sections)

    def put_fulltext(self, paper_id: str, fulltext: FullText) -> None:
        with self.db.conn:
            self.db.table("fulltexts").upsert(
                {
                    "paper_id": paper_id,
                    "source": fulltext.source,
                    "sections": json.dumps([list(s) for s in fulltext.sections], ensure_ascii=False),
                    "chars": fulltext.chars,
                    "fetched_at": _now(),
                },
                pk="paper_id",
            )

    # -- digests ------------------------------------------------------------------------------
    def create_digest(self, digest: Digest, papers: list[Paper], model: str, prompt_version: str) -> None:
        """Store a digest and its membership in one transaction: membership never changes afterwards."""
        with self.db.conn:
            self.db.table("digests").insert(
                {
                    "key": digest.key,
                    "date": digest.date.isoformat(),
                    "category_key": category_key(digest.categories),
                    "categories": json.dumps(list(digest.categories)),
                    "window_start": _iso(digest.window.start),
                    "window_end": _iso(digest.window.end),
                    "timezone": digest.window.timezone,
                    "anchor": digest.window.anchor,
                    "fetched": digest.fetched,
                    "language": digest.language,
                    "model": model,
                    "prompt_version": prompt_version,
                    "created_at": _now(),
                }
            )
            self.db.table("digest_items").insert_all(
                {
                    "digest_key": digest.key,
                    "base_id": paper.base_id,
                    "paper_id": paper.versioned_id,
                    "position": position,
                }
                for position, paper in enumerate(papers)
            )

    def digest_exists(self, key: str) -> bool:
        return bool(list(self.db.query("select 1 from digests where key = ?", [key])))

    def shown_ids(self, cat_key: str) -> set[str]:
        """Versioned and version-less ids of every paper already in a digest of this category set."""
        ids: set[str] = set()
        for row in self.db.query(
            "select i.base_id, i.paper_id from digest_items i join digests d on d.key = i.digest_key "
            "where d.category_key = ?",
            [cat_key],
        ):
            ids.add(row["base_id"])
            ids.add(row["paper_id"])
        return ids

    def earliest_window_start(self, cat_key: str, before: date) -> datetime | None:
        rows = list(
            self.db.query(
                "select min(window_start) as start from digests where category_key = ? and date < ?",
                [cat_key, before.isoformat()],
            )
        )
        start = rows[0]["start"] if rows else None
        return datetime.fromisoformat(start) if start else None

    def load_digest(self, key: str) -> Digest | None:
        rows = list(self.db.query("select * from digests where key = ?", [key]))
        if not rows:
            return None
        row = rows[0]
        items = []
        for item in self.db.query(
            "select i.paper_id, p.* from digest_items i join papers p on p.base_id = i.base_id "
            "where i.digest_key = ? order by i.position",
            [key],
        ):
            paper = _paper_from_row(item)
            if paper.versioned_id != item["paper_id"]:
                # the paper has been replaced since; show the version this digest was built with
                from dataclasses import replace

                paper = replace(paper, version=int(item["paper_id"].rsplit("v", 1)[1]))
            record = self.get_summary(item["paper_id"], row["model"], row["language"], row["prompt_version"])
            if record is None or record.summary is None:
                # Built without an LLM, or the model or prompt changed since: any usable text will do.
                record = self.best_summary(item["paper_id"], row["language"])
            summary = record.summary if record and record.status != "failed" else None
            items.append(DigestItem(paper=paper, summary=summary))
        day = date.fromisoformat(row["date"])
        return Digest(
            key=row["key"],
            date=day,
            categories=tuple(json.loads(row["categories"])),
            window=Window(
                date=day,
                start=datetime.fromisoformat(row["window_start"]),
                end=datetime.fromisoformat(row["window_end"]),
                timezone=row["timezone"],
                anchor=row["anchor"],
            ),
            fetched=row["fetched"],
            items=tuple(items),
            language=row["language"],
        )

    def latest_digest_key(
        self, cat_key: str, on_or_before: date | None = None, non_empty: bool = False
    ) -> str | None:
        sql = "select key from digests where category_key = ?"
        params: list[str] = [cat_key]
        if on_or_before is not None:
            sql += " and date <= ?"
            params.append(on_or_before.isoformat())
        if non_empty:
            sql += " and exists (select 1 from digest_items i where i.digest_key = digests.key)"
        rows = list(self.db.query(sql + " order by date desc limit 1", params))
        return rows[0]["key"] if rows else None

    def nearest_digest_key(self, cat_key: str, day: date) -> str | None:
        """The built digest of this category set closest in date to `day`, preferring one with papers
        (earlier wins a tie)."""
        rows = list(
            self.db.query(
                "select key from digests where category_key = ? order by "
                "not exists (select 1 from digest_items i where i.digest_key = digests.key), "
                "abs(julianday(date) - julianday(?)), date limit 1",
                [cat_key, day.isoformat()],
            )
        )
        return rows[0]["key"] if rows else None

    def digest_keys_for_date(self, day: date) -> list[str]:
        return [r["key"] for r in self.db.query("select key from digests where date = ?", [day.isoformat()])]

    def record_build(self, row: dict) -> None:
        row = {
            **row,
            "error": redact_or_none(row.get("error")),
            "finished_at": _now(),
        }  # may quote an upstream
        with self.db.conn:
            self.db.table("build_runs").insert(row)

    # -- subscriptions ------------------------------------------------------------------------
    def subscribe(self, platform: str, chat_id: str, categories: Iterable[str], title: str = "") -> None:
        now = _now()
        with self.db.conn:
            existing = self.get_subscription(platform, chat_id)
            self.db.table("subscriptions").upsert(
                {
                    "platform": platform,
                    "chat_id": str(chat_id),
                    "title": title,
                    "categories": json.dumps(list(categories)),
                    "active": 1,
                    "reason": None,
                    "created_at": now if existing is None else None,
                    "updated_at": now,
                },
                pk=("platform", "chat_id"),
            )
            if existing is not None:  # keep the first creation time
                self.db.execute(
                    "update subscriptions set created_at = coalesce(created_at, ?) "
                    "where platform = ? and chat_id = ?",
                    [now, platform, str(chat_id)],
                )

    def deactivate(self, platform: str, chat_id: str, reason: str) -> bool:
        """Stop sending to a chat; True when it was active."""
        with self.db.conn:
            cursor = self.db.execute(
                "update subscriptions set active = 0, reason = ?, updated_at = ? "
                "where platform = ? and chat_id = ? and active = 1",
                [redact(reason), _now(), platform, str(chat_id)],
            )
        return cursor.rowcount > 0

    def set_max_cards(self, platform: str, chat_id: str, max_cards: int | None) -> bool:
        """Set a subscription's card count; False when the chat has no subscription."""
        with self.db.conn:
            cursor = self.db.execute(
                "update subscriptions set max_cards = ?, updated_at = ? where platform = ? and chat_id = ?",
                [max_cards, _now(), platform, str(chat_id)],
            )
        return cursor.rowcount > 0

    def get_subscription(self, platform: str, chat_id: str) -> Subscription | None:
        rows = list(
            self.db.query(
                "select * from subscriptions where platform = ? and chat_id = ?", [platform, str(chat_id)]
            )
        )
        return _subscription_from_row(rows[0]) if rows else None

    def active_subscriptions(self, platform: str | None = None) -> list[Subscription]:
        sql = "select * from subscriptions where active = 1"
        params: list[str] = []
        if platform:
            sql += " and platform = ?"
            params.append(platform)
        return [_subscription_from_row(r) for r in self.db.query(sql + " order by chat_id", params)]

    # -- deliveries ---------------------------------------------------------------------------
    def delivered_parts(self, platform: str, chat_id: str, digest_key: str) -> set[str]:
        """Parts sent, skipped, or claimed by another push that is still alive (see DeliveryLog)."""
        return self.deliveries.done_parts(platform, chat_id, digest_key)

    def record_delivery(
        self, platform: str, chat_id: str, digest_key: str, part: str, message_id: str | int | None
    ) -> None:
        self.deliveries.mark_sent(platform, chat_id, digest_key, [part], message_id, translated=[part])

    # -- which paper a bot message is about ---------------------------------------------------
    def remember_message(
        self,
        platform: str,
        chat_id: str | int,
        message_id: str | int,
        paper_id: str,
        thread: str | None = None,
    ) -> None:
        with self.db.conn:
            self.db.conn.execute(
                "insert or replace into message_papers "
                "(platform, chat_id, message_id, paper_id, thread, created_at) values (?, ?, ?, ?, ?, ?)",
                [platform, str(chat_id), str(message_id), paper_id, thread, _now()],
            )

    def message_paper(
        self, platform: str, chat_id: str | int, message_id: str | int
    ) -> tuple[str, str | None] | None:
        """(versioned paper id, thread) of a message the bot sent, or None for any other message."""
        row = self.db.conn.execute(
            "select paper_id, thread from message_papers where platform = ? and chat_id = ? "
            "and message_id = ?",
            [platform, str(chat_id), str(message_id)],
        ).fetchone()
        return (row[0], row[1]) if row else None

    # -- platform state -----------------------------------------------------------------------
    def get_state(self, platform: str, key: str) -> str | None:
        rows = list(
            self.db.query("select value from platform_state where platform = ? and key = ?", [platform, key])
        )
        return rows[0]["value"] if rows else None

    def delete_state(self, platform: str, key: str) -> None:
        with self.db.conn:
            self.db.execute("delete from platform_state where platform = ? and key = ?", [platform, key])

    def delete_states_before(self, platform: str, prefix: str, before: datetime) -> None:
        """Forget the states whose key starts with `prefix` that were last set before `before`."""
        with self.db.conn:
            self.db.execute(
                "delete from platform_state where platform = ? and substr(key, 1, ?) = ? and updated_at < ?",
                [platform, len(prefix), prefix, before.astimezone(UTC).isoformat(timespec="seconds")],
            )

    def set_state(self, platform: str, key: str, value: str) -> None:
        with self.db.conn:
            self.db.table("platform_state").upsert(
                {"platform": platform, "key": key, "value": value, "updated_at": _now()},
                pk=("platform", "key"),
            )


def _paper_from_row(row: dict) -> Paper:
    return Paper(
        base_id=row["base_id"],
        version=row["version"],
        title=row["title"],
        authors=tuple(json.loads(row["authors"])),
        categories=tuple(json.loads(row["categories"])),
        published=datetime.fromisoformat(row["published"]),
        updated=datetime.fromisoformat(row["updated"]),
        abstract=row["abstract"],
    )


def _summary_from_row(row: dict) -> SummaryRecord:
    summary = None
    if row["status"] != "failed" and row["translation"] is not None:
        summary = Summary(
            translation=row["translation"] or "",
            background=row["background"] or "",
            method=row["method"] or "",
            results=row["results"] or "",
            unverified=tuple(json.loads(row["unverified"])) if row.get("unverified") else (),
        )
    return SummaryRecord(
        paper_id=row["paper_id"],
        status=row["status"],
        summary=summary,
        error=row["error"],
        prompt_tokens=row["prompt_tokens"] or 0,
        completion_tokens=row["completion_tokens"] or 0,
        calls=row["calls"] or 0,
        source=row.get("source") or "abstract",
    )


def _subscription_from_row(row: dict) -> Subscription:
    return Subscription(
        platform=row["platform"],
        chat_id=row["chat_id"],
        title=row["title"] or "",
        categories=tuple(json.loads(row["categories"])),
        active=bool(row["active"]),
        reason=row["reason"],
        max_cards=row.get("max_cards"),
    )

"""Shared helpers of the Telegram tests: the seed digest as models, and a database filled with it."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

from digest.models import Digest, DigestItem, Paper, Summary, SummaryRecord, Window, split_version
from digest.store import Store

FIXTURES = Path(__file__).parent / "fixtures"
SEED_DAY = date(2026, 2, 18)
MODEL, PROMPT_VERSION = "fake-model", "test"


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def seed_items() -> list[DigestItem]:
    data = json.loads((FIXTURES / "seed-2026-02-18.json").read_text(encoding="utf-8"))
    items = []
    for record in data["papers"]:
        base_id, version = split_version(record["id"])
        paper = Paper(
            base_id=base_id,
            version=version,
            title=record["title"],
            authors=tuple(record["authors"]),
            categories=tuple(record["categories"]),
            published=_time(record["published"]),
            updated=_time(record["updated"]),
            abstract=record["abstract"],
        )
        zh = record["zh"]
        summary = Summary(zh["translation"], zh["background"], zh["method"], zh["results"])
        items.append(DigestItem(paper, summary))
    return items


def make_digest(
    items: list[DigestItem],
    day: date = SEED_DAY,
    categories: tuple[str, ...] = ("cs.SD", "eess.AS"),
    language: str = "zh",
    fetched: int | None = None,
) -> Digest:
    window = Window(
        date=day,
        start=datetime.fromisoformat(f"{day.replace(day=day.day - 1).isoformat()}T00:50:00+00:00"),
        end=datetime.fromisoformat(f"{day.isoformat()}T00:50:00+00:00"),
        timezone="Asia/Shanghai",
        anchor="08:50",
    )
    return Digest(
        key=Digest.make_key(day, categories),
        date=day,
        categories=categories,
        window=window,
        fetched=len(items) if fetched is None else fetched,
        items=tuple(items),
        language=language,
    )


def store_digest(store: Store, digest: Digest) -> None:
    """Put a digest into the store the way a build would: papers, summaries, then the digest."""
    store.upsert_papers([item.paper for item in digest.items])
    for item in digest.items:
        if item.summary is not None:
            record = SummaryRecord(paper_id=item.paper.versioned_id, status="ok", summary=item.summary)
            store.save_summary(record, MODEL, digest.language, PROMPT_VERSION)
    store.create_digest(digest, [item.paper for item in digest.items], MODEL, PROMPT_VERSION)


def seed_store(store: Store, day: date = SEED_DAY) -> Digest:
    digest = make_digest(seed_items(), day)
    store_digest(store, digest)
    return digest

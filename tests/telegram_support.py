"""Shared helpers of the Telegram tests: the seed digest as models, and a database filled with it."""

from __future__ import annotations

from datetime import date

from digest.models import Digest, DigestItem, SummaryRecord
from digest.store import Store
from digest.window import window_for
from tests.seed_data import seed_items

__all__ = ["SEED_DAY", "make_digest", "seed_items", "seed_store"]

SEED_DAY = date(2026, 2, 18)
MODEL, PROMPT_VERSION = "fake-model", "test"


def make_digest(
    items: list[DigestItem],
    day: date = SEED_DAY,
    categories: tuple[str, ...] = ("cs.SD", "eess.AS"),
    language: str = "zh",
    fetched: int | None = None,
) -> Digest:
    window = window_for(day, "Asia/Shanghai", "08:50")
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

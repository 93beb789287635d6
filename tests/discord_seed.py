"""The seed's 8 papers as a stored digest, written through the Store API (no build, no LLM): the content
the Discord tests render, press and push."""

from __future__ import annotations

from datetime import date

from digest.models import Digest, SummaryRecord, Window
from digest.store import Store
from tests.seed_data import seed_items, seed_json, when

SEED_DAY = date(2026, 2, 18)
EMPTY_DAY = date(2026, 2, 21)  # a Saturday: no announcement
MODEL, PROMPT_VERSION = "gpt-4o-mini", "seed"


def seed_digest() -> Digest:
    data = seed_json()
    items = seed_items()
    window = data["window"]
    return Digest(
        key=Digest.make_key(SEED_DAY, data["categories"]),
        date=SEED_DAY,
        categories=tuple(data["categories"]),
        window=Window(
            SEED_DAY, when(window["start"]), when(window["end"]), window["timezone"], window["anchor"]
        ),
        fetched=len(items),
        items=tuple(items),
        language="zh",
    )


def seed_store(store: Store, with_empty_day: bool = True) -> Digest:
    """Store the seed digest (and an empty digest for a Saturday); return the seed digest."""
    digest = seed_digest()
    papers = [item.paper for item in digest.items]
    store.upsert_papers(papers)
    for item in digest.items:
        assert item.summary is not None
        store.save_summary(
            SummaryRecord(item.paper.versioned_id, "ok", item.summary, calls=1), MODEL, "zh", PROMPT_VERSION
        )
    store.create_digest(digest, papers, MODEL, PROMPT_VERSION)
    if with_empty_day:
        start = digest.window.start.replace(day=20)
        empty = Digest(
            key=Digest.make_key(EMPTY_DAY, digest.categories),
            date=EMPTY_DAY,
            categories=digest.categories,
            window=Window(
                EMPTY_DAY, start, start.replace(day=21), digest.window.timezone, digest.window.anchor
            ),
            fetched=0,
            language="zh",
        )
        store.create_digest(empty, [], MODEL, PROMPT_VERSION)
    return digest

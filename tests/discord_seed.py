"""The seed's 8 papers as a stored digest, written through the Store API (no build, no LLM): the content
the Discord tests render, press and push."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

from digest.models import Digest, DigestItem, Paper, Summary, SummaryRecord, Window
from digest.store import Store

SEED_JSON = Path(__file__).parent / "fixtures" / "seed-2026-02-18.json"
SEED_DAY = date(2026, 2, 18)
EMPTY_DAY = date(2026, 2, 21)  # a Saturday: no announcement
MODEL, PROMPT_VERSION = "gpt-4o-mini", "seed"


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def seed_records() -> tuple[dict, list[Paper], dict[str, Summary]]:
    data = json.loads(SEED_JSON.read_text(encoding="utf-8"))
    papers, summaries = [], {}
    for record in data["papers"]:
        base_id, version = record["id"].rsplit("v", 1)
        paper = Paper(
            base_id=base_id,
            version=int(version),
            title=record["title"],
            authors=tuple(record["authors"]),
            categories=tuple(record["categories"]),
            published=_when(record["published"]),
            updated=_when(record["updated"]),
            abstract=record["abstract"],
        )
        papers.append(paper)
        zh = record["zh"]
        summaries[paper.versioned_id] = Summary(
            zh["translation"], zh["background"], zh["method"], zh["results"]
        )
    return data, papers, summaries


def seed_digest() -> Digest:
    data, papers, summaries = seed_records()
    window = data["window"]
    return Digest(
        key=Digest.make_key(SEED_DAY, data["categories"]),
        date=SEED_DAY,
        categories=tuple(data["categories"]),
        window=Window(
            SEED_DAY, _when(window["start"]), _when(window["end"]), window["timezone"], window["anchor"]
        ),
        fetched=len(papers),
        items=tuple(DigestItem(p, summaries[p.versioned_id]) for p in papers),
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

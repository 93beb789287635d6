"""The seed digest's 8 papers (tests/fixtures/seed-2026-02-18.json) as core values, with their Chinese
texts: realistic content for the platform tests, loaded in one place."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from digest.models import DigestItem, Paper, Summary, split_version

SEED_JSON = Path(__file__).parent / "fixtures" / "seed-2026-02-18.json"


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def seed_json() -> dict:
    return json.loads(SEED_JSON.read_text(encoding="utf-8"))


def seed_items() -> list[DigestItem]:
    items = []
    for record in seed_json()["papers"]:
        base_id, version = split_version(record["id"])
        paper = Paper(
            base_id=base_id,
            version=version,
            title=record["title"],
            authors=tuple(record["authors"]),
            categories=tuple(record["categories"]),
            published=when(record["published"]),
            updated=when(record["updated"]),
            abstract=record["abstract"],
        )
        zh = record["zh"]
        items.append(
            DigestItem(paper, Summary(zh["translation"], zh["background"], zh["method"], zh["results"]))
        )
    return items

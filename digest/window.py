"""Which papers belong to which digest.

A digest for `date` covers the window [date-1 anchor, date anchor) in the configured timezone, matched
against each paper's arXiv timestamp (`updated`). arXiv announces hours or days after that timestamp,
so a paper may become visible only after its own window's digest was built: such a late paper goes into
the next digest built, looking back `lookback_days`, and every paper lands in exactly one digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from digest.models import Paper, Window, id_sort_key


def window_for(day: date, timezone: str, anchor: str) -> Window:
    zone = ZoneInfo(timezone)
    hour, minute = (int(part) for part in anchor.split(":"))
    at = time(hour, minute)
    # Combine per day (not end - 24h) so a DST change inside the window keeps the anchor's wall time.
    end = datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
    start = datetime.combine(day - timedelta(days=1), at, tzinfo=zone).astimezone(UTC)
    return Window(date=day, start=start, end=end, timezone=timezone, anchor=anchor)


def late_since(window: Window, lookback_days: int, earliest_digest_start: datetime | None) -> datetime | None:
    """From when late papers are taken into this digest; None for a first build (its own window only).

    Late papers are looked for no further back than `lookback_days`, and never before the window of the
    first digest built for this category set: older papers were never this digest series' to show.
    """
    if earliest_digest_start is None or lookback_days <= 0:
        return None
    since = max(window.start - timedelta(days=lookback_days), earliest_digest_start)
    return since if since < window.start else None


@dataclass(frozen=True)
class Selection:
    papers: list[Paper]  # newest arXiv id first
    fetched: int  # candidates before dedup and filters: the header's first count


def select_papers(
    fetched: list[Paper],
    window: Window,
    categories: tuple[str, ...] | list[str],
    shown_ids: set[str],
    since: datetime | None,
    include_replacements: bool = False,
) -> Selection:
    """The papers of one digest, from everything the API returned for a range covering it."""
    wanted = set(categories)
    coverage_start = since or window.start
    candidates = [
        paper
        for paper in fetched
        if wanted.intersection(paper.categories)
        and (
            window.contains(paper.updated)
            or (
                since is not None and since <= paper.updated < window.start and paper.base_id not in shown_ids
            )
        )
    ]
    # Cross-lists and repeated pages: one entry per paper, its newest version.
    latest: dict[str, Paper] = {}
    for paper in candidates:
        kept = latest.get(paper.base_id)
        if kept is None or paper.version > kept.version:
            latest[paper.base_id] = paper
    chosen = []
    for paper in latest.values():
        if include_replacements:
            if paper.versioned_id in shown_ids:
                continue
            if paper.base_id in shown_ids and not paper.is_replacement:
                continue
        else:
            if paper.base_id in shown_ids:
                continue
            # A replacement of a paper first announced before this digest's coverage is old news.
            if paper.is_replacement and paper.published < coverage_start:
                continue
        chosen.append(paper)
    chosen.sort(key=lambda p: id_sort_key(p.base_id), reverse=True)
    distinct_candidates = {paper.versioned_id for paper in candidates}
    return Selection(papers=chosen, fetched=len(distinct_candidates))

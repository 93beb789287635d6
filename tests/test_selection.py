"""Pure unit tests of the window and the selection rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from digest.models import Paper, id_sort_key, split_version
from digest.window import late_since, select_papers, window_for


def paper(arxiv_id: str, updated: datetime, cats=("cs.SD",), published: datetime | None = None) -> Paper:
    base, version = split_version(arxiv_id)
    return Paper(base, version, f"T {arxiv_id}", ("A",), tuple(cats), published or updated, updated, "abs")


W = window_for(date(2026, 2, 18), "Asia/Shanghai", "08:50")
IN = datetime(2026, 2, 17, 12, 0, tzinfo=UTC)


def test_window_is_anchored_in_the_configured_timezone():
    assert W.start == datetime(2026, 2, 17, 0, 50, tzinfo=UTC)
    assert W.end == datetime(2026, 2, 18, 0, 50, tzinfo=UTC)
    assert W.contains(W.start) and not W.contains(W.end)


def test_window_keeps_the_wall_clock_anchor_across_a_dst_change():
    w = window_for(date(2026, 3, 8), "America/New_York", "20:00")  # DST starts 2026-03-08 02:00
    assert w.end - w.start == timedelta(hours=23)


def test_cross_lists_count_once_and_newest_id_comes_first():
    fetched = [
        paper("2602.00001v1", IN, ("eess.AS", "cs.SD")),
        paper("2602.00002v1", IN),
        paper("2602.00001v1", IN),
    ]
    selection = select_papers(fetched, W, ("cs.SD", "eess.AS"), set(), None)
    assert [p.base_id for p in selection.papers] == ["2602.00002", "2602.00001"]
    assert selection.fetched == 2


def test_other_categories_and_other_windows_are_left_out():
    fetched = [
        paper("2602.00001v1", IN, ("math.AG",)),
        paper("2602.00002v1", W.end),
        paper("2602.00003v1", W.start - timedelta(seconds=1)),
        paper("2602.00004v1", W.start),
    ]
    selection = select_papers(fetched, W, ("cs.SD",), set(), None)
    assert [p.base_id for p in selection.papers] == ["2602.00004"]


def test_late_papers_join_the_next_digest_only_when_not_shown_before():
    late = paper("2602.00001v1", W.start - timedelta(hours=5))
    shown_late = paper("2602.00002v1", W.start - timedelta(hours=5))
    since = W.start - timedelta(days=7)
    selection = select_papers([late, shown_late], W, ("cs.SD",), {"2602.00002"}, since)
    assert [p.base_id for p in selection.papers] == ["2602.00001"]
    # a first build takes its own window only
    assert select_papers([late], W, ("cs.SD",), set(), None).papers == []


def test_late_since_looks_back_no_further_than_the_first_digest_or_the_lookback():
    assert late_since(W, 7, None) is None
    assert late_since(W, 7, W.start - timedelta(days=2)) == W.start - timedelta(days=2)
    assert late_since(W, 3, W.start - timedelta(days=30)) == W.start - timedelta(days=3)
    assert late_since(W, 0, W.start - timedelta(days=2)) is None


def test_replacements_are_not_shown_again_unless_configured():
    old = datetime(2026, 1, 5, tzinfo=UTC)
    v2 = paper("2601.00001v2", IN, published=old)
    assert select_papers([v2], W, ("cs.SD",), set(), None).papers == []
    assert select_papers([v2], W, ("cs.SD",), {"2601.00001", "2601.00001v1"}, None, True).papers == [v2]
    # a paper replaced before it was ever announced is still new
    quick = paper("2602.00009v2", IN, published=IN - timedelta(hours=1))
    assert select_papers([quick], W, ("cs.SD",), set(), None).papers == [quick]


def test_id_order_handles_old_style_ids():
    ids = ["hep-th/9901001", "2602.15766", "0704.0001", "2602.09999", "math/0601001"]
    assert sorted(ids, key=id_sort_key, reverse=True) == [
        "2602.15766",
        "2602.09999",
        "0704.0001",
        "math/0601001",
        "hep-th/9901001",
    ]

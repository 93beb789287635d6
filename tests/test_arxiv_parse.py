"""Real arXiv API responses (recorded elsewhere) through the real `arxiv` client and our conversion."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import web

from digest.arxiv_source import ArxivSource, build_query
from digest.models import id_sort_key
from tests.fakes.server import BackgroundServer

REAL = Path(__file__).parent / "fixtures" / "real"


def _serve_once(path: Path) -> web.Application:
    # The recordings are one page of a bigger result; say so, or the client would page on for the rest.
    body = re.sub(
        r"(<opensearch:totalResults[^>]*>)\d+(<)", r"\g<1>10\g<2>", path.read_text(encoding="utf-8")
    )

    async def query(request: web.Request) -> web.Response:
        return web.Response(text=body, content_type="application/atom+xml")

    app = web.Application()
    app.router.add_get("/api/query", query)
    return app


def _fetch(path: Path):
    with BackgroundServer(_serve_once(path)) as server:
        source = ArxivSource(f"{server.url}/api/query", delay_seconds=0, retries=0)
        return source.fetch(["cs.SD"], datetime(2000, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))


def test_legacy_response_with_old_style_ids_and_wrapped_text():
    papers = _fetch(REAL / "arxiv-api-atom-legacy-2016-au_del_maestro.xml")
    assert len(papers) == 10
    old = next(p for p in papers if p.base_id == "cond-mat/0412498")
    assert old.version == 1 and old.versioned_id == "cond-mat/0412498v1"
    assert old.primary_category == "cond-mat.str-el"
    wrapped = next(p for p in papers if p.title.startswith("From stripe to checkerboard"))
    assert "\n" not in wrapped.title and "  " not in wrapped.title
    first = papers[0]
    assert first.base_id == "1201.4869"
    assert first.abstract.startswith("As helium-4 is cooled below 2.17 K")
    assert "\n" not in first.abstract
    assert first.published == datetime(2012, 1, 23, 21, 15, 2, tzinfo=UTC)
    assert first.authors and all(first.authors)
    newest_first = sorted(papers, key=lambda p: id_sort_key(p.base_id), reverse=True)
    assert newest_first[0].base_id.startswith("1") and newest_first[-1].base_id.startswith("cond-mat/")


def test_recent_response_keeps_every_category_with_the_primary_first():
    papers = _fetch(REAL / "arxiv-api-atom-q_testing-10.xml")
    assert len(papers) == 10
    assert papers[0].versioned_id == "2202.12139v1"
    for paper in papers:
        assert paper.categories and paper.primary_category == paper.categories[0]
        assert len(set(paper.categories)) == len(paper.categories)
        assert paper.updated >= paper.published


def test_query_ors_the_categories_over_a_gmt_range():
    since = datetime(2026, 2, 17, 8, 50, tzinfo=ZoneInfo("Asia/Shanghai"))
    until = datetime(2026, 2, 18, 0, 50, tzinfo=UTC)
    assert build_query(["cs.SD", "eess.AS"], since, until) == (
        "(cat:cs.SD OR cat:eess.AS) AND lastUpdatedDate:[202602170050 TO 202602180050]"
    )

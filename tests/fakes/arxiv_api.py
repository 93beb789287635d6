"""A fake arXiv API (export.arxiv.org/api/query) that answers the way arXiv does.

It understands the query the bot sends (OR-ed `cat:` terms and a `lastUpdatedDate:[A TO B]` range),
sorts and pages like arXiv, refuses what arXiv refuses (max_results over 2000), can be told to fail
the next requests (429/503), and has a clock: an entry with `announce_at` is invisible before it, as
papers are until arXiv's 20:00 New York announcement.
"""

from __future__ import annotations

import re
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

from aiohttp import web

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"


@dataclass(frozen=True)
class Entry:
    id: str  # versioned, e.g. 2602.15766v1
    title: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]  # primary first
    published: datetime
    updated: datetime
    summary: str
    announce_at: datetime | None = None  # invisible before this moment of the fake's clock


def parse_atom(path: Path) -> list[Entry]:
    root = ET.parse(path).getroot()
    entries = []
    for node in root.findall(f"{ATOM}entry"):
        primary = node.find(f"{ARXIV}primary_category")
        cats = [c.get("term") for c in node.findall(f"{ATOM}category")]
        if primary is not None and primary.get("term") in cats:
            cats.remove(primary.get("term"))
            cats.insert(0, primary.get("term"))
        entries.append(
            Entry(
                id=node.findtext(f"{ATOM}id").rsplit("/abs/", 1)[1],
                title=" ".join(node.findtext(f"{ATOM}title").split()),
                authors=tuple(a.findtext(f"{ATOM}name") for a in node.findall(f"{ATOM}author")),
                categories=tuple(cats),
                published=datetime.fromisoformat(node.findtext(f"{ATOM}published").replace("Z", "+00:00")),
                updated=datetime.fromisoformat(node.findtext(f"{ATOM}updated").replace("Z", "+00:00")),
                summary=node.findtext(f"{ATOM}summary").strip(),
            )
        )
    return entries


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_feed(entries: list[Entry], total: int, start: int) -> str:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
        'xmlns:arxiv="http://arxiv.org/schemas/atom">',
        "  <id>https://arxiv.org/api/fake</id>",
        "  <title>arXiv Query</title>",
        f"  <updated>{_ts(datetime.now(UTC))}</updated>",
        f"  <opensearch:totalResults>{total}</opensearch:totalResults>",
        f"  <opensearch:startIndex>{start}</opensearch:startIndex>",
        f"  <opensearch:itemsPerPage>{len(entries)}</opensearch:itemsPerPage>",
    ]
    for e in entries:
        parts += [
            "  <entry>",
            f"    <id>http://arxiv.org/abs/{e.id}</id>",
            f"    <updated>{_ts(e.updated)}</updated>",
            f"    <published>{_ts(e.published)}</published>",
            f"    <title>{escape(e.title)}</title>",
            f"    <summary>{escape(e.summary)}\n</summary>",
            *[f"    <author><name>{escape(a)}</name></author>" for a in e.authors],
            f'    <link href="http://arxiv.org/abs/{e.id}" rel="alternate" type="text/html"/>',
            f'    <link title="pdf" href="http://arxiv.org/pdf/{e.id}" rel="related" type="application/pdf"/>',
            f'    <arxiv:primary_category term="{e.categories[0]}" scheme="http://arxiv.org/schemas/atom"/>',
            *[f'    <category term="{c}" scheme="http://arxiv.org/schemas/atom"/>' for c in e.categories],
            "  </entry>",
        ]
    parts.append("</feed>")
    return "\n".join(parts) + "\n"


_RANGE = re.compile(r"lastUpdatedDate:\[(\d{12}) TO (\d{12})\]")
_CAT = re.compile(r"cat:([A-Za-z\-]+(?:\.[A-Za-z\-]+)?)")


@dataclass
class FakeArxiv:
    entries: list[Entry] = field(default_factory=list)
    now: datetime | None = None  # the clock for announce_at; None shows everything
    fail_next: list[int] = field(default_factory=list)  # statuses to answer the next requests with
    requests: list[dict[str, str]] = field(default_factory=list)
    fulltext: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # "/html/<id>" -> (type, body)
    fulltext_requests: list[str] = field(default_factory=list)  # paths asked for, in order
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, *entries: Entry) -> None:
        self.entries.extend(entries)

    def replace_entry(self, entry: Entry) -> None:
        """A new version replaces the old one in the API's answers, as on arXiv."""
        base = entry.id.rsplit("v", 1)[0]
        self.entries = [e for e in self.entries if e.id.rsplit("v", 1)[0] != base] + [entry]

    def visible(self) -> list[Entry]:
        """What the API shows now: per paper, its newest announced version only (as arXiv does)."""
        shown: dict[str, Entry] = {}
        for e in self.entries:
            if self.now is not None and e.announce_at is not None and e.announce_at > self.now:
                continue
            base, version = e.id.rsplit("v", 1)
            kept = shown.get(base)
            if kept is None or int(kept.id.rsplit("v", 1)[1]) < int(version):
                shown[base] = e
        return list(shown.values())

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/query", self._query)
        app.router.add_get("/html/{id}", self._fulltext)
        app.router.add_get("/pdf/{id}", self._fulltext)
        return app

    async def _fulltext(self, request: web.Request) -> web.Response:
        with self._lock:
            self.fulltext_requests.append(request.path)
        found = self.fulltext.get(request.path)
        if found is None:
            return web.Response(status=404, text="not found")
        content_type, body = found
        return web.Response(body=body, content_type=content_type)

    async def _query(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        with self._lock:
            self.requests.append(params)
            failure = self.fail_next.pop(0) if self.fail_next else None
        if failure:
            headers = {"Retry-After": "0"} if failure in (429, 503) else {}
            return web.Response(status=failure, text="Rate exceeded.", headers=headers)
        query = params.get("search_query", "")
        try:
            start = int(params.get("start", "0"))
            max_results = int(params.get("max_results", "10"))
        except ValueError:
            return web.Response(status=400, text="start and max_results must be integers")
        if max_results > 2000 or start < 0:
            return web.Response(status=400, text="max_results may not exceed 2000")
        cats = set(_CAT.findall(query))
        matched = [e for e in self.visible() if not cats or cats.intersection(e.categories)]
        date_range = _RANGE.search(query)
        if date_range:
            low = datetime.strptime(date_range.group(1), "%Y%m%d%H%M").replace(tzinfo=UTC)
            high = datetime.strptime(date_range.group(2), "%Y%m%d%H%M").replace(tzinfo=UTC)
            # arXiv compares at minute precision, both ends inclusive
            matched = [e for e in matched if low <= e.updated.replace(second=0, microsecond=0) <= high]
        key = "published" if params.get("sortBy") == "submittedDate" else "updated"
        matched.sort(key=lambda e: getattr(e, key), reverse=params.get("sortOrder") != "ascending")
        page = matched[start : start + max_results]
        return web.Response(
            text=render_feed(page, len(matched), start), content_type="application/atom+xml", charset="utf-8"
        )


def entry(
    arxiv_id: str,
    updated: datetime,
    categories: tuple[str, ...] = ("cs.SD",),
    announce_at: datetime | None = None,
    published: datetime | None = None,
    title: str | None = None,
) -> Entry:
    return Entry(
        id=arxiv_id,
        title=title or f"Paper {arxiv_id}",
        authors=("A. Author", "B. Author"),
        categories=categories,
        published=published or updated,
        updated=updated,
        summary=f"We study problem {arxiv_id} and improve the score by 12.5% over 3 baselines.",
        announce_at=announce_at,
    )


__all__ = ["Entry", "FakeArxiv", "entry", "parse_atom", "render_feed", "replace"]

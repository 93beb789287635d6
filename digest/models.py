"""Plain values that cross layers: papers, summaries, digests."""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from datetime import date, datetime

_VERSION_RE = re.compile(r"v(\d+)$")


def split_version(arxiv_id: str) -> tuple[str, int]:
    """'2602.15766v2' -> ('2602.15766', 2); an id without a version counts as v1."""
    match = _VERSION_RE.search(arxiv_id)
    if not match:
        return arxiv_id, 1
    return arxiv_id[: match.start()], int(match.group(1))


def id_sort_key(base_id: str) -> tuple[int, str, int]:
    """Sort key that orders arXiv ids by age: new-style ids (YYMM.NNNNN) after old-style ones."""
    match = re.fullmatch(r"(\d{4})\.(\d{4,5})", base_id)
    if match:
        return (1, match.group(1), int(match.group(2)))
    # old style: archive/YYMMNNN; YY 91..99 are the 1990s
    tail = base_id.rsplit("/", 1)[-1]
    yy = int(tail[:2]) if tail[:2].isdigit() else 0
    century = "19" if yy >= 91 else "20"
    return (0, century + tail[:4], int(tail[4:] or 0) if tail[4:].isdigit() else 0)


@dataclass(frozen=True)
class Paper:
    """One arXiv paper at one version, as the API reported it."""

    base_id: str  # without version, e.g. "2602.15766"
    version: int
    title: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]  # primary category first
    published: datetime  # first version's submission time (UTC)
    updated: datetime  # this version's timestamp (UTC); the window is matched against it
    abstract: str

    @property
    def versioned_id(self) -> str:
        return f"{self.base_id}v{self.version}"

    @property
    def primary_category(self) -> str:
        return self.categories[0] if self.categories else ""

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.versioned_id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.versioned_id}"

    @property
    def is_replacement(self) -> bool:
        return self.version > 1


SUMMARY_FIELDS = ("translation", "background", "method", "results")


@dataclass(frozen=True)
class Summary:
    """The LLM's texts for one paper version (Markdown each)."""

    translation: str
    background: str
    method: str
    results: str
    # Numbers the LLM kept writing that occur nowhere in the text it was given (see digest/numbers.py).
    unverified: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[str, str, str, str]:
        return (self.translation, self.background, self.method, self.results)

    @property
    def has_breakdown(self) -> bool:
        return bool(self.background or self.method or self.results)


@dataclass(frozen=True)
class SummaryRecord:
    """A stored summary attempt: the texts when it worked, the reason when it did not."""

    paper_id: str  # versioned id
    status: str  # "ok" | "failed" | "unverified"
    summary: Summary | None
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    source: str = "abstract"  # what the breakdown was read from: html | pdf | abstract


@dataclass(frozen=True)
class DigestItem:
    paper: Paper
    summary: Summary | None  # None: no LLM text (failed or no LLM configured); show the abstract


@dataclass(frozen=True)
class Window:
    """[start, end) in UTC, plus how to present it in the configured timezone."""

    date: date
    start: datetime
    end: datetime
    timezone: str
    anchor: str  # "HH:MM"

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def category_key(categories: tuple[str, ...] | list[str]) -> str:
    """Order-independent key of a category set, e.g. 'cs.SD,eess.AS'."""
    return ",".join(sorted(set(categories)))


@dataclass(frozen=True)
class Digest:
    """One day's digest for one category set, as stored."""

    key: str  # "<date>|<category key>"
    date: date
    categories: tuple[str, ...]  # in the order they were asked for (the archive's tags use it)
    window: Window
    fetched: int  # papers the window's fetch returned before dedup/filters (the header's first count)
    items: tuple[DigestItem, ...] = field(default_factory=tuple)
    language: str = "zh"

    @property
    def shown(self) -> int:
        return len(self.items)

    @staticmethod
    def make_key(day: _dt.date, categories: tuple[str, ...] | list[str]) -> str:
        return f"{day.isoformat()}|{category_key(categories)}"


@dataclass(frozen=True)
class FullText:
    """A paper's text as the breakdown reads it, split into its own top-level sections.

    source says where it came from ("html", "pdf" or "abstract"); each section is (title, text), in the
    paper's order, with subsection headings kept inside the text as "### " lines.
    """

    source: str
    sections: tuple[tuple[str, str], ...]

    @property
    def chars(self) -> int:
        return sum(len(title) + len(text) for title, text in self.sections)

    def as_markdown(self) -> str:
        return "\n\n".join(f"## {title}\n\n{text}".rstrip() for title, text in self.sections)

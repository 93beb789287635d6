"""The Jekyll post, byte for byte in the format of the seed digest (tests/fixtures/arxiv-daily-2026-02-18.md).

Every text from arXiv or the LLM goes through digest/kramdown_escape.py, which leaves the seed's texts
as they are and makes hostile ones show as written (see there for the rules)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from digest.kramdown_escape import breakdown_markdown, link_url, plain_block, plain_line
from digest.models import Digest, DigestItem

# Chinese names for the zones a zh reader is likely to configure; others show their IANA name.
_ZH_ZONE_NAMES = {
    "Asia/Shanghai": "北京时间",
    "Asia/Chongqing": "北京时间",
    "Asia/Harbin": "北京时间",
    "Asia/Hong_Kong": "香港时间",
    "Asia/Macau": "澳门时间",
    "Asia/Taipei": "台北时间",
    "Asia/Singapore": "新加坡时间",
    "Asia/Tokyo": "东京时间",
    "UTC": "协调世界时",
}


@dataclass(frozen=True)
class _Texts:
    intro: str
    window: str
    counts: str
    details: str
    empty: str


_TEXTS = {
    "zh": _Texts(
        intro="以下为 {date}（{abbr}，{zone}）窗口内更新的论文中文译文：",
        window="- 时间窗口（锚点 {anchor} {abbr}）：{start} — {end}",
        counts="- 抓取总数：{fetched} 篇 | 本页显示：{shown} 篇（去重/过滤后）",
        details="详细解读",
        empty="本窗口内没有新论文（周末或节假日 arXiv 不发布新论文）。",
    ),
    "en": _Texts(
        intro="Papers updated in the {date} window ({abbr}, {zone}), with English summaries:",
        window="- Window (anchor {anchor} {abbr}): {start} — {end}",
        counts="- Fetched: {fetched} | Shown: {shown} (after dedup/filter)",
        details="Detailed breakdown",
        empty="No new papers in this window (arXiv does not announce on weekends and holidays).",
    ),
}


def zone_labels(timezone: str, moment: datetime, language: str) -> tuple[str, str]:
    """('CST', '北京时间') for Asia/Shanghai in zh; the abbreviation is taken at the window's end."""
    local = moment.astimezone(ZoneInfo(timezone))
    abbr = local.tzname() or timezone
    name = _ZH_ZONE_NAMES.get(timezone, timezone) if language == "zh" else timezone
    return abbr, name


def header_lines(digest: Digest) -> list[str]:
    """The statistics block every platform shows: date, window, fetched and shown counts."""
    texts = _TEXTS[digest.language]
    zone = ZoneInfo(digest.window.timezone)
    abbr, name = zone_labels(digest.window.timezone, digest.window.end, digest.language)
    fmt = "%Y-%m-%d %H:%M"
    return [
        texts.intro.format(date=digest.date.isoformat(), abbr=abbr, zone=name),
        texts.window.format(
            anchor=digest.window.anchor,
            abbr=abbr,
            start=digest.window.start.astimezone(zone).strftime(fmt),
            end=digest.window.end.astimezone(zone).strftime(fmt),
        ),
        texts.counts.format(fetched=digest.fetched, shown=digest.shown),
    ]


def empty_notice(language: str) -> str:
    return _TEXTS[language].empty


def details_label(language: str) -> str:
    return _TEXTS[language].details


def render_post(digest: Digest) -> str:
    front_matter = [
        "---",
        "layout: post",
        f'title: "arXiv Daily – {digest.date.isoformat()}"',
        f"tags: [arxiv, {', '.join(digest.categories)}]",
        "---",
        "",
    ]
    out = "\n".join([*front_matter, *header_lines(digest)]) + "\n\n"
    if not digest.items:
        return out + empty_notice(digest.language) + "\n"
    return out + "\n".join(_render_item(item, digest.language) for item in digest.items)


def _link(url: str) -> str:
    safe = link_url(url)
    return f"[{safe}]({safe})" if safe else plain_line(url)


def _render_item(item: DigestItem, language: str) -> str:
    paper = item.paper
    lines = [
        f"## {plain_line(paper.title)}",
        f"- **Authors**: {', '.join(plain_line(name) for name in paper.authors)}",
        f"- **Categories**: {', '.join(plain_line(c) for c in paper.categories)}",
        f"- **arXiv**: {_link(paper.abs_url)}",
        f"- **PDF**: {_link(paper.pdf_url)}",
        "",
    ]
    summary = item.summary
    # Without an LLM text the original abstract stands in, and there is no breakdown to show.
    lines += [plain_block(summary.translation if summary else paper.abstract), ""]
    if summary and summary.has_breakdown:
        lines += [
            "<details>",
            f"<summary>{details_label(language)}</summary>",
            "",
            '<div markdown="1">',
            "",
            "1)  ",
            breakdown_markdown(summary.background),
            "",
            "2)  ",
            breakdown_markdown(summary.method),
            "",
            "3)  ",
            breakdown_markdown(summary.results),
            "</div>",
            "",
            "</details>",
            "",
        ]
    lines += ["---", ""]
    return "\n".join(lines)

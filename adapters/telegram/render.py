"""Digest / Paper / Summary -> Telegram HTML strings and button specs. Pure functions, no I/O.

Every text that comes from arXiv or the LLM is escaped (html.escape, or markdown_to_html which escapes
everything it writes). Every message is at most MAX_MESSAGE characters of HTML, counted in UTF-16 code
units the way Telegram counts. The raw HTML is measured, which is stricter than Telegram (it counts the
text after parsing), so a message that passes here always passes there.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from html import escape
from zoneinfo import ZoneInfo

from adapters.telegram.buttons import HIDE, SHOW, callback_data
from adapters.telegram.markdown_html import markdown_to_html
from digest.models import Digest, DigestItem, Paper, Summary

log = logging.getLogger(__name__)

MAX_MESSAGE = 4096
MAX_TITLE = 400  # characters of a title shown on a card
MAX_AUTHORS_LINE = 300
SHOWN_AUTHORS = 6  # above this many authors: the first ones, an ellipsis, the last one

_LABELS = {
    "zh": {
        "title": "arXiv Daily – {date}",
        "window": "时间窗口（锚点 {anchor} {tz}）：{start} — {end}",
        "counts": "抓取总数：{fetched} 篇 | 本页显示：{shown} 篇（去重/过滤后）",
        "empty": "本窗口内没有新论文。",
        "authors_more": "等 {n} 位作者",
        "breakdown": "📖 详细解读",
        "collapse": "🔼 收起",
        "sections": ("背景", "方法", "结果"),
        "no_breakdown": "这篇论文暂无详细解读。",
        "continued": "（续）",
    },
    "en": {
        "title": "arXiv Daily – {date}",
        "window": "Window (anchor {anchor} {tz}): {start} — {end}",
        "counts": "Fetched: {fetched} | Shown: {shown} (after dedup/filters)",
        "empty": "No new papers in this window.",
        "authors_more": "{n} authors in all",
        "breakdown": "📖 Detailed breakdown",
        "collapse": "🔼 Collapse",
        "sections": ("Background", "Method", "Results"),
        "no_breakdown": "No detailed breakdown for this paper yet.",
        "continued": "(continued)",
    },
}


def labels(language: str) -> dict:
    return _LABELS.get(language, _LABELS["en"])


@dataclass(frozen=True)
class Button:
    text: str
    callback_data: str | None = None
    url: str | None = None


# Bidirectional overrides and isolates: text from outside could use them to make a line read backwards
# (a URL or a name shown reversed). The zero-width joiner and non-joiner stay: emoji and scripts such as
# Persian and the Indic ones need them.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def strip_bidi(text: str) -> str:
    return _BIDI.sub("", text)


@dataclass(frozen=True)
class Message:
    """One Telegram message: HTML text (parse_mode=HTML) and rows of inline buttons. Every message is
    built here, so this is where bidi overrides are taken out, whatever text they came with."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", strip_bidi(self.text))
        rows = tuple(tuple(replace(b, text=strip_bidi(b.text)) for b in row) for row in self.buttons)
        object.__setattr__(self, "buttons", rows)


def tg_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _plain(text: str) -> str:
    """Collapse arXiv's hard-wrapped whitespace into single spaces."""
    return re.sub(r"\s+", " ", text or "").strip()


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def cut_plain(text: str, limit: int = MAX_MESSAGE) -> str:
    """A plain-text reply cut to fit one message (an over-long command's echo, an error listing)."""
    if tg_len(text) <= limit:
        return text
    while tg_len(text) > limit - 1:
        text = text[: max(0, len(text) - max(1, (tg_len(text) - limit + 1)))]
    return text.rstrip() + "…"


def fit(render: Callable[[str], str], text: str, limit: int = MAX_MESSAGE) -> str:
    """render(text) if it fits in `limit`; else render() of the longest prefix of text (plus '…') that
    does. Only a rendered result that was measured is ever returned."""
    whole = render(text)
    if tg_len(whole) <= limit:
        return whole
    best = render("…")
    if tg_len(best) > limit:
        raise ValueError("the fixed part of this message alone is too long")
    low, high = 0, len(text)
    while low < high:  # largest k whose rendering fits
        mid = (low + high + 1) // 2
        candidate = render(text[:mid].rstrip() + "…")
        if tg_len(candidate) <= limit:
            low, best = mid, candidate
        else:
            high = mid - 1
    return best


# -- header -----------------------------------------------------------------------------------


def render_header(digest: Digest) -> Message:
    """The seed's statistics: date, categories, window (in the configured timezone), fetched and shown."""
    words = labels(digest.language)
    window = digest.window
    zone = ZoneInfo(window.timezone)
    start, end = window.start.astimezone(zone), window.end.astimezone(zone)
    lines = [
        f"<b>{escape(words['title'].format(date=digest.date.isoformat()))}</b>",
        escape(_clip(" · ".join(digest.categories), 1000)),
        escape(
            words["window"].format(
                anchor=window.anchor,
                tz=end.tzname() or window.timezone,
                start=start.strftime("%Y-%m-%d %H:%M"),
                end=end.strftime("%Y-%m-%d %H:%M"),
            )
        ),
        escape(words["counts"].format(fetched=digest.fetched, shown=digest.shown)),
    ]
    if not digest.items:
        lines += ["", escape(words["empty"])]
    return Message("\n".join(lines))


# -- cards ------------------------------------------------------------------------------------


def short_authors(authors: tuple[str, ...] | list[str], language: str = "en") -> str:
    names = [_plain(a) for a in authors if _plain(a)]
    if len(names) > SHOWN_AUTHORS:
        shown = [*names[: SHOWN_AUTHORS - 1], "…", names[-1]]
        text = ", ".join(shown) + " (" + labels(language)["authors_more"].format(n=len(names)) + ")"
    else:
        text = ", ".join(names)
    return _clip(text, MAX_AUTHORS_LINE)


def _card_head(paper: Paper, language: str) -> str:
    title = escape(_clip(_plain(paper.title), MAX_TITLE), quote=False)
    meta = escape(" · ".join(paper.categories), quote=False)
    lines = [f'<b><a href="{escape(paper.abs_url)}">{title}</a></b>']
    authors = short_authors(paper.authors, language)
    if authors:
        lines.append(f"<i>{escape(authors, quote=False)}</i>")
    lines.append(
        f'{meta} · <a href="{escape(paper.pdf_url)}">PDF</a> · <code>{escape(paper.versioned_id)}</code>'
    )
    return "\n".join(lines)


def _card_body(item: DigestItem) -> tuple[str, Callable[[str], str]]:
    """The card's text (Markdown translation, else the plain abstract) and how to render a prefix of it."""
    if item.summary and item.summary.translation.strip():
        return item.summary.translation, markdown_to_html
    return _plain(item.paper.abstract), lambda text: escape(text, quote=False)


def card_buttons(item: DigestItem, language: str, expanded: bool = False) -> tuple[tuple[Button, ...], ...]:
    if not (item.summary and item.summary.has_breakdown):
        return ()
    words = labels(language)
    if expanded:
        return ((Button(words["collapse"], callback_data=callback_data(HIDE, item.paper.versioned_id)),),)
    return ((Button(words["breakdown"], callback_data=callback_data(SHOW, item.paper.versioned_id)),),)


def render_card(item: DigestItem, language: str) -> Message:
    head = _card_head(item.paper, language)
    body, to_html = _card_body(item)
    text = fit(lambda part: f"{head}\n\n{to_html(part)}" if part else head, body)
    return Message(text, card_buttons(item, language))


def render_minimal_card(paper: Paper) -> Message:
    """A card that always renders: the title linked to arXiv. For a paper whose full card cannot be
    made (an id no button accepts, a head too long to fit), so one bad paper never stops a push."""
    title = escape(_clip(_plain(paper.title), MAX_TITLE), quote=False) or escape(paper.versioned_id)
    return Message(f'<b><a href="{escape(paper.abs_url)}">{title}</a></b>')


def render_card_or_minimal(item: DigestItem, language: str) -> Message:
    try:
        return render_card(item, language)
    except ValueError:
        log.warning("paper %s: its card cannot be rendered; sending title and link only", item.paper.base_id)
        return render_minimal_card(item.paper)


def render_digest(digest: Digest) -> list[tuple[str, Message]]:
    """The whole push for one chat, as (part, message): the delivery log's part names."""
    parts = [("header", render_header(digest))]
    parts += [(item.paper.base_id, render_card_or_minimal(item, digest.language)) for item in digest.items]
    return parts


def has_translation(item: DigestItem) -> bool:
    """Whether the item's card shows the translation (else the original abstract, healed later)."""
    return bool(item.summary and item.summary.translation.strip())


# -- the detailed breakdown -------------------------------------------------------------------


def _sections(summary: Summary, language: str) -> list[tuple[str, str]]:
    names = labels(language)["sections"]
    texts = (summary.background, summary.method, summary.results)
    return [(name, text) for name, text in zip(names, texts, strict=True) if text and text.strip()]


def _breakdown_html(summary: Summary, language: str) -> str:
    return "\n\n".join(
        f"<b>{escape(name)}</b>\n{markdown_to_html(text)}" for name, text in _sections(summary, language)
    )


def render_expanded_card(item: DigestItem, language: str) -> Message | None:
    """The card with its breakdown in an expandable quote and a collapse button; None if that would not
    fit in one message (then the breakdown goes out as a reply instead)."""
    if not (item.summary and item.summary.has_breakdown):
        return None
    card = render_card(item, language).text
    text = f"{card}\n\n<blockquote expandable>{_breakdown_html(item.summary, language)}</blockquote>"
    if tg_len(text) > MAX_MESSAGE:
        return None
    return Message(text, card_buttons(item, language, expanded=True))


def render_breakdown_messages(paper: Paper, summary: Summary | None, language: str) -> list[Message]:
    """The breakdown on its own (a reply, or the reader's private chat): a title line, then the sections;
    one message when it fits, else one per section, each clipped to fit."""
    words = labels(language)
    title = f'<b><a href="{escape(paper.abs_url)}">{escape(_clip(_plain(paper.title), MAX_TITLE), quote=False)}</a></b>'
    if summary is None or not summary.has_breakdown:
        return [Message(f"{title}\n\n{escape(words['no_breakdown'])}")]
    whole = f"{title}\n\n{_breakdown_html(summary, language)}"
    if tg_len(whole) <= MAX_MESSAGE:
        return [Message(whole)]
    messages = []
    for index, (name, text) in enumerate(_sections(summary, language)):
        lead = title if index == 0 else f"{title} {escape(words['continued'])}"

        def render(part: str, lead: str = lead, name: str = name) -> str:
            return f"{lead}\n\n<b>{escape(name)}</b>\n{markdown_to_html(part)}"

        messages.append(Message(fit(render, text)))
    return messages

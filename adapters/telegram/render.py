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

from adapters.telegram.buttons import ASK, HIDE, RATE_DOWN, RATE_UP, SHOW, callback_data, deep_link
from adapters.telegram.markdown_html import markdown_to_html
from digest.models import Digest, DigestItem, Paper, Summary
from digest.ranking import ChatDigest, Ranked, why_line

log = logging.getLogger(__name__)

MAX_MESSAGE = 4096
MAX_TITLE = 400  # characters of a title shown on a card
MAX_AUTHORS_LINE = 300
MAX_WHY_LINE = 300
MAX_OVERVIEW_TITLE = 150  # characters of a title in the overview: long enough to recognise the paper
# Telegram applies only the first 100 entities of a message (the rest show as plain text) and refuses
# a message whose entities' total size is past about 9500 characters ("Entities_too_long", counted on
# the raw text with its URLs). Two links a paper and a bold lead: 45 papers, and the raw HTML is capped.
MAX_OVERVIEW_ITEMS = 45
MAX_OVERVIEW_HTML = 9000
WHY_MARK = "💡 "
SHOWN_AUTHORS = 6  # above this many authors: the first ones, an ellipsis, the last one

_LABELS = {
    "zh": {
        "title": "arXiv Daily – {date}",
        "window": "时间窗口（锚点 {anchor} {tz}）：{start} — {end}",
        "counts": "抓取总数：{fetched} 篇 | 本页显示：{shown} 篇（去重/过滤后）",
        "empty": "本窗口内没有新论文。",
        "all_muted": "本窗口的 {n} 篇论文都含有本聊天屏蔽的词（/interests 可查看）。",
        "authors_more": "等 {n} 位作者",
        "breakdown": "📖 详细解读",
        "collapse": "🔼 收起",
        "ask": "💬 提问",
        "sections": ("背景", "方法", "结果"),
        "no_breakdown": "这篇论文暂无详细解读。",
        "continued": "（续）",
        "overview": "其余 {n} 篇（📖 查看解读）：",
        "overview_ranked": "其余 {n} 篇，按与本聊天的相关度排序（📖 查看解读）：",
        "overview_more": "其余论文（续）：",
    },
    "en": {
        "title": "arXiv Daily – {date}",
        "window": "Window (anchor {anchor} {tz}): {start} — {end}",
        "counts": "Fetched: {fetched} | Shown: {shown} (after dedup/filters)",
        "empty": "No new papers in this window.",
        "all_muted": "All {n} papers of this window mention a word this chat mutes (see /interests).",
        "authors_more": "{n} authors in all",
        "breakdown": "📖 Detailed breakdown",
        "collapse": "🔼 Collapse",
        "ask": "💬 Ask",
        "sections": ("Background", "Method", "Results"),
        "no_breakdown": "No detailed breakdown for this paper yet.",
        "continued": "(continued)",
        "overview": "{n} more papers (📖: the breakdown):",
        "overview_ranked": "{n} more papers, ranked for this chat (📖: the breakdown):",
        "overview_more": "More papers (continued):",
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


def render_header(digest: Digest, muted: int = 0) -> Message:
    """The seed's statistics: date, categories, window (in the configured timezone), fetched and shown
    (after the chat's mutes, of which there were `muted`)."""
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
        lines += ["", escape(words["all_muted"].format(n=muted) if muted else words["empty"])]
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
    """One row: the breakdown (when there is one) first, then 👍, 👎 and 💬 Ask, which every card has."""
    words = labels(language)
    paper_id = item.paper.versioned_id
    row = []
    if item.summary and item.summary.has_breakdown:
        if expanded:
            row.append(Button(words["collapse"], callback_data=callback_data(HIDE, paper_id)))
        else:
            row.append(Button(words["breakdown"], callback_data=callback_data(SHOW, paper_id)))
    row.append(Button("👍", callback_data=callback_data(RATE_UP, paper_id)))
    row.append(Button("👎", callback_data=callback_data(RATE_DOWN, paper_id)))
    row.append(Button(words["ask"], callback_data=callback_data(ASK, paper_id)))
    return (tuple(row),)


def render_card(item: DigestItem, language: str, why: str = "") -> Message:
    """A card; `why` (plain text) says why it ranks where it does for the chat, under the head."""
    head = _card_head(item.paper, language)
    if why:
        head += f"\n<i>{escape(WHY_MARK + _clip(_plain(why), MAX_WHY_LINE), quote=False)}</i>"
    body, to_html = _card_body(item)
    text = fit(lambda part: f"{head}\n\n{to_html(part)}" if part else head, body)
    return Message(text, card_buttons(item, language))


def render_minimal_card(paper: Paper) -> Message:
    """A card that always renders: the title linked to arXiv. For a paper whose full card cannot be
    made (an id no button accepts, a head too long to fit), so one bad paper never stops a push."""
    title = escape(_clip(_plain(paper.title), MAX_TITLE), quote=False) or escape(paper.versioned_id)
    return Message(f'<b><a href="{escape(paper.abs_url)}">{title}</a></b>')


def render_card_or_minimal(item: DigestItem, language: str, why: str = "") -> Message:
    try:
        return render_card(item, language, why)
    except ValueError:
        log.warning("paper %s: its card cannot be rendered; sending title and link only", item.paper.base_id)
        return render_minimal_card(item.paper)


def why_of_card(plain_text: str) -> str:
    """The why-line of a card as Telegram returns its text (plain), so that expanding or collapsing the
    card keeps it; '' when the card has none."""
    for line in plain_text.split("\n")[:6]:
        if line.startswith(WHY_MARK):
            return line[len(WHY_MARK) :]
    return ""


def render_digest(digest: Digest) -> list[tuple[str, Message]]:
    """The digest as built, every paper a card (a chat without interests, within its card count)."""
    parts = [("header", render_header(digest))]
    parts += [(item.paper.base_id, render_card_or_minimal(item, digest.language)) for item in digest.items]
    return parts


def has_translation(item: DigestItem) -> bool:
    """Whether the item's card shows the translation (else the original abstract, healed later)."""
    return bool(item.summary and item.summary.translation.strip())


def render_chat_digest(chat: ChatDigest, bot_username: str) -> list[tuple[str, Message]]:
    """The whole push for one chat, as (part, message), the parts being the delivery log's names: the
    header (the chat's own counts), its cards in rank order, then the overview of the rest."""
    digest = chat.digest
    language = digest.language
    parts = [("header", render_header(digest, chat.muted))]
    for entry in chat.cards:
        why = why_line(entry.why, language) if chat.personalised else ""
        parts.append((entry.paper.base_id, render_card_or_minimal(entry.item, language, why)))
    overview = render_overview(
        chat.overview, len(chat.cards) + 1, language, bot_username, ranked=chat.personalised
    )
    parts += [(f"overview:{n}", message) for n, message in enumerate(overview, start=1)]
    return parts


def _overview_line(number: int, paper: Paper, bot_username: str) -> tuple[str, str]:
    """(HTML, the text Telegram counts) of one overview item: its number, title linked to arXiv, and a
    link that opens the breakdown in the reader's private chat with the bot."""
    title = _clip(_plain(paper.title), MAX_OVERVIEW_TITLE) or paper.versioned_id
    html = f'{number}. <a href="{escape(paper.abs_url)}">{escape(title, quote=False)}</a>'
    try:
        link = deep_link(bot_username, paper.versioned_id)
    except ValueError:  # an id no /start payload can carry: the title link alone, not a failed push
        log.warning("telegram: no breakdown link for %r in the overview", paper.versioned_id)
        return html, f"{number}. {title}"
    return f'{html} <a href="{escape(link)}">📖</a>', f"{number}. {title} 📖"


def render_overview(
    entries: tuple[Ranked, ...] | list[Ranked],
    first_number: int,
    language: str,
    bot_username: str,
    ranked: bool = False,
) -> list[Message]:
    """The papers past the cards as numbered title links, ranked, packed into as few messages as
    Telegram's 4096 characters (as it counts them, after parsing) and MAX_OVERVIEW_ITEMS allow."""
    if not entries:
        return []
    words = labels(language)
    messages: list[Message] = []
    lead = words["overview_ranked" if ranked else "overview"].format(n=len(entries))
    html_lines, visible = [f"<b>{escape(lead)}</b>"], tg_len(lead)
    raw, items = len(html_lines[0]), 0
    for number, entry in enumerate(entries, start=first_number):
        html, text = _overview_line(number, entry.paper, bot_username)
        size = tg_len(text) + 1  # and its line break
        full = (
            visible + size > MAX_MESSAGE
            or items >= MAX_OVERVIEW_ITEMS
            or raw + len(html) + 1 > MAX_OVERVIEW_HTML
        )
        if items and full:
            messages.append(Message("\n".join(html_lines)))
            lead = words["overview_more"]
            html_lines, visible, items = [f"<b>{escape(lead)}</b>"], tg_len(lead), 0
            raw = len(html_lines[0])
        html_lines.append(html)
        visible += size
        raw += len(html) + 1
        items += 1
    messages.append(Message("\n".join(html_lines)))
    return messages


# -- the detailed breakdown -------------------------------------------------------------------


def _sections(summary: Summary, language: str) -> list[tuple[str, str]]:
    names = labels(language)["sections"]
    texts = (summary.background, summary.method, summary.results)
    return [(name, text) for name, text in zip(names, texts, strict=True) if text and text.strip()]


def _breakdown_html(summary: Summary, language: str) -> str:
    return "\n\n".join(
        f"<b>{escape(name)}</b>\n{markdown_to_html(text)}" for name, text in _sections(summary, language)
    )


def render_expanded_card(item: DigestItem, language: str, why: str = "") -> Message | None:
    """The card with its breakdown in an expandable quote and a collapse button; None if that would not
    fit in one message (then the breakdown goes out as a reply instead)."""
    if not (item.summary and item.summary.has_breakdown):
        return None
    card = render_card(item, language, why).text
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

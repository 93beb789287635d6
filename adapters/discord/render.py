"""Digest -> Discord embeds. Pure functions: no client, no I/O, so they are tested on hostile input.

Discord rejects a message outright when one limit is broken, so every text is cut to its field's limit
here (at a sentence, with an ellipsis) and embeds are packed into messages by count and total size.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import discord

from digest.markdown import empty_notice, header_lines
from digest.models import Digest, DigestItem, Paper, Summary
from digest.ranking import ChatDigest, Ranked, why_line

log = logging.getLogger(__name__)

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
AUTHOR_MAX = 256
EMBEDS_PER_MESSAGE = 10
CHARS_PER_MESSAGE = 6000
BUTTONS_PER_MESSAGE = 25
ROWS_PER_MESSAGE = 5  # action rows: each overview select menu takes one
OPTIONS_PER_SELECT = 25
OPTION_LABEL_MAX = 100
CUSTOM_ID_MAX = 100
OVERVIEW_TITLE_MAX = 120  # characters of a title in the overview list

# A card's abstract is kept shorter than the description limit so that several cards share a message.
ABSTRACT_BUDGET = 1800
ELLIPSIS = "…"
COLOR = 0xB31B1B  # arXiv red

# custom_id of the breakdown button; the paper id is a versioned arXiv id, new (2602.15766v1) or
# old style (hep-th/9901001v2). The prefix keeps other bots' or forged ids apart.
BREAKDOWN_PREFIX = "arxiv-digest:bd:"
BREAKDOWN_TEMPLATE = r"arxiv-digest:bd:(?P<paper_id>[A-Za-z0-9./-]{1,80})"
# The Ask button (opens a modal with one question field) and that modal.
ASK_PREFIX = "arxiv-digest:ask:"
ASK_TEMPLATE = r"arxiv-digest:ask:(?P<paper_id>[A-Za-z0-9./-]{1,80})"
ASK_MODAL_PREFIX = "arxiv-digest:askq:"
# 👍 / 👎 on a card: the vote and the paper are in the id, so presses work on any card ever posted.
RATE_PREFIX = "arxiv-digest:rate:"
RATE_TEMPLATE = r"arxiv-digest:rate:(?P<vote>up|down):(?P<paper_id>[A-Za-z0-9./-]{1,80})"
# The overview's select menus: the chosen option's value is the paper; the number keeps ids unique.
PICK_PREFIX = "arxiv-digest:pick:"
PICK_TEMPLATE = r"arxiv-digest:pick:(?P<first>\d{1,5})"
PAPER_ID = re.compile(r"[A-Za-z0-9./-]{1,80}v\d{1,3}")

_LABELS = {
    "zh": {
        "authors": "作者",
        "categories": "分类",
        "pdf": "PDF",
        "button": "详细解读",
        "ask": "提问",
        "background": "1) 研究背景与问题",
        "method": "2) 方法",
        "results": "3) 结果",
        "abstract": "摘要",
        "no_breakdown": "这篇论文还没有详细解读，以下为摘要。",
        "more_authors": "等 {n} 人",
        "title": "arXiv Daily – {date}",
        "why": "为何排在这里",
        "all_muted": "本窗口的 {n} 篇论文都含有本频道屏蔽的词（`/digest interests` 可查看）。",
        "overview": "其余 {n} 篇",
        "overview_ranked": "其余 {n} 篇（按与本频道的相关度排序）",
        "overview_more": "其余论文（续）",
        "pick": "查看第 {first}–{last} 篇的详细解读…",
        "shortened": "（为适应 Discord 的篇幅已截短；原文见标题链接）",
    },
    "en": {
        "authors": "Authors",
        "categories": "Categories",
        "pdf": "PDF",
        "button": "Detailed breakdown",
        "ask": "Ask",
        "background": "1) Background and problem",
        "method": "2) Method",
        "results": "3) Results",
        "abstract": "Abstract",
        "no_breakdown": "This paper has no detailed breakdown yet; here is its abstract.",
        "more_authors": "and {n} more",
        "title": "arXiv Daily – {date}",
        "why": "Why here",
        "all_muted": "All {n} papers of this window mention a word this channel mutes (see `/digest interests`).",
        "overview": "{n} more papers",
        "overview_ranked": "{n} more papers, ranked for this channel",
        "overview_more": "More papers (continued)",
        "pick": "Breakdown of paper {first}–{last}…",
        "shortened": "(shortened to fit Discord; the full abstract is at the title's link)",
    },
}


def labels(language: str) -> dict[str, str]:
    return _LABELS.get(language, _LABELS["en"])


# -- text ------------------------------------------------------------------------------------------

# Controls, zero-width space, direction marks and bidi overrides/isolates (which can make text read
# backwards). The zero-width joiner and non-joiner (U+200C, U+200D) stay: emoji and scripts such as
# Persian and the Indic ones need them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# A sentence ends at . ! ? (followed by a space or the end) or at CJK full stops; a line break too.
_SENTENCE_END = re.compile(r"(?:[.!?][\"')\]]?(?=\s)|[。！？；][”」』）]?|\n)")


def clean(text: str | None) -> str:
    """Drop control and bidi-override characters, normalise line ends; keep Markdown as it is."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", str(text)).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).strip()


# Discord's masked-link syntax, as its parser (simple-markdown) reads it: one level of brackets in the
# text, balanced parentheses in the target, an optional <...> around it and an optional "title".
_MASKED_LINK = re.compile(
    r"\[((?:\[[^\]\n]*\]|[^\[\]\n]|\](?=[^\[\n]*\])){0,300})\]"
    r"\(\s*<?((?:\([^)\s]*\)|[^\s\\()<>]|\\.){1,2000}?)>?(?:\s+[\"'][^\n]*?[\"'])?\s*\)"
)


def _unmask(match: re.Match[str]) -> str:
    label, url = match[1].strip(), match[2]
    return url if not label or label == url else f"{label} ({url})"


def defuse(text: str) -> str:
    """Text that came from outside (an abstract, or the LLM's Markdown written from one): no pings, and
    no masked links, so a link always shows where it goes (a paper cannot dress a phishing URL up as
    'PDF')."""
    for _ in range(3):  # a link inside a link's text comes out at the next pass
        text, found = _MASKED_LINK.subn(_unmask, text)
        if not found:
            break
    return discord.utils.escape_mentions(text)


def one_line(text: str | None) -> str:
    return re.sub(r"\s+", " ", clean(text)).strip()


def cut(text: str, limit: int) -> str:
    """`text` if it fits, else its longest prefix ending at a sentence (or failing that, a word) that fits
    with an ellipsis appended. Never longer than `limit`."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    room = limit - len(ELLIPSIS)
    if room <= 0:
        return ELLIPSIS[:limit]
    head = text[:room]
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    # Cut at a sentence unless that throws away more than half of what fits.
    if ends and ends[-1] >= room // 2:
        kept = head[: ends[-1]].rstrip()
    else:
        space = max(head.rfind(" "), head.rfind("\n"))
        kept = head[:space].rstrip() if space >= room // 2 else head
    kept = _close_markdown(kept) or head
    return kept + ELLIPSIS


def _close_markdown(text: str) -> str:
    """Drop a dangling bold/code opener left by a cut, so the rest of the message does not turn bold."""
    for marker in ("```", "**", "`"):
        if text.count(marker) % 2:
            text = text[: text.rfind(marker)].rstrip()
    return text


def split(text: str, limit: int) -> list[str]:
    """Split `text` into chunks of at most `limit` characters, at paragraph, line, sentence or word
    boundaries (in that order of preference). Nothing is dropped except whitespace at the seams."""
    text = text.strip()
    chunks: list[str] = []
    while len(text) > limit:
        head = text[:limit]
        at = -1
        for sep in ("\n\n", "\n"):
            pos = head.rfind(sep)
            if pos >= limit // 3:
                at = pos + len(sep)
                break
        if at < 0:
            ends = [m.end() for m in _SENTENCE_END.finditer(head)]
            if ends and ends[-1] >= limit // 3:
                at = ends[-1]
            else:
                space = head.rfind(" ")
                at = space + 1 if space >= limit // 3 else limit
        chunk = text[:at].rstrip()
        if chunk:
            chunks.append(chunk)
        text = text[at:].strip()
    if text:
        chunks.append(text)
    return chunks


def escape(text: str) -> str:
    """Plain text (titles, names) shown in Markdown-rendered places; also defuses mentions."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def join_limited(names: Sequence[str], limit: int, more: str) -> str:
    """'A, B, C' or, when that is too long, 'A, B and N more', within `limit`."""
    full = ", ".join(names)
    if len(full) <= limit:
        return full
    kept: list[str] = []
    for i, name in enumerate(names):
        tail = " " + more.format(n=len(names) - i - 1)
        if len(", ".join([*kept, name])) + len(tail) > limit:
            break
        kept.append(name)
    text = ", ".join(kept) + " " + more.format(n=len(names) - len(kept))
    return cut(text, limit)


# -- embeds ----------------------------------------------------------------------------------------


def _safe_url(url: str) -> str | None:
    return url if re.fullmatch(r"https?://[^\s<>\"]{1,2000}", url) else None


def header_embed(digest: Digest, note: str | None = None, muted: int = 0) -> discord.Embed:
    """The seed's statistics (date, window in the configured timezone, fetched and shown counts: shown
    after the channel's mutes, of which there were `muted`), in the same words as the archive's header."""
    lab = labels(digest.language)
    lines = header_lines(digest)
    if not digest.items:
        lines += ["", lab["all_muted"].format(n=muted) if muted else empty_notice(digest.language)]
    if note:
        lines.insert(0, one_line(note) + "\n")
    embed = discord.Embed(
        title=cut(lab["title"].format(date=digest.date.isoformat()), TITLE_MAX),
        description=cut("\n".join(lines), DESCRIPTION_MAX),
        color=COLOR,
    )
    embed.set_footer(text=cut(" · ".join(digest.categories), FOOTER_MAX))
    return embed


def paper_embed(item: DigestItem, position: int, total: int, language: str, why: str = "") -> discord.Embed:
    lab = labels(language)
    paper = item.paper
    title = cut(escape(one_line(paper.title)) or paper.versioned_id, TITLE_MAX)
    body = clean(item.summary.translation if item.summary and item.summary.translation else paper.abstract)
    embed = discord.Embed(
        title=title,
        url=_safe_url(paper.abs_url),
        description=cut(defuse(body), ABSTRACT_BUDGET) or "—",
        color=COLOR,
    )
    authors = [escape(one_line(a)) for a in paper.authors if one_line(a)]
    embed.add_field(
        name=lab["authors"],
        value=join_limited(authors, FIELD_VALUE_MAX, lab["more_authors"]) or "—",
        inline=False,
    )
    categories = ", ".join(escape(one_line(c)) for c in paper.categories)
    embed.add_field(name=lab["categories"], value=cut(categories, FIELD_VALUE_MAX) or "—", inline=True)
    pdf = _safe_url(paper.pdf_url)
    embed.add_field(name=lab["pdf"], value=f"[{paper.versioned_id}]({pdf})" if pdf else "—", inline=True)
    if why:
        embed.add_field(name=lab["why"], value=cut(escape(one_line(why)), FIELD_VALUE_MAX), inline=False)
    embed.set_footer(text=cut(f"arXiv:{paper.versioned_id} · {position}/{total}", FOOTER_MAX))
    return embed


def embed_chars(embed: discord.Embed) -> int:
    """What Discord counts towards a message's 6000 characters (title, description, field names and
    values, footer text, author name)."""
    return len(embed)


# -- messages --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Button:
    label: str
    custom_id: str


@dataclass(frozen=True)
class Select:
    """A select menu of the overview: (label, value = versioned paper id) options."""

    custom_id: str
    placeholder: str
    options: tuple[tuple[str, str], ...]
    row: int | None = None


@dataclass
class OutMessage:
    """One message to post: its embeds, its buttons and select menus, and the delivery-log parts it
    carries."""

    parts: list[str] = field(default_factory=list)  # "header", paper base ids, "overview:N"
    embeds: list[discord.Embed] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    selects: list[Select] = field(default_factory=list)

    @property
    def chars(self) -> int:
        return sum(embed_chars(e) for e in self.embeds)


def breakdown_custom_id(paper: Paper) -> str:
    custom_id = BREAKDOWN_PREFIX + paper.versioned_id
    if len(custom_id) > CUSTOM_ID_MAX or not re.fullmatch(BREAKDOWN_TEMPLATE, custom_id):
        raise ValueError(f"paper id {paper.versioned_id!r} does not fit a custom_id")
    return custom_id


def ask_custom_id(paper: Paper) -> str:
    custom_id = ASK_PREFIX + paper.versioned_id
    if len(ASK_MODAL_PREFIX + paper.versioned_id) > CUSTOM_ID_MAX or not re.fullmatch(
        ASK_TEMPLATE, custom_id
    ):
        raise ValueError(f"paper id {paper.versioned_id!r} does not fit a custom_id")
    return custom_id


def rate_custom_id(paper: Paper, vote: str) -> str:
    custom_id = f"{RATE_PREFIX}{vote}:{paper.versioned_id}"
    if len(custom_id) > CUSTOM_ID_MAX or not re.fullmatch(RATE_TEMPLATE, custom_id):
        raise ValueError(f"paper id {paper.versioned_id!r} does not fit a custom_id")
    return custom_id


Block = tuple[str, discord.Embed, "Button | Sequence[Button] | None"]


def pack(
    blocks: Iterable[Block],
    max_embeds: int = EMBEDS_PER_MESSAGE,
    max_chars: int = CHARS_PER_MESSAGE,
) -> list[OutMessage]:
    """Group (part, embed, buttons) blocks into messages in order, within the per-message limits: 10
    embeds, 6000 characters, 25 buttons (six cards of four; discord.py lays them out five a row,
    and their labels carry the card's number)."""
    messages: list[OutMessage] = []
    current = OutMessage()
    for part, embed, block_buttons in blocks:
        if isinstance(block_buttons, Button):
            block_buttons = [block_buttons]
        block_buttons = list(block_buttons or [])[:5]
        size = embed_chars(embed)
        full = (
            len(current.embeds) >= max_embeds
            or current.chars + size > max_chars
            or len(current.buttons) + len(block_buttons) > BUTTONS_PER_MESSAGE
        )
        if current.embeds and full:
            messages.append(current)
            current = OutMessage()
        current.parts.append(part)
        current.embeds.append(embed)
        current.buttons.extend(block_buttons)
    if current.embeds:
        messages.append(current)
    return messages


def fit_one_message(blocks: Sequence[Block], language: str) -> OutMessage | None:
    """These cards in one message, as they were first posted together: when their texts have grown
    since (a translation healed in place is longer than the abstract it replaces), the longest
    descriptions are shortened, each with a marker saying so, until the message fits Discord's 6000
    characters. None when even that cannot fit them (a card cannot be moved to another message)."""
    messages = pack(blocks)
    if len(messages) <= 1:
        return messages[0] if messages else None
    if len(blocks) > EMBEDS_PER_MESSAGE:
        return None
    embeds = [embed for _, embed, _ in blocks]
    texts = [embed.description or "" for embed in embeds]
    room = CHARS_PER_MESSAGE - sum(embed_chars(e) - len(t) for e, t in zip(embeds, texts, strict=True))
    marker = "\n" + labels(language)["shortened"]
    # Each description gets an even share of the room; what the short ones leave goes to the others.
    shares = [0] * len(texts)
    left = room
    by_length = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for done, i in enumerate(by_length):
        shares[i] = min(len(texts[i]), left // (len(texts) - done))
        left -= shares[i]
    for embed, text, share in zip(embeds, texts, shares, strict=True):
        if len(text) <= share:
            continue
        if share - len(marker) >= 40:
            embed.description = cut(text, share - len(marker)) + marker
        elif share >= 1:
            embed.description = cut(text, share)
        else:
            return None
    messages = pack(blocks)
    return messages[0] if len(messages) == 1 else None


def card_buttons(paper: Paper, position: int, language: str, with_breakdown: bool = True) -> list[Button]:
    """A card's row: the breakdown, 👍, 👎, Ask (labels numbered, as several cards share a message)."""
    lab = labels(language)
    row: list[Button] = []
    try:
        if with_breakdown:
            row.append(Button(label=f"{lab['button']} {position}", custom_id=breakdown_custom_id(paper)))
        row.append(Button(label=f"👍 {position}", custom_id=rate_custom_id(paper, "up")))
        row.append(Button(label=f"👎 {position}", custom_id=rate_custom_id(paper, "down")))
        row.append(Button(label=f"{lab['ask']} {position}", custom_id=ask_custom_id(paper)))
    except ValueError:
        return []  # an id too long for a custom_id: a card without buttons rather than a refused post
    return row


def digest_messages(
    digest: Digest, skip: set[str] | frozenset[str] = frozenset(), note: str | None = None
) -> list[OutMessage]:
    """The header message, then the cards packed into as few messages as the limits allow. Parts in
    `skip` (already delivered) are left out; the cards keep their position numbers."""
    messages: list[OutMessage] = []
    if "header" not in skip:
        messages.append(OutMessage(parts=["header"], embeds=[header_embed(digest, note)]))
    messages.extend(
        pack(card_blocks(digest, [i.paper.base_id for i in digest.items if i.paper.base_id not in skip]))
    )
    return messages


def card_blocks(digest: Digest, parts: Sequence[str]) -> list[Block]:
    """(part, embed, buttons) for the cards of these parts, in the digest's order, numbered by their
    position in the whole digest. A card that cannot be rendered becomes title and link (logged)."""
    wanted = set(parts)
    total = len(digest.items)
    blocks: list[Block] = []
    for position, item in enumerate(digest.items, start=1):
        if item.paper.base_id not in wanted:
            continue
        embed = embed_or_minimal(item, position, total, digest.language)
        blocks.append((item.paper.base_id, embed, card_buttons(item.paper, position, digest.language)))
    return blocks


def chat_card_blocks(chat: ChatDigest, parts: Sequence[str]) -> list[Block]:
    """(part, embed, buttons) for the chat's cards among these parts, in its rank order, numbered by
    their place in the chat's digest, each saying why it ranks there when the chat has interests."""
    wanted = set(parts)
    language = chat.digest.language
    total = len(chat.ranked)
    blocks: list[Block] = []
    for position, entry in enumerate(chat.cards, start=1):
        if entry.paper.base_id not in wanted:
            continue
        why = why_line(entry.why, language) if chat.personalised else ""
        embed = embed_or_minimal(entry.item, position, total, language, why)
        blocks.append((entry.paper.base_id, embed, card_buttons(entry.paper, position, language)))
    return blocks


def embed_or_minimal(
    item: DigestItem, position: int, total: int, language: str, why: str = ""
) -> discord.Embed:
    try:
        return paper_embed(item, position, total, language, why)
    except Exception:  # hostile input must not stop everyone's digest
        log.exception("discord: card of %s cannot be rendered; sending title and link", item.paper.base_id)
        return minimal_embed(item.paper)


def minimal_embed(paper: Paper) -> discord.Embed:
    """A card that always renders: the title, linked to arXiv when the id makes a valid URL."""
    title = (
        cut(escape(one_line(paper.title)), TITLE_MAX)
        or cut(one_line(paper.versioned_id), TITLE_MAX)
        or "arXiv"
    )
    return discord.Embed(title=title, url=_safe_url(paper.abs_url), color=COLOR)


def has_translation(item: DigestItem) -> bool:
    return bool(item.summary and clean(item.summary.translation))


def chat_digest_messages(
    chat: ChatDigest, skip: set[str] | frozenset[str] = frozenset(), note: str | None = None
) -> list[OutMessage]:
    """What one channel gets: the header (its own counts), its cards in rank order (each saying why it
    ranks there when the channel has interests), then the overview of the rest with select menus that
    open any paper's breakdown. Parts in `skip` are left out."""
    digest = chat.digest
    language = digest.language
    messages: list[OutMessage] = []
    if "header" not in skip:
        messages.append(OutMessage(parts=["header"], embeds=[header_embed(digest, note, chat.muted)]))
    cards = [entry.paper.base_id for entry in chat.cards if entry.paper.base_id not in skip]
    messages.extend(pack(chat_card_blocks(chat, cards)))
    overview = overview_messages(list(chat.overview), len(chat.cards) + 1, language, chat.personalised)
    for n, message in enumerate(overview, start=1):
        part = f"overview:{n}"
        if part not in skip:
            message.parts = [part]
            messages.append(message)
    return messages


def _overview_line(number: int, paper: Paper) -> str:
    title = one_line(paper.title) or paper.versioned_id
    # Brackets would end the link text early; the title is shown, not parsed.
    title = cut(escape(title).replace("[", "(").replace("]", ")"), OVERVIEW_TITLE_MAX)
    url = _safe_url(paper.abs_url)
    return f"{number}. [{title}]({url})" if url else f"{number}. {title}"


def _option_label(number: int, paper: Paper) -> str:
    return cut(f"{number}. {one_line(paper.title) or paper.versioned_id}", OPTION_LABEL_MAX)


def overview_messages(
    entries: list[Ranked], first_number: int, language: str, ranked: bool = False
) -> list[OutMessage]:
    """The papers past the cards as a numbered list of title links, ranked, in as few messages as
    Discord allows (4096 characters an embed, 6000 a message, 10 embeds), each message with select
    menus (25 options each, one per action row) that open a listed paper's breakdown."""
    if not entries:
        return []
    lab = labels(language)
    title = cut(lab["overview_ranked" if ranked else "overview"].format(n=len(entries)), TITLE_MAX)
    messages: list[OutMessage] = []
    lines: list[str] = []
    chunk: list[tuple[int, Paper]] = []

    def flush() -> None:
        if not chunk:
            return
        embeds: list[discord.Embed] = []
        text = ""
        for line in lines:
            if text and len(text) + 1 + len(line) > DESCRIPTION_MAX:
                embeds.append(discord.Embed(description=text, color=COLOR))
                text = ""
            text = f"{text}\n{line}" if text else line
        embeds.append(discord.Embed(description=text, color=COLOR))
        embeds[0].title = title if not messages else cut(lab["overview_more"], TITLE_MAX)
        selects = []
        for row, start in enumerate(range(0, len(chunk), OPTIONS_PER_SELECT)):
            group = chunk[start : start + OPTIONS_PER_SELECT]
            first, last = group[0][0], group[-1][0]
            # An id that cannot be an option value (none of arXiv's) keeps its link in the list.
            options = tuple(
                (_option_label(n, p), p.versioned_id) for n, p in group if PAPER_ID.fullmatch(p.versioned_id)
            )
            if options:
                selects.append(
                    Select(
                        custom_id=f"{PICK_PREFIX}{first}",
                        placeholder=cut(lab["pick"].format(first=first, last=last), 150),
                        options=options,
                        row=row,
                    )
                )
        messages.append(OutMessage(embeds=embeds, selects=selects))

    chars = len(title)
    room = CHARS_PER_MESSAGE - 100  # the continuation title and line breaks
    for number, entry in enumerate(entries, start=first_number):
        line = _overview_line(number, entry.paper)
        full = chars + len(line) + 1 > room or len(chunk) >= ROWS_PER_MESSAGE * OPTIONS_PER_SELECT
        if chunk and full:
            flush()
            lines, chunk, chars = [], [], len(lab["overview_more"])
        lines.append(line)
        chunk.append((number, entry.paper))
        chars += len(line) + 1
    flush()
    return messages


def breakdown_embeds(paper: Paper, summary: Summary | None, language: str) -> list[list[discord.Embed]]:
    """The ephemeral answer to a breakdown button: one embed per section (split when a section is longer
    than an embed's description), packed into messages within the limits."""
    lab = labels(language)
    title = cut(escape(one_line(paper.title)) or paper.versioned_id, TITLE_MAX)
    url = _safe_url(paper.abs_url)
    sections: list[tuple[str, str]] = []
    if summary is not None and summary.has_breakdown:
        for key in ("background", "method", "results"):
            text = clean(getattr(summary, key))
            if text:
                sections.append((lab[key], text))
    else:
        body = clean(summary.translation if summary and summary.translation else paper.abstract)
        sections.append((lab["abstract"], lab["no_breakdown"] + "\n\n" + (body or "—")))
    embeds: list[discord.Embed] = []
    for heading, text in sections:
        chunks = split(defuse(text), DESCRIPTION_MAX)
        for i, chunk in enumerate(chunks):
            name = heading if i == 0 else f"{heading} ({i + 1}/{len(chunks)})"
            embed = discord.Embed(description=chunk, color=COLOR)
            embed.set_author(name=cut(name, AUTHOR_MAX))
            embeds.append(embed)
    if embeds:
        embeds[0].title = title
        embeds[0].url = url
        embeds[-1].set_footer(text=f"arXiv:{paper.versioned_id}")
    return [m.embeds for m in pack(("", e, ()) for e in embeds)]

"""Discord rendering: pure functions, checked against Discord's own limits on real and hostile input."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from adapters.discord import render
from digest.models import Digest, DigestItem, Paper, Summary
from tests.discord_seed import seed_digest
from tests.fakes.discord_api import check_message


def payload(message: render.OutMessage) -> dict:
    """The message as discord.py would send it (embeds plus one action row per 5 buttons)."""
    rows = [
        {
            "type": 1,
            "components": [
                {"type": 2, "style": 2, "label": b.label, "custom_id": b.custom_id}
                for b in message.buttons[i : i + 5]
            ],
        }
        for i in range(0, len(message.buttons), 5)
    ]
    return {"embeds": [e.to_dict() for e in message.embeds], "components": rows}


def assert_within_limits(messages: list[render.OutMessage]) -> None:
    for message in messages:
        assert check_message(payload(message)) == []
        assert len(message.embeds) <= 10
        assert message.chars <= 6000


def paper(**changes: object) -> Paper:
    base = Paper(
        base_id="2602.00001",
        version=1,
        title="A Title",
        authors=("Ada Lovelace",),
        categories=("cs.SD",),
        published=datetime(2026, 2, 17, 10, tzinfo=UTC),
        updated=datetime(2026, 2, 17, 10, tzinfo=UTC),
        abstract="An abstract.",
    )
    return replace(base, **changes)


def digest_of(items: list[DigestItem], language: str = "en") -> Digest:
    seed = seed_digest()
    return replace(seed, items=tuple(items), language=language, fetched=len(items))


# -- the seed ----------------------------------------------------------------------------------------


def test_seed_digest_renders_header_then_all_cards_within_limits() -> None:
    digest = seed_digest()
    messages = render.digest_messages(digest)
    assert_within_limits(messages)
    assert messages[0].parts == ["header"]
    header = messages[0].embeds[0]
    assert header.title == "arXiv Daily – 2026-02-18"
    assert header.description.startswith("以下为 2026-02-18（CST，北京时间）窗口内更新的论文中文译文：")
    assert "2026-02-17 08:50 — 2026-02-18 08:50" in header.description
    assert "抓取总数：8 篇 | 本页显示：8 篇" in header.description
    cards = [e for m in messages[1:] for e in m.embeds]
    assert [c.url for c in cards] == [i.paper.abs_url for i in digest.items]
    first = cards[0]
    assert first.title == "TAC: Timestamped Audio Captioning"
    assert first.description == digest.items[0].summary.translation
    fields = {f.name: f.value for f in first.fields}
    assert fields["分类"] == "cs.SD"
    assert "https://arxiv.org/pdf/2602.15766v1" in fields["PDF"]
    assert fields["作者"].startswith("Sonal Kumar, Prem Seetharaman")
    buttons = [b for m in messages for b in m.buttons]
    # every card: the breakdown, 👍, 👎, Ask
    assert [b.custom_id for b in buttons] == [
        f"arxiv-digest:{action}:{i.paper.versioned_id}"
        for i in digest.items
        for action in ("bd", "rate:up", "rate:down", "ask")
    ]
    assert all(re.fullmatch(render.BREAKDOWN_TEMPLATE, b.custom_id) for b in buttons[::4])
    assert all(re.fullmatch(render.ASK_TEMPLATE, b.custom_id) for b in buttons[3::4])
    rates = [b for n, b in enumerate(buttons) if n % 4 in (1, 2)]
    assert all(re.fullmatch(render.RATE_TEMPLATE, b.custom_id) for b in rates)


def test_delivered_parts_are_skipped_and_cards_keep_their_numbers() -> None:
    digest = seed_digest()
    done = {"header", digest.items[0].paper.base_id}
    messages = render.digest_messages(digest, skip=done)
    parts = [p for m in messages for p in m.parts]
    assert parts == [i.paper.base_id for i in digest.items[1:]]
    assert messages[0].embeds[0].footer.text.endswith("2/8")


def test_empty_digest_says_so() -> None:
    messages = render.digest_messages(digest_of([], "zh"))
    assert len(messages) == 1
    assert "没有新论文" in messages[0].embeds[0].description
    en = render.digest_messages(digest_of([], "en"))
    assert "No new papers" in en[0].embeds[0].description


def test_breakdown_has_three_sections_in_order() -> None:
    item = seed_digest().items[0]
    messages = render.breakdown_embeds(item.paper, item.summary, "zh")
    embeds = [e for m in messages for e in m]
    assert embeds[0].title == item.paper.title
    assert [e.author.name for e in embeds] == ["1) 研究背景与问题", "2) 方法", "3) 结果"]
    assert embeds[1].description == item.summary.method.strip()


def test_breakdown_without_summary_shows_the_abstract() -> None:
    messages = render.breakdown_embeds(paper(), None, "en")
    (embed,) = messages[0]
    assert "no detailed breakdown" in embed.description
    assert "An abstract." in embed.description


# -- cutting and splitting ---------------------------------------------------------------------------


def test_cut_keeps_short_text() -> None:
    assert render.cut("Short.", 10) == "Short."


def test_cut_ends_at_a_sentence_with_an_ellipsis() -> None:
    text = "First sentence here. Second one is a bit longer. Third never fits at all."
    out = render.cut(text, 55)
    assert out == "First sentence here. Second one is a bit longer.…"
    zh = "第一句话。第二句话比较长一些。第三句话无论如何都放不下。"
    assert render.cut(zh, 16) == "第一句话。第二句话比较长一些。…"


@pytest.mark.parametrize("limit", [1, 2, 5, 17, 100, 255, 256, 1024])
def test_cut_never_exceeds_the_limit(limit: int) -> None:
    for text in ["x" * 5000, "word " * 2000, "句子。" * 2000, "**bold " * 900, "a.b." * 3000]:
        out = render.cut(text, limit)
        assert len(out) <= limit
        assert out.endswith(render.ELLIPSIS) or limit < 2


def test_cut_does_not_leave_bold_open() -> None:
    text = "Intro sentence is here and fine. **A bold claim that runs on and on and on" + " on" * 100
    out = render.cut(text, 80)
    assert out.count("**") % 2 == 0


def test_split_loses_nothing_and_respects_the_limit() -> None:
    text = "\n\n".join(f"Paragraph {i}. " + "Sentence number words. " * (i * 30) for i in range(1, 12))
    chunks = render.split(text, 4096)
    assert all(len(c) <= 4096 for c in chunks)
    assert len(chunks) > 1
    assert re.sub(r"\s+", "", "".join(chunks)) == re.sub(r"\s+", "", text)
    unbroken = "x" * 10000
    chunks = render.split(unbroken, 4096)
    assert "".join(chunks) == unbroken and all(len(c) <= 4096 for c in chunks)


# -- hostile and oversized input -----------------------------------------------------------------------

HOSTILE = (
    "@everyone <@123456789012345678> <@&1> ||spoiler|| **bold `code ~~strike__ [x](javascript:alert(1)) "
)


def test_hostile_text_is_defused() -> None:
    evil = paper(
        title=HOSTILE + "\u202eevil\u200b\x00\x07 title\n\nnext line",
        authors=("@here", "Robert'); DROP TABLE papers;--", "<@&42>", "x" * 300),
        abstract=HOSTILE * 3,
    )
    item = DigestItem(evil, Summary(HOSTILE * 5, HOSTILE, HOSTILE, HOSTILE))
    messages = render.digest_messages(digest_of([item]))
    assert_within_limits(messages)
    card = messages[1].embeds[0]
    everything = str(card.to_dict())
    assert "\u202e" not in everything and "\x00" not in everything and "\x07" not in everything
    assert "evil title next line" in card.title  # control and zero-width characters dropped
    assert "@everyone" not in card.description.replace("@\u200beveryone", "")
    assert "@here" not in card.fields[0].value.replace("@\u200bhere", "")
    assert "\n" not in card.title
    assert card.title.startswith("@\u200beveryone")  # mentions broken, markdown escaped
    assert "\\*\\*bold" in card.title
    for messages_ in render.breakdown_embeds(evil, item.summary, "en"):
        assert check_message({"embeds": [e.to_dict() for e in messages_]}) == []


def test_oversized_paper_is_cut_not_rejected() -> None:
    huge = paper(
        title="Very long title " * 100,
        authors=tuple(f"Author Number{i} Surname" for i in range(3000)),
        categories=tuple(f"cs.{c}" for c in ["AI", "LG", "CL", "SD"] * 100),
        abstract="Abstract sentence. " * 2000,
    )
    summary = Summary("翻译句子。" * 3000, "Background. " * 5000, "Method line.\n" * 4000, "R" * 20000)
    messages = render.digest_messages(digest_of([DigestItem(huge, summary)] * 3))
    assert_within_limits(messages)
    card = messages[1].embeds[0]
    assert len(card.title) <= 256 and card.title.endswith(render.ELLIPSIS)
    assert card.description.endswith("。" + render.ELLIPSIS)
    authors = card.fields[0].value
    assert len(authors) <= 1024 and "more" in authors
    breakdown = render.breakdown_embeds(huge, summary, "en")
    assert len(breakdown) > 1  # several messages of several embeds
    assert all(check_message({"embeds": [e.to_dict() for e in m]}) == [] for m in breakdown)
    text = "".join(e.description for m in breakdown for e in m)
    assert text.count("Method line.") == 4000  # split, not cut
    assert "R" * 20000 in text.replace("\n", "")


def test_many_papers_pack_into_messages_within_limits() -> None:
    item = seed_digest().items[0]
    items = [replace(item, paper=replace(item.paper, base_id=f"2602.{i:05d}")) for i in range(60)]
    messages = render.digest_messages(digest_of(items, "zh"))
    assert_within_limits(messages)
    assert sum(len(m.embeds) for m in messages) == 61
    assert all(len(m.buttons) <= 25 for m in messages)


def test_empty_fields_get_a_placeholder() -> None:
    blank = paper(title="   ", authors=(), categories=(), abstract="")
    messages = render.digest_messages(digest_of([DigestItem(blank, None)]))
    assert_within_limits(messages)
    card = messages[1].embeds[0]
    assert card.title == blank.versioned_id
    assert all(f.value for f in card.fields)


def test_custom_id_fits_and_refuses_what_does_not() -> None:
    old = paper(base_id="hep-th/9901001", version=12)
    assert render.breakdown_custom_id(old) == "arxiv-digest:bd:hep-th/9901001v12"
    with pytest.raises(ValueError):
        render.breakdown_custom_id(paper(base_id="x" * 120))
    with pytest.raises(ValueError):
        render.breakdown_custom_id(paper(base_id="bad id with spaces"))


def test_masked_links_from_outside_text_show_their_target() -> None:
    text = "See [the PDF](https://evil.example/login) and [](http://x.example) and [a](<https://y.example>)."
    assert render.defuse(text) == (
        "See the PDF (https://evil.example/login) and http://x.example and a (https://y.example)."
    )
    item = DigestItem(paper(), Summary(text, text, text, text))
    card = render.digest_messages(digest_of([item]))[1].embeds[0]
    assert "](" not in card.description
    breakdown = render.breakdown_embeds(item.paper, item.summary, "en")
    assert all("](" not in e.description for m in breakdown for e in m)


def test_masked_links_in_every_form_discord_reads_show_their_target() -> None:
    assert render.defuse("[https://a.example](https://a.example)") == "https://a.example"
    assert render.defuse('[PDF](https://evil.example/x "arXiv PDF")') == "PDF (https://evil.example/x)"
    assert render.defuse("[[PDF]](https://evil.example/a_(b))") == "[PDF] (https://evil.example/a_(b))"
    assert render.defuse("[see [PDF](https://a.example)](https://b.example)") == (
        "see PDF (https://a.example) (https://b.example)"
    )


def test_bidi_overrides_go_and_joiners_stay() -> None:
    text = "a\u202eb\u2066c\u2069 👩\u200d🔬 می\u200cخواهم"
    assert render.clean(text) == "abc 👩\u200d🔬 می\u200cخواهم"


def test_cards_that_grew_are_shortened_to_fit_one_message_never_split() -> None:
    digest = seed_digest()
    long_text = "很长的译文，" * 400
    grown = replace(
        digest,
        items=tuple(replace(item, summary=Summary(long_text, "b", "m", "r")) for item in digest.items[:6]),
    )
    blocks = render.card_blocks(grown, [i.paper.base_id for i in grown.items])
    assert len(render.pack(blocks)) > 1  # translated, the six cards no longer fit one message
    message = render.fit_one_message(blocks, "zh")
    assert message is not None and len(message.embeds) == 6 and message.chars <= render.CHARS_PER_MESSAGE
    assert message.parts == [i.paper.base_id for i in grown.items]
    for embed in message.embeds:
        assert embed.description.startswith("很长的译文") and embed.description.endswith("标题链接）")
    payload = {"embeds": [e.to_dict() for e in message.embeds]}
    assert check_message(payload) == []
    # Cards that fit are left as they are; eleven cards can never share one message.
    small = render.card_blocks(digest, [digest.items[0].paper.base_id])
    fitted = render.fit_one_message(small, "zh")
    assert fitted is not None and fitted.embeds[0].description == small[0][1].description
    many = [small[0]] * 11
    assert render.fit_one_message(many, "zh") is None

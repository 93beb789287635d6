"""The compact overview on both platforms: hostile titles, a 300-paper day, each paper once, numbered
in rank order, every message within the platform's limits (as the fakes check them), and a chat
without interests getting exactly the digest as built."""

from __future__ import annotations

import math
from dataclasses import replace

from adapters.discord import render as discord_render
from adapters.discord.app import make_view
from adapters.telegram.buttons import parse_start_payload
from adapters.telegram.render import render_chat_digest, render_digest, render_overview, tg_len
from digest.interests import ChatInterests, Term
from digest.ranking import rank_for_chat
from tests.fakes.discord_api import check_message
from tests.fakes.telegram_api import BOT_USERNAME, parse_html
from tests.ranking_data import topic_items
from tests.telegram_support import make_digest, seed_items

HOSTILE_TITLE = '<b>x</b> & [link](javascript:alert(1)) @everyone ]) `tick` $a<b$ 😀 "q" ' * 3


def big_day(n: int = 300):
    items = topic_items([("vision", n)], "2602.1")
    items = [
        replace(i, paper=replace(i.paper, title=f"{k} {HOSTILE_TITLE}" if k % 3 else i.paper.title))
        for k, i in enumerate(items)
    ]
    return rank_for_chat(make_digest(items), ChatInterests(), max_cards=10)


def test_no_interests_within_max_cards_is_the_digest_as_built() -> None:
    digest = make_digest(seed_items())
    chat = rank_for_chat(digest, ChatInterests(), max_cards=10)
    assert render_chat_digest(chat, BOT_USERNAME) == render_digest(digest)
    assert discord_render.chat_digest_messages(chat) == discord_render.digest_messages(digest)


def test_telegram_overview_of_a_300_paper_day() -> None:
    chat = big_day()
    messages = render_overview(chat.overview, 11, "en", BOT_USERNAME)
    numbers, papers = [], []
    visible = 0
    for message in messages:
        text, entities = parse_html(message.text)  # Telegram's own parse rules
        assert tg_len(text) <= 4096 and len(entities) <= 100 and len(message.text) <= 9000
        visible += tg_len(text)
        for line in text.split("\n")[1:]:
            numbers.append(int(line.split(". ", 1)[0]))
        links = [e["url"] for e in entities if e["type"] == "text_link"]
        papers += [parse_start_payload(u.split("start=", 1)[1]) for u in links if "start=" in u]
        assert "<b>x</b>" in text  # hostile titles are shown as text
    assert numbers == list(range(11, 301))
    assert papers == [r.paper.versioned_id for r in chat.overview]
    # As few messages as the limits allow: no more than one over what the characters alone need.
    assert len(messages) <= max(math.ceil(visible / 4096), math.ceil(290 / 45)) + 1


async def test_discord_overview_of_a_300_paper_day() -> None:
    chat = big_day()
    messages = discord_render.chat_digest_messages(chat)
    overview = [m for m in messages if m.selects]
    values, numbers = [], []
    for message in messages:
        view = make_view(message.buttons, message.selects)
        payload = {
            "embeds": [e.to_dict() for e in message.embeds],
            "components": view.to_components() if view else [],
        }
        assert check_message(payload) == []
    for message in overview:
        assert message.parts[0].startswith("overview:")
        values += [value for select in message.selects for _label, value in select.options]
        for embed in message.embeds:
            numbers += [int(line.split(". ", 1)[0]) for line in (embed.description or "").split("\n")]
            assert "@everyone" not in (embed.description or "").replace("@\u200beveryone", "")
    assert numbers == list(range(11, 301))
    assert values == [r.paper.versioned_id for r in chat.overview]
    cards = [p for m in messages for p in m.parts if not p.startswith(("overview", "header"))]
    assert cards == [r.paper.base_id for r in chat.cards]


def test_a_day_the_chat_muted_entirely_says_so() -> None:
    digest = make_digest(topic_items([("survey", 3)], "2602.1"))
    chat = rank_for_chat(digest, ChatInterests(mutes=(Term("word", "survey"),)), max_cards=10)
    assert chat.ranked == () and chat.muted == 3
    ((part, header),) = render_chat_digest(chat, BOT_USERNAME)
    text, _ = parse_html(header.text)
    assert part == "header" and "本页显示：0 篇" in text and "3 篇论文都含有本聊天屏蔽的词" in text
    (message,) = discord_render.chat_digest_messages(chat)
    assert "3 篇论文都含有本频道屏蔽的词" in message.embeds[0].description

"""The Discord adapter in-process against the fake Discord (real discord.py, real REST + gateway on
127.0.0.1), over a real SQLite store holding the seed digest."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from adapters.discord.runtime import DiscordRuntime
from bot import discord_wiring
from bot.wiring import make_service
from config.settings import load_settings
from digest.models import Paper, Summary, SummaryRecord
from digest.service import DigestService
from digest.store import Store
from tests.discord_seed import EMPTY_DAY, SEED_DAY, seed_digest, seed_store
from tests.fakes import discord_api
from tests.fakes.discord_api import MANAGER, MEMBER, FakeDiscord, buttons, check_message


def write_config(path: Path, fake: FakeDiscord, extra: str = "") -> Path:
    data = path.parent / "data" / "digest.db"
    path.write_text(
        f"""
[arxiv]
api_url = "http://127.0.0.1:9/api/query"   # nothing listens: a build attempt fails at once
delay_seconds = 0
retries = 0
timeout_seconds = 2

[storage]
database = "{data}"
archive_dir = "{path.parent}/archive"

[discord]
api_base_url = "{fake.api_base_url}"
gateway_url = "{fake.gateway_url}"
{extra}
""",
        encoding="utf-8",
    )
    return path


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo("Asia/Shanghai"))


@dataclass
class Bot:
    fake: FakeDiscord
    runtime: DiscordRuntime
    store: Store
    service: DigestService
    channel: str


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    fake = await FakeDiscord().start()
    yield fake
    await fake.stop()


async def start_bot(
    fake: FakeDiscord, tmp_path: Path, receive: bool = True
) -> tuple[DiscordRuntime, DigestService]:
    config = write_config(tmp_path / "digest.toml", fake)
    settings = load_settings(config, {"DISCORD_BOT_TOKEN": fake.token})
    store = Store.open(settings.database_path)
    service = make_service(settings, store)
    runtime = discord_wiring.make_runtime(settings, store, service)
    runtime.options = replace(runtime.options, now=lambda: at(SEED_DAY, 12))
    await runtime.start(receive=receive)
    if receive:
        await fake.wait_for(lambda: fake.connected)
    return runtime, service


@pytest.fixture
async def bot(fake: FakeDiscord, tmp_path: Path) -> AsyncIterator[Bot]:
    store = Store.open(tmp_path / "data" / "digest.db")
    seed_store(store)
    store.close()
    channel = fake.add_channel("papers")
    runtime, service = await start_bot(fake, tmp_path)
    yield Bot(fake, runtime, service.store, service, channel)
    await runtime.stop()
    service.store.close()


def visible(interaction) -> list[dict]:
    return interaction.messages()


async def test_commands_registered_once(bot: Bot, tmp_path: Path) -> None:
    fake = bot.fake
    assert fake.command_puts == 1
    (digest,) = fake.commands
    assert digest["name"] == "digest"
    assert {o["name"] for o in digest["options"]} == {
        *("today", "date", "subscribe", "unsubscribe", "status", "search"),
        *("follow", "unfollow", "mute", "interests"),
    }
    # A restart with the same commands does not register them again.
    await bot.runtime.stop()
    runtime, service = await start_bot(fake, tmp_path)
    try:
        assert fake.command_puts == 1
    finally:
        await runtime.stop()
        service.store.close()
    # Commands deleted on Discord's side (or changed here) are registered again.
    fake.commands = []
    runtime, service = await start_bot(fake, tmp_path)
    try:
        assert fake.command_puts == 2 and fake.commands[0]["name"] == "digest"
    finally:
        await runtime.stop()
        service.store.close()


async def test_digest_date_is_deferred_then_answered_with_header_and_cards(bot: Bot) -> None:
    fake = bot.fake
    interaction = await fake.slash(bot.channel, "digest", "date", day="2026-02-18")
    await fake.wait_for(lambda: len(interaction.followups) >= 2)
    await asyncio.sleep(0.2)
    assert interaction.callback_type == 5 and interaction.ack_seconds < 3
    messages = visible(interaction)
    assert not any(m["ephemeral"] for m in messages)
    assert all(check_message(m) == [] for m in messages)
    header = messages[0]["embeds"][0]
    assert header["title"] == "arXiv Daily – 2026-02-18"
    cards = [e for m in messages[1:] for e in m["embeds"]]
    assert [c["url"] for c in cards] == [i.paper.abs_url for i in seed_digest().items]
    ids = [b["custom_id"] for m in messages for b in buttons(m)]
    assert len(ids) == 8 * 4  # breakdown, 👍, 👎, Ask
    assert len([i for i in ids if i.startswith("arxiv-digest:bd:")]) == 8
    assert len([i for i in ids if i.startswith("arxiv-digest:ask:")]) == 8
    assert all(m["allowed_mentions"] == {"parse": []} for m in messages)  # nobody is pinged
    assert fake.violations == []


async def test_breakdown_button_answers_ephemerally(bot: Bot) -> None:
    fake = bot.fake
    asked = await fake.slash(bot.channel, "digest", "date", day="2026-02-18")
    await fake.wait_for(lambda: len(asked.followups) >= 2)
    card_message = asked.followups[1]
    button = [b for b in buttons(card_message) if b["custom_id"].startswith("arxiv-digest:bd:")][2]
    press = await fake.press(card_message, button["custom_id"])
    await fake.wait_for(lambda: press.messages())
    (answer,) = press.messages()
    assert press.callback_type == 4 and answer["ephemeral"]
    paper = seed_digest().items[2]
    embeds = answer["embeds"]
    assert embeds[0]["title"] == paper.paper.title
    assert paper.summary.background.strip()[:50] in embeds[0]["description"]
    assert fake.violations == []


async def test_forged_and_unknown_buttons_get_a_short_notice(bot: Bot) -> None:
    fake = bot.fake
    asked = await fake.slash(bot.channel, "digest", "date", day="2026-02-18")
    await fake.wait_for(lambda: len(asked.followups) >= 2)
    card_message = asked.followups[1]
    for custom_id in ["arxiv-digest:bd:9999.99999v1", "arxiv-digest:bd:2602.15766v1x", "evil:payload"]:
        forged = dict(card_message)
        button = {"type": 2, "style": 2, "label": "x", "custom_id": custom_id}
        forged["components"] = [{"type": 1, "components": [button]}]
        press = await fake.press(forged, custom_id)
        await fake.wait_for(lambda p=press: p.messages())
        (answer,) = press.messages()
        assert answer["ephemeral"]
        assert "失效" in answer["content"] and "\n" not in answer["content"]
    # An id that is real but not on the message it claims to come from is forged too.
    press = await fake.press(asked.followups[0], buttons(card_message)[0]["custom_id"])
    await fake.wait_for(lambda: press.messages())
    assert press.messages()[0]["ephemeral"]
    assert fake.violations == []


async def test_bad_and_future_dates_get_an_ephemeral_line(bot: Bot) -> None:
    fake = bot.fake
    for value in ["2026-02-30", "yesterday", "2026-2-18", "2099-01-01"]:
        interaction = await fake.slash(bot.channel, "digest", "date", day=value)
        await fake.wait_for(lambda i=interaction: i.messages())
        (answer,) = interaction.messages()
        assert answer["ephemeral"] and "\n" not in answer["content"]
        assert interaction.callback_type == 4
    assert fake.violations == []


async def test_today_without_announcement_offers_the_latest(bot: Bot) -> None:
    bot.runtime.client.options = replace(bot.runtime.client.options, now=lambda: at(EMPTY_DAY, 12))
    interaction = await bot.fake.slash(bot.channel, "digest", "today")
    await bot.fake.wait_for(lambda: len(interaction.followups) >= 2)
    header = interaction.followups[0]["embeds"][0]
    assert "2026-02-21" in header["description"] and header["title"] == "arXiv Daily – 2026-02-18"


async def test_a_build_failure_is_reported(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL)
    # A manager may have a never-built date built (a plain member gets the nearest digest instead).
    interaction = await bot.fake.slash(bot.channel, "digest", "date", day="2026-02-10", permissions=MANAGER)
    await bot.fake.wait_for(lambda: interaction.followups, timeout=30)
    assert "2026-02-10" in interaction.followups[0]["content"]


async def test_only_channel_managers_subscribe(bot: Bot) -> None:
    fake, store = bot.fake, bot.store
    refused = await fake.slash(bot.channel, "digest", "subscribe", permissions=MEMBER)
    await fake.wait_for(lambda: refused.messages())
    assert refused.messages()[0]["ephemeral"]
    assert store.get_subscription("discord", bot.channel) is None
    refused = await fake.slash(bot.channel, "digest", "unsubscribe", permissions=MEMBER)
    await fake.wait_for(lambda: refused.messages())
    assert refused.messages()[0]["ephemeral"]

    bad = await fake.slash(bot.channel, "digest", "subscribe", permissions=MANAGER, categories="cs.XX")
    await fake.wait_for(lambda: bad.messages())
    assert bad.messages()[0]["ephemeral"] and "cs.XX" in bad.messages()[0]["content"]

    ok = await fake.slash(
        bot.channel, "digest", "subscribe", permissions=MANAGER, categories="eess.AS, cs.SD"
    )
    await fake.wait_for(lambda: ok.messages())
    sub = store.get_subscription("discord", bot.channel)
    assert sub.active and sub.categories == ("eess.AS", "cs.SD") and "papers" in sub.title
    assert "权限" not in ok.messages()[0]["content"]

    fake.app_permissions = discord_api.VIEW_CHANNEL | discord_api.SEND_MESSAGES  # no Embed Links
    warned = await fake.slash(bot.channel, "digest", "subscribe", permissions=MANAGER)
    await fake.wait_for(lambda: warned.messages())
    assert "嵌入链接" in warned.messages()[0]["content"]

    status = await fake.slash(bot.channel, "digest", "status")
    await fake.wait_for(lambda: status.messages())
    assert "eess.AS" in status.messages()[0]["content"] and "2026-02-21" in status.messages()[0]["content"]

    off = await fake.slash(bot.channel, "digest", "unsubscribe", permissions=MANAGER)
    await fake.wait_for(lambda: off.messages())
    assert not store.get_subscription("discord", bot.channel).active
    assert fake.violations == []


async def test_push_posts_once_and_survives_429_missing_and_forbidden(
    fake: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store.open(tmp_path / "data" / "digest.db")
    digest = seed_store(store)
    good = fake.add_channel("digest")
    other = fake.add_channel("other")  # subscribed to another category set
    quiet = fake.add_channel("quiet")  # not subscribed
    forbidden = fake.add_channel("locked", forbidden=True)
    missing = "1234567890123456789"
    for channel in (good, forbidden, missing):
        store.subscribe("discord", channel, ["cs.SD", "eess.AS"], title=channel)
    store.subscribe("discord", other, ["cs.AI"], title="other")
    # The other category set's digest exists already (ensure_digest must not need to build it).
    cs_ai = replace(digest, key="2026-02-18|cs.AI", categories=("cs.AI",), items=digest.items[:2], fetched=2)
    store.create_digest(cs_ai, [i.paper for i in cs_ai.items], "gpt-4o-mini", "seed")
    store.close()
    fake.rate_limit_posts = 2

    runtime, service = await start_bot(fake, tmp_path, receive=False)
    try:
        assert not fake.connected and fake.identified == 0  # REST only
        with caplog.at_level(logging.WARNING):
            sent = await runtime.push(SEED_DAY)
        # good: header + 8 cards in two messages (four buttons a card, 25 a message); other: header + cards
        assert sent == 5
        assert fake.rate_limited == 2
        assert len(fake.messages[good]) == 3 and fake.messages[quiet] == []
        assert len([e for m in fake.messages[good] for e in m["embeds"]]) == 9
        assert len([e for m in fake.messages[other] for e in m["embeds"]]) == 3
        assert not service.store.get_subscription("discord", forbidden).active
        assert not service.store.get_subscription("discord", missing).active
        assert "deactivated" in caplog.text
        assert await runtime.push(SEED_DAY) == 0
        assert len(fake.messages[good]) == 3
    finally:
        await runtime.stop()
        service.store.close()
    assert fake.violations == []


async def test_a_bug_met_in_one_channel_does_not_stop_the_others(
    fake: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adapters.discord import push as discord_push

    store = Store.open(tmp_path / "data" / "digest.db")
    seed_store(store)
    first, second = fake.add_channel("first"), fake.add_channel("second")
    for channel in (first, second):
        store.subscribe("discord", channel, ["cs.SD", "eess.AS"], title=channel)
    store.close()
    heal = discord_push.heal

    async def broken_for_the_first(channel, store, chat_id, mine):
        if chat_id == first:
            raise RuntimeError("a bug")
        return await heal(channel, store, chat_id, mine)

    monkeypatch.setattr(discord_push, "heal", broken_for_the_first)
    runtime, service = await start_bot(fake, tmp_path, receive=False)
    try:
        assert await runtime.push(SEED_DAY) >= 3  # the second channel's, at least
        # each channel has its header and two messages of cards
        assert len(fake.messages[first]) == len(fake.messages[second]) == 3
    finally:
        await runtime.stop()
        service.store.close()


async def test_today_before_publish_time_does_not_build(bot: Bot) -> None:
    """At 07:00 on the 19th the day's digest is not out yet: the answer is the latest one, and nothing
    is built (the arXiv endpoint is unreachable here, so a build would answer with a failure)."""
    next_day = SEED_DAY + timedelta(days=1)
    bot.runtime.client.options = replace(bot.runtime.client.options, now=lambda: at(next_day, 7))
    interaction = await bot.fake.slash(bot.channel, "digest", "today")
    await bot.fake.wait_for(lambda: len(interaction.followups) >= 2)
    header = interaction.followups[0]["embeds"][0]
    assert header["title"] == "arXiv Daily – 2026-02-18"
    assert "2026-02-19" in header["description"] and "09:30" in header["description"]
    assert bot.service.get_digest(next_day) is None


async def test_a_long_breakdown_is_split_over_several_ephemeral_messages(bot: Bot) -> None:
    item = seed_digest().items[0]
    long = Paper(**{**item.paper.__dict__, "base_id": "2602.99999", "title": "Long " * 80})
    summary = Summary("译文。" * 500, "背景句子。" * 3000, "- 方法要点。\n" * 2000, "结果。" * 4000)
    bot.store.upsert_papers([long])
    bot.store.save_summary(SummaryRecord(long.versioned_id, "ok", summary), "gpt-4o-mini", "zh", "seed")
    custom_id = f"arxiv-digest:bd:{long.versioned_id}"
    card = {
        "id": "1400000000000999999",
        "channel_id": bot.channel,
        "type": 0,
        "content": "",
        "author": bot.fake.bot_user,
        "attachments": [],
        "embeds": [],
        "mentions": [],
        "mention_roles": [],
        "mention_everyone": False,
        "pinned": False,
        "tts": False,
        "timestamp": "2026-02-18T01:30:00+00:00",
        "edited_timestamp": None,
        "flags": 0,
        "components": [
            {"type": 1, "components": [{"type": 2, "style": 2, "label": "x", "custom_id": custom_id}]}
        ],
    }
    press = await bot.fake.press(card, custom_id)
    await bot.fake.wait_for(lambda: len(press.messages()) >= 3)
    await asyncio.sleep(0.3)
    messages = press.messages()
    assert all(m["ephemeral"] for m in messages)
    assert all(check_message(m) == [] for m in messages)
    text = "".join(e["description"] for m in messages for e in m["embeds"])
    assert text.count("方法要点") == 2000 and text.count("结果。") == 4000
    assert bot.fake.violations == []


async def test_the_fake_refuses_a_late_acknowledgement(
    bot: Bot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The 3-second rule is enforced by the fake (so the tests above would catch a slow answer)."""
    caplog.set_level(logging.CRITICAL)
    monkeypatch.setattr(discord_api, "ACK_DEADLINE", 0.0)
    interaction = await bot.fake.slash(bot.channel, "digest", "status")
    await bot.fake.wait_for(lambda: bot.fake.violations)
    assert "acked after" in bot.fake.violations[0] and interaction.acked_at is None


def test_the_fake_checks_discords_limits() -> None:
    embed = {"title": "t", "description": "d"}
    assert check_message({"embeds": [embed] * 10}) == []
    assert check_message({"embeds": [embed] * 11})
    assert check_message({"embeds": [{"description": "x" * 4000}, {"description": "x" * 2001}]})
    assert check_message({"embeds": [{"title": "x" * 257}]})
    assert check_message({"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]})
    assert check_message({"embeds": [{"fields": [{"name": "n", "value": ""}]}]})
    assert check_message({"embeds": [{"footer": {"text": "f" * 2049}}]})
    assert check_message({"embeds": [{"author": {"name": "a" * 257}}]})
    button = {"type": 2, "style": 2, "label": "b"}
    row = {"type": 1, "components": [{**button, "custom_id": f"id{i}"} for i in range(5)]}
    assert check_message({"components": [row]}) == []
    assert check_message({"components": [row, row]})  # duplicate custom_ids
    six = {"type": 1, "components": [{**button, "custom_id": f"id{i}"} for i in range(6)]}
    assert check_message({"components": [six]})
    rows = [{"type": 1, "components": [{**button, "custom_id": f"r{r}"}]} for r in range(6)]
    assert check_message({"components": rows})
    assert check_message({"components": [{"type": 1, "components": [{**button, "custom_id": "x" * 101}]}]})
    assert check_message({})


async def test_the_daily_push_from_a_running_bot(bot: Bot) -> None:
    """`arxiv-digest run` pushes through the connected client; buttons on pushed cards work."""
    bot.store.subscribe("discord", bot.channel, ["cs.SD", "eess.AS"], title="papers")
    assert await bot.runtime.push(SEED_DAY) == 3  # the header, then 6 + 2 cards (four buttons each)
    assert await bot.runtime.push(SEED_DAY) == 0
    cards = bot.fake.messages[bot.channel][1]
    press = await bot.fake.press(cards, buttons(cards)[0]["custom_id"])
    await bot.fake.wait_for(lambda: press.messages())
    assert press.messages()[0]["ephemeral"]
    assert press.messages()[0]["embeds"][0]["title"] == seed_digest().items[0].paper.title
    assert bot.fake.violations == []


async def test_channels_that_unsubscribe_or_subscribe_before_publish_at(
    bot: Bot,
) -> None:
    other = bot.fake.add_channel("other")
    for channel in (bot.channel, other):
        bot.store.subscribe("discord", channel, ["cs.SD", "eess.AS"], title="papers")
    start_at = datetime.now(ZoneInfo("UTC")) + timedelta(seconds=0.5)
    push = asyncio.create_task(bot.runtime.push(SEED_DAY, start_at))
    await asyncio.sleep(0.2)  # both prepared, waiting for publish_at
    bot.store.deactivate("discord", other, "unsubscribed")
    late = bot.fake.add_channel("late")  # subscribes after the push began, before publish_at
    bot.store.subscribe("discord", late, ["cs.SD", "eess.AS"], title="late")
    assert await asyncio.wait_for(push, timeout=30) == 6
    assert len(bot.fake.messages[bot.channel]) == 3 and not bot.fake.messages[other]
    assert len(bot.fake.messages[late]) == 3


async def test_a_card_healed_with_a_longer_translation_is_shortened_to_fit_its_message(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    # Pushed while the LLM was down: short English abstracts, six cards to a message. The translations
    # that come later are longer; each message is edited in place within 6000 characters, its cards
    # marked as shortened, and nothing is posted again.
    store = Store.open(tmp_path / "data" / "digest.db")
    digest = seed_digest()
    papers = [replace(item.paper, abstract=item.paper.abstract[:200]) for item in digest.items]
    store.upsert_papers(papers)
    store.create_digest(digest, papers, "gpt-4o-mini", "seed")
    channel = fake.add_channel("digest")
    store.subscribe("discord", channel, ["cs.SD", "eess.AS"], title="digest")
    store.close()
    runtime, service = await start_bot(fake, tmp_path, receive=False)
    try:
        assert await runtime.push(SEED_DAY) == 3  # the header, then 6 + 2 cards
        first = [e["description"] for m in fake.messages[channel][1:] for e in m["embeds"]]
        assert all(len(text) <= 200 for text in first)
        translations = {}
        for n, item in enumerate(digest.items):
            text = f"第{n}篇译文。" + "这是一段很长的中文译文，句子很多。" * 100
            translations[item.paper.base_id] = text
            summary = Summary(text, "背景", "方法", "结果")
            record = SummaryRecord(item.paper.versioned_id, "ok", summary, calls=1)
            service.store.save_summary(record, "gpt-4o-mini", "zh", "seed")
        newcomer = fake.add_channel("newcomer")
        service.store.subscribe("discord", newcomer, ["cs.SD", "eess.AS"], title="newcomer")
        # `run`'s healing pass: only the channels holding untranslated cards are pushed.
        assert await runtime.push(SEED_DAY, heal_only=True) == 0
        assert len(fake.edits) == 2 and len(fake.messages[channel]) == 3
        assert not fake.messages[newcomer]
        cards = [e for m in fake.messages[channel][1:] for e in m["embeds"]]
        assert len(cards) == 8
        for card in cards:
            base_id = card["url"].rsplit("/", 1)[1].rsplit("v", 1)[0]
            assert card["description"].startswith(translations[base_id][:20])
        # The six cards of the first message could not keep their 1,800 characters each: shortened.
        assert all("已截短" in card["description"] for card in cards[:6])
        assert await runtime.push(SEED_DAY, heal_only=True) == 0 and len(fake.edits) == 2  # healed once
        # A plain push gives the newcomer the digest, its long cards packed three to a message.
        assert await runtime.push(SEED_DAY) == 4
        assert [len(m["embeds"]) for m in fake.messages[newcomer]] == [1, 3, 3, 2]
    finally:
        await runtime.stop()
        service.store.close()
    assert fake.violations == []


async def test_a_refused_card_or_a_proxy_403_never_stops_or_unsubscribes(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    store = Store.open(tmp_path / "data" / "digest.db")
    digest = seed_store(store)
    channel = fake.add_channel("digest")
    store.subscribe("discord", channel, ["cs.SD", "eess.AS"], title="digest")
    store.close()
    runtime, service = await start_bot(fake, tmp_path, receive=False)
    try:
        fake.proxy_errors["/channels"] = 403  # a proxy's page: not Discord's 50001
        assert await runtime.push(SEED_DAY) == 0
        assert service.store.get_subscription("discord", channel).active
        fake.proxy_errors.clear()
        # The server's AutoMod blocks a word in one paper's abstract translation: its message of cards
        # goes out again as titles and links, and the digest reaches the channel.
        blocked = re.search(r"[\u4e00-\u9fff]{6}", digest.items[3].summary.translation)[0]
        fake.automod_words.add(blocked)
        assert await runtime.push(SEED_DAY) == 3
        _header, *posted = fake.messages[channel]
        cards = [e for m in posted for e in m["embeds"]]
        assert [e["title"] for e in cards] == [i.paper.title for i in digest.items]
        # Only the message holding the blocked text went out as titles and links.
        refused = [m for m in posted if all(not e.get("description") for e in m["embeds"])]
        assert len(refused) == 1 and digest.items[3].paper.title in [e["title"] for e in refused[0]["embeds"]]
        assert await runtime.push(SEED_DAY) == 0
        assert len(fake.edits) == 0  # healing tried the full cards once; AutoMod refused; left as is
    finally:
        await runtime.stop()
        service.store.close()
    assert fake.violations == []


async def test_a_digest_not_ready_within_discords_window_gets_a_note(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build outlasting the 15 minutes Discord takes follow-ups for (here one that never ends, the
    window shortened): the wait is given up in time with a note, instead of an answer Discord drops."""
    from adapters.discord import app

    monkeypatch.setattr(app, "INTERACTION_WAIT_SECONDS", 0.3)
    given_up: list[date] = []

    async def never_ready(day: date, categories: object = None) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            given_up.append(day)
            raise

    monkeypatch.setattr(bot.service, "ensure_digest", never_ready)
    interaction = await bot.fake.slash(bot.channel, "digest", "date", day="2026-02-10", permissions=MANAGER)
    await bot.fake.wait_for(lambda: interaction.followups, timeout=10)
    (note,) = interaction.followups
    assert note["content"] == app.TEXTS["zh"]["still_building"].format(day="2026-02-10")
    assert note["flags"] & 64  # ephemeral
    assert given_up == [date(2026, 2, 10)]
    assert bot.fake.violations == []

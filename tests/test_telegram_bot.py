"""The Telegram runtime in-process (real PTB Application, real DigestService and SQLite store) against
the fake Bot API: subscriptions, push, buttons, membership changes, rate limits."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from adapters.telegram.buttons import start_payload
from adapters.telegram.texts import TEXTS
from bot.telegram_wiring import TelegramRuntime, make_runtime
from bot.wiring import make_service
from config.settings import load_settings
from digest.models import DigestItem, Summary
from digest.store import Store
from tests.fakes.telegram_api import BOT_USERNAME, FakeTelegram, Limits, parse_html, user_json
from tests.telegram_support import SEED_DAY, make_digest, seed_items, seed_store, store_digest

CHANNEL, GROUP, PRIVATE = -1001000000001, -1002000000002, 5550001
OWNER, ADMIN, MEMBER = 100, 101, 202
ZH = TEXTS["zh"]  # the tests' digest language
TG = "telegram"


@dataclass
class Env:
    fake: FakeTelegram
    store: Store
    runtime: TelegramRuntime


def write_config(path: Path, telegram_url: str, extra: str = "") -> Path:
    path.write_text(
        f"""
[digest]
categories = ["cs.SD", "eess.AS"]
language = "zh"
[arxiv]
api_url = "http://127.0.0.1:9/api/query"
delay_seconds = 0
retries = 0
[storage]
database = "data/digest.db"
archive_dir = "archive/_posts"
[telegram]
api_base_url = "{telegram_url}"
{extra}
""",
        encoding="utf-8",
    )
    return path


def add_chats(fake: FakeTelegram) -> None:
    fake.add_chat(CHANNEL, "channel", "Audio papers", username="audiopapers")
    fake.add_chat(GROUP, "supergroup", "Lab group", admins={ADMIN}, owner=OWNER)
    fake.add_chat(PRIVATE, "private", "Reader")


async def make_env(tmp_path: Path, limits: Limits | None = None) -> Env:
    fake = await FakeTelegram(limits=limits).start()
    add_chats(fake)
    config = write_config(tmp_path / "digest.toml", fake.base_url)
    settings = load_settings(config, {"TELEGRAM_BOT_TOKEN": fake.token}, base_dir=tmp_path)
    store = Store.open(settings.database_path)
    seed_store(store)
    service = make_service(settings, store)
    return Env(fake, store, make_runtime(settings, store, service))


@pytest.fixture
async def env(tmp_path: Path):
    env = await make_env(tmp_path)
    yield env
    await env.runtime.stop()
    await env.fake.stop()
    env.store.close()


@pytest.fixture
async def running(env: Env):
    await env.runtime.start(receive=True)
    return env


def texts(fake: FakeTelegram, chat_id: int) -> list[str]:
    return [m["text"] for m in fake.messages_to(chat_id)]


def subscribe_all(store: Store) -> None:
    for chat in (CHANNEL, GROUP, PRIVATE):
        store.subscribe(TG, str(chat), ["cs.SD", "eess.AS"], "t")


# -- subscriptions ----------------------------------------------------------------------------


async def test_subscribe_in_channel_group_and_private_chat(running: Env):
    fake, store = running.fake, running.store
    fake.command(CHANNEL, "/subscribe")
    fake.command(GROUP, "/subscribe@" + BOT_USERNAME + " cs.SD, eess.AS", user=user_json(ADMIN))
    fake.command(PRIVATE, "/subscribe cs.CL")
    await fake.wait_for(lambda: len(store.active_subscriptions(TG)) == 3)
    assert store.get_subscription(TG, str(PRIVATE)).categories == ("cs.CL",)
    assert store.get_subscription(TG, str(CHANNEL)).categories == ("cs.SD", "eess.AS")
    await fake.wait_for(lambda: all(texts(fake, c) for c in (CHANNEL, GROUP, PRIVATE)))
    assert texts(fake, GROUP)[0].startswith("已订阅：cs.SD, eess.AS 的日报")

    fake.command(GROUP, "/settings", user=user_json(MEMBER))
    await fake.wait_for(lambda: len(texts(fake, GROUP)) == 2)
    assert texts(fake, GROUP)[1].startswith("本聊天接收cs.SD, eess.AS 的日报")

    fake.command(CHANNEL, "/unsubscribe")
    await fake.wait_for(lambda: not store.get_subscription(TG, str(CHANNEL)).active)
    assert store.get_subscription(TG, str(CHANNEL)).reason == "unsubscribed with /unsubscribe"


async def test_non_admin_in_a_group_is_refused(running: Env):
    fake, store = running.fake, running.store
    store.subscribe(TG, str(GROUP), ["cs.SD"], "Lab group")
    fake.command(GROUP, "/unsubscribe", user=user_json(MEMBER))
    fake.command(GROUP, "/subscribe cs.CL", user=user_json(MEMBER))
    await fake.wait_for(lambda: len(texts(fake, GROUP)) == 2)
    assert texts(fake, GROUP) == [ZH["admin_only"]] * 2
    subscription = store.get_subscription(TG, str(GROUP))
    assert subscription.active and subscription.categories == ("cs.SD",)
    assert "getChatMember" in fake.calls

    fake.command(GROUP, "/unsubscribe", user=user_json(OWNER))
    await fake.wait_for(lambda: not store.get_subscription(TG, str(GROUP)).active)


async def test_an_anonymous_group_admin_may_subscribe(running: Env):
    fake, store = running.fake, running.store
    fake.command(GROUP, "/subscribe", anonymous=True)
    await fake.wait_for(lambda: store.get_subscription(TG, str(GROUP)))
    assert store.get_subscription(TG, str(GROUP)).active


async def test_unknown_category_is_explained(running: Env):
    fake, store = running.fake, running.store
    fake.command(PRIVATE, "/subscribe cs.XX")
    await fake.wait_for(lambda: texts(fake, PRIVATE))
    assert "unknown arXiv category: cs.XX" in texts(fake, PRIVATE)[0]
    assert store.get_subscription(TG, str(PRIVATE)) is None


async def test_removal_from_a_channel_deactivates(running: Env, caplog: pytest.LogCaptureFixture):
    fake, store = running.fake, running.store
    subscribe_all(store)
    with caplog.at_level(logging.WARNING):
        fake.member_change(CHANNEL, "administrator", "kicked")
        fake.member_change(PRIVATE, "member", "kicked")  # the user blocked the bot
        await fake.wait_for(lambda: len(store.active_subscriptions(TG)) == 1)
    assert store.get_subscription(TG, str(CHANNEL)).reason == "bot removed from the channel (kicked)"
    assert "deactivated" in caplog.text
    # being added back does not subscribe by itself
    fake.member_change(CHANNEL, "left", "administrator")
    fake.command(CHANNEL, "/settings")
    await fake.wait_for(lambda: texts(fake, CHANNEL))
    assert texts(fake, CHANNEL)[0].startswith("本聊天未订阅。")


# -- push -------------------------------------------------------------------------------------


async def test_push_delivers_each_part_once(env: Env):
    fake, store = env.fake, env.store
    subscribe_all(store)
    await env.runtime.start(receive=False)
    assert await env.runtime.push(SEED_DAY) == 27
    for chat in (CHANNEL, GROUP, PRIVATE):
        shown = texts(fake, chat)
        assert len(shown) == 9
        assert "本页显示：8 篇" in shown[0]
        assert [t.split("\n")[0] for t in shown[1:]] == [i.paper.title for i in seed_items()]
    assert fake.errors == []
    assert await env.runtime.push(SEED_DAY) == 0
    assert len(fake.sent) == 27


async def test_push_resumes_where_a_crash_left_off(env: Env):
    fake, store = env.fake, env.store
    store.subscribe(TG, str(GROUP), ["cs.SD", "eess.AS"], "Lab")
    key = make_digest([]).key
    for part in ["header", *[i.paper.base_id for i in seed_items()[:3]]]:
        store.record_delivery(TG, str(GROUP), key, part, 1)
    await env.runtime.start(receive=False)
    assert await env.runtime.push(SEED_DAY) == 5
    assert [t.split("\n")[0] for t in texts(fake, GROUP)] == [i.paper.title for i in seed_items()[3:]]


async def test_each_chat_gets_its_own_categories(env: Env):
    fake, store = env.fake, env.store
    items = [replace(seed_items()[0], paper=replace(seed_items()[0].paper, categories=("cs.CL",)))]
    store_digest(store, make_digest(items, categories=("cs.CL",), fetched=5))
    store.subscribe(TG, str(PRIVATE), ["cs.CL"], "Reader")
    store.subscribe(TG, str(GROUP), ["cs.SD", "eess.AS"], "Lab")
    await env.runtime.start(receive=False)
    assert await env.runtime.push(SEED_DAY) == 2 + 9
    header = texts(fake, PRIVATE)[0]
    assert "cs.CL" in header and "抓取总数：5 篇 | 本页显示：1 篇" in header


async def test_blocked_and_kicked_chats_are_deactivated_and_not_tried_again(env: Env):
    fake, store = env.fake, env.store
    subscribe_all(store)
    fake.chats[PRIVATE].blocked = True
    fake.chats[CHANNEL].kicked = True
    await env.runtime.start(receive=False)
    assert await env.runtime.push(SEED_DAY) == 9
    assert [s.chat_id for s in store.active_subscriptions(TG)] == [str(GROUP)]
    assert (
        store.get_subscription(TG, str(PRIVATE)).reason
        == "403 on send: Forbidden: bot was blocked by the user"
    )
    tried = len(fake.errors)
    assert tried == 2
    fake.chats[GROUP].messages.clear()
    assert await env.runtime.push(SEED_DAY) == 0
    assert len(fake.errors) == tried


async def test_only_telegrams_own_answers_deactivate(env: Env):
    fake, store = env.fake, env.store
    store.subscribe(TG, "-1009999", ["cs.SD", "eess.AS"], "gone")  # Telegram: chat not found
    store.subscribe(TG, str(GROUP), ["cs.SD", "eess.AS"], "Lab group")
    fake.proxy_errors["sendMessage"] = 403  # a proxy's own 403 page, not Telegram's answer
    await env.runtime.start(receive=False)
    assert await env.runtime.push(SEED_DAY) == 0
    assert store.get_subscription(TG, str(GROUP)).active  # a proxy-style 403 keeps the subscription
    assert store.get_subscription(TG, "-1009999").active  # the proxy answered for it too

    fake.proxy_errors.clear()
    assert await env.runtime.push(SEED_DAY) == 9  # the next push tries again, from the start
    assert len(texts(fake, GROUP)) == 9
    assert not store.get_subscription(TG, "-1009999").active  # Telegram itself: chat not found
    assert fake.errors[-1] == ("sendMessage", 400, "Bad Request: chat not found")


async def test_a_group_upgraded_to_a_supergroup_is_followed(env: Env):
    fake, store = env.fake, env.store
    old = -4001
    fake.add_chat(old, "group", "Old group").migrated_to = GROUP
    store.subscribe(TG, str(old), ["cs.SD", "eess.AS"], "Old group")
    await env.runtime.start(receive=False)
    assert await env.runtime.push(SEED_DAY) == 9
    assert len(texts(fake, GROUP)) == 9
    assert [s.chat_id for s in store.active_subscriptions(TG)] == [str(GROUP)]
    assert store.get_subscription(TG, str(old)).reason == f"migrated to supergroup {GROUP}"


async def test_push_honours_429_retry_after(tmp_path: Path):
    # A fake far stricter than the client's limiter: every 429 must be waited out, none may surface.
    env = await make_env(
        tmp_path, Limits(overall_rate=10, chat_rate=4, chat_period=1.0, retry_granularity=0.2)
    )
    try:
        subscribe_all(env.store)
        await env.runtime.start(receive=False)
        assert await env.runtime.push(SEED_DAY) == 27
        assert env.fake.rate_limited > 0
        assert {code for _m, code, _d in env.fake.errors} == {429}
        for chat in (CHANNEL, GROUP, PRIVATE):
            assert len(texts(env.fake, chat)) == 9
    finally:
        await env.runtime.stop()
        await env.fake.stop()
        env.store.close()


# -- the breakdown button ---------------------------------------------------------------------


async def pushed_card(env: Env, chat: int, index: int = 0) -> dict:
    env.store.subscribe(TG, str(chat), ["cs.SD", "eess.AS"], "t")
    await env.runtime.push(SEED_DAY)
    return env.fake.messages_to(chat)[1 + index]


@pytest.mark.parametrize("chat", [GROUP, PRIVATE])
async def test_button_expands_and_collapses_the_card(running: Env, chat: int):
    fake = running.fake
    card = await pushed_card(running, chat)
    original = fake.chats[chat].messages[card["message_id"]]
    query = fake.press(chat, card["message_id"])
    await fake.wait_for(lambda: query in fake.answers)
    expanded = fake.chats[chat].messages[card["message_id"]]
    assert expanded["text"].startswith(original["text"])
    assert "研究背景" in expanded["text"]
    assert any(e["type"] == "expandable_blockquote" for e in expanded["entities"])
    assert expanded["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "bh:2602.15766v1"

    query = fake.press(chat, card["message_id"])
    await fake.wait_for(lambda: query in fake.answers)
    collapsed = fake.chats[chat].messages[card["message_id"]]
    assert (collapsed["text"], collapsed["reply_markup"]) == (original["text"], original["reply_markup"])
    assert fake.errors == []


async def test_button_in_a_channel_opens_the_private_chat(running: Env):
    fake = running.fake
    card = await pushed_card(running, CHANNEL, index=2)
    paper_id = seed_items()[2].paper.versioned_id
    query = fake.press(CHANNEL, card["message_id"], user=user_json(PRIVATE))
    await fake.wait_for(lambda: query in fake.answers)
    assert fake.answers[query]["url"] == f"https://t.me/{BOT_USERNAME}?start={start_payload(paper_id)}"
    assert fake.edits == []  # the post stays as every subscriber sees it

    fake.command(PRIVATE, f"/start {start_payload(paper_id)}")
    await fake.wait_for(lambda: texts(fake, PRIVATE))
    text = texts(fake, PRIVATE)[0]
    assert text.startswith(seed_items()[2].paper.title)
    assert "方法" in text and "结果" in text


async def test_breakdown_too_long_for_the_card_is_sent_as_replies(running: Env):
    fake, store = running.fake, running.store
    long = "长" * 3000
    paper = replace(seed_items()[0].paper, base_id="2602.00001", title="Long <one> & co")
    store_digest(
        store, make_digest([DigestItem(paper, Summary("译文", long, long, long))], categories=("cs.AI",))
    )
    store.subscribe(TG, str(GROUP), ["cs.AI"], "Lab")
    await running.runtime.push(SEED_DAY)
    card = fake.messages_to(GROUP)[1]
    query = fake.press(GROUP, card["message_id"])
    await fake.wait_for(lambda: query in fake.answers)
    replies = fake.messages_to(GROUP)[2:]
    assert len(replies) == 3
    assert all(r["reply_to_message"]["message_id"] == card["message_id"] for r in replies)
    assert all(len(r["text"]) <= 4096 for r in replies)
    assert fake.edits == [] and fake.errors == []


@pytest.mark.parametrize(
    "data",
    [
        "bd:9999.99999v1",
        "garbage",
        "bh:2602.15766",
        "x" * 64,
        "bd:2602.15766v1' or 1=1",
        "up:9999.99999v1",
        "dn:2602.15766",
        "up:2602.15766v1;drop",
    ],
)
async def test_forged_or_stale_buttons_get_a_notice(
    running: Env, data: str, caplog: pytest.LogCaptureFixture
):
    fake = running.fake
    card = await pushed_card(running, GROUP)
    with caplog.at_level(logging.ERROR):
        query = fake.press(GROUP, card["message_id"], data=data)
        await fake.wait_for(lambda: query in fake.answers)
    assert fake.answers[query]["text"] in (ZH["stale_button"], ZH["gone_paper"])
    assert fake.edits == []
    assert "Traceback" not in caplog.text and not caplog.records


async def test_a_rating_for_a_paper_not_on_the_pressed_message_is_refused(running: Env):
    # A modified client can send any callback data with any message: a 👍 for a paper this chat never
    # got as a card (here: another card's paper, and one sent with the header) must not teach its taste.
    fake, store = running.fake, running.store
    card = await pushed_card(running, GROUP, index=0)
    header = fake.messages_to(GROUP)[0]
    other = seed_items()[3].paper.versioned_id
    forged = [
        fake.press(GROUP, card["message_id"], data=f"up:{other}", user=user_json(MEMBER)),
        fake.press(GROUP, header["message_id"], data=f"dn:{other}", user=user_json(ADMIN)),
        fake.press(GROUP, header["message_id"], data=f"bd:{other}", user=user_json(ADMIN)),
    ]
    await fake.wait_for(lambda: all(q in fake.answers for q in forged))
    assert [fake.answers[q]["text"] for q in forged] == [ZH["stale_button"]] * 3
    assert list(store.db.query("select * from ratings")) == [] and fake.edits == []
    # The card's own 👍 still counts.
    up = card["reply_markup"]["inline_keyboard"][0][1]["callback_data"]
    real = fake.press(GROUP, card["message_id"], data=up, user=user_json(MEMBER))
    await fake.wait_for(lambda: real in fake.answers)
    assert fake.answers[real]["text"] == ZH["rated_up"]
    assert [r["base_id"] for r in store.db.query("select * from ratings")] == [seed_items()[0].paper.base_id]


async def test_forged_start_payload_gets_a_notice(running: Env):
    fake = running.fake
    fake.command(PRIVATE, "/start bd_9999_99999v1")
    fake.command(PRIVATE, "/start whatever")
    await fake.wait_for(lambda: len(texts(fake, PRIVATE)) == 2)
    assert texts(fake, PRIVATE) == [ZH["gone_paper"], ZH["stale_button"]]


async def test_today_sends_the_latest_digest(running: Env):
    fake = running.fake
    fake.command(GROUP, "/today", user=user_json(MEMBER))
    await fake.wait_for(lambda: len(texts(fake, GROUP)) == 9)
    assert "arXiv Daily – 2026-02-18" in texts(fake, GROUP)[0]
    for message in fake.messages_to(GROUP):
        parse_html(message["html"])


async def test_one_bad_paper_never_stops_a_push(env: Env):
    fake, store = env.fake, env.store
    good = seed_items()[0]
    crowded = replace(  # ~700 categories: the card's fixed part alone is over 4096 characters
        good.paper, base_id="2602.00001", categories=tuple(f"cs.X{i:03d}" for i in range(700))
    )
    odd = replace(good.paper, base_id="2602.1234567")  # an id the button pattern refuses
    day = SEED_DAY.replace(day=19)
    store_digest(
        store,
        make_digest([good, DigestItem(crowded, good.summary), DigestItem(odd, good.summary)], day),
    )
    store.subscribe(TG, str(GROUP), ["cs.SD", "eess.AS"], "Lab group")
    await env.runtime.start(receive=False)
    assert await env.runtime.push(day) == 4  # the header and all three cards
    _header, first, second, third = texts(fake, GROUP)
    assert first.startswith(good.paper.title)
    assert second == good.paper.title  # title and link only
    assert third == good.paper.title
    assert fake.errors == []
    assert await env.runtime.push(day) == 0


async def test_a_bug_met_in_one_chat_does_not_stop_the_others(env: Env, monkeypatch: pytest.MonkeyPatch):
    from adapters.telegram.push import Pusher

    heal = Pusher._heal

    async def broken_for_the_group(self, chat_id, *args):
        if chat_id == str(GROUP):
            raise RuntimeError("a bug")
        await heal(self, chat_id, *args)

    monkeypatch.setattr(Pusher, "_heal", broken_for_the_group)
    subscribe_all(env.store)
    await env.runtime.start(receive=False)
    assert await env.runtime.push(SEED_DAY) == 27  # the group's messages went out before the bug
    assert all(len(texts(env.fake, chat)) == 9 for chat in (CHANNEL, GROUP, PRIVATE))


async def test_a_paper_no_link_can_name_stays_in_the_overview_without_its_breakdown_link(env: Env):
    fake, store = env.fake, env.store
    good = seed_items()[0]
    odd = replace(good.paper, base_id="2602.1234567")  # an id no /start payload can carry
    day = SEED_DAY.replace(day=19)
    store_digest(store, make_digest([good, DigestItem(odd, good.summary)], day))
    store.subscribe(TG, str(GROUP), ["cs.SD", "eess.AS"], "Lab group")
    store.set_max_cards(TG, str(GROUP), 1)  # the odd paper goes to the overview
    await env.runtime.start(receive=False)
    assert await env.runtime.push(day) == 3  # the header, the card and the overview
    overview = fake.messages_to(GROUP)[-1]
    assert overview["text"].endswith(f"2. {good.paper.title}")
    assert [e["url"] for e in overview["entities"] if e["type"] == "text_link"] == [odd.abs_url]
    assert fake.errors == []


async def test_cards_sent_while_the_llm_was_down_are_healed_by_the_next_push(tmp_path: Path, fake_llm):
    """A digest stored without summaries (its build's LLM was down): the push sends the abstracts; the
    next push, with the LLM back, summarizes the cards on the spot and edits them in place."""
    _llm, llm_server = fake_llm
    fake = await FakeTelegram().start()
    add_chats(fake)
    config = write_config(tmp_path / "digest.toml", fake.base_url, "[llm]\nretries = 0")
    no_fulltext = (
        'retries = 0\nhtml_url = "http://127.0.0.1:9/html/{id}"\npdf_url = "http://127.0.0.1:9/pdf/{id}"'
    )
    config.write_text(config.read_text().replace("retries = 0", no_fulltext, 1))
    unsummarized = [replace(item, summary=None) for item in seed_items()]
    store = Store.open(tmp_path / "data" / "digest.db")
    store_digest(store, make_digest(unsummarized))
    store.subscribe(TG, str(GROUP), ["cs.SD", "eess.AS"], "Lab")
    store.close()
    try:
        for llm_url, sent in (("http://127.0.0.1:9", 9), (llm_server.url, 0)):  # down, then back
            env = {
                "TELEGRAM_BOT_TOKEN": fake.token,
                "OPENAI_BASE_URL": f"{llm_url}/v1",
                "OPENAI_API_KEY": "k",
            }
            settings = load_settings(config, env, base_dir=tmp_path)
            store = Store.open(settings.database_path)
            service = make_service(settings, store)
            runtime = make_runtime(settings, store, service)
            await runtime.start(receive=False)
            try:
                assert await runtime.push(SEED_DAY) == sent
            finally:
                await runtime.stop()
                await service.aclose()
                store.close()
        assert len(fake.edits) == 8
        cards = [m["text"] for m in fake.chats[GROUP].messages.values()][1:]  # as edited
        assert all(
            item.summary.translation[:20] in card for item, card in zip(seed_items(), cards, strict=True)
        )
        assert fake.errors == []
    finally:
        await fake.stop()

"""The issue's scenario on Discord, in process (real discord.py against the fake Discord, the real
openai client against the fake /embeddings, real SQLite): `/digest follow` and `mute` by a channel
manager, 👍/👎 on day one's cards (ephemeral answers), then day two's push ranked for the channel: the
liked topic and the followed word as cards, the muted papers nowhere, the rest in an overview whose
select menus open any paper's breakdown; every message within Discord's limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from adapters.discord.runtime import DiscordRuntime
from adapters.discord.texts import TEXTS
from bot import discord_wiring
from bot.wiring import make_service
from config.settings import load_settings
from digest.store import Store
from tests.fakes.discord_api import MANAGER, MEMBER, FakeDiscord, buttons, check_message, selects
from tests.fakes.openai_api import FakeLLM
from tests.fakes.server import BackgroundServer
from tests.ranking_data import topic_items
from tests.telegram_support import make_digest, store_digest

DAY_ONE, DAY_TWO = date(2026, 2, 17), date(2026, 2, 18)
ZH = TEXTS["zh"]


@dataclass
class Bot:
    fake: FakeDiscord
    llm: FakeLLM
    runtime: DiscordRuntime
    store: Store
    channel: str


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    fake = await FakeDiscord().start()
    llm = FakeLLM()
    with BackgroundServer(llm.app()) as llm_server:
        config = tmp_path / "digest.toml"
        config.write_text(
            f"""
[arxiv]
api_url = "http://127.0.0.1:9/api/query"
delay_seconds = 0
retries = 0
[llm]
retries = 0
[storage]
database = "{tmp_path}/data/digest.db"
archive_dir = "{tmp_path}/archive"
[discord]
api_base_url = "{fake.api_base_url}"
gateway_url = "{fake.gateway_url}"
""",
            encoding="utf-8",
        )
        env = {
            "DISCORD_BOT_TOKEN": fake.token,
            "OPENAI_BASE_URL": f"{llm_server.url}/v1",
            "OPENAI_API_KEY": "sk-test-secret",
        }
        settings = load_settings(config, env)
        store = Store.open(settings.database_path)
        service = make_service(settings, store)
        runtime = discord_wiring.make_runtime(settings, store, service)
        noon = datetime.combine(DAY_TWO, time(12), tzinfo=ZoneInfo("Asia/Shanghai"))
        runtime.options = replace(runtime.options, now=lambda: noon)
        channel = fake.add_channel("papers")
        await runtime.start(receive=True)
        await fake.wait_for(lambda: fake.connected)
        yield Bot(fake, llm, runtime, store, channel)
        await runtime.stop()
        await service.aclose()
        store.close()
    await fake.stop()


async def answer(bot: Bot, interaction) -> dict:
    await bot.fake.wait_for(lambda: interaction.messages())
    (message,) = interaction.messages()
    return message


async def test_follow_mute_rate_then_rank_the_next_day(bot: Bot) -> None:
    fake, store, channel = bot.fake, bot.store, bot.channel
    day_one = topic_items([("codec", 4), ("music", 4), ("vision", 4)], "2602.1")
    day_two = topic_items(
        [("codec", 7), ("music", 8), ("survey", 4), ("robots", 3), ("vision", 38)], "2602.2"
    )
    store_digest(store, make_digest(day_one, DAY_ONE))
    store_digest(store, make_digest(day_two, DAY_TWO, fetched=70))

    refused = await answer(bot, await fake.slash(channel, "digest", "follow", permissions=MEMBER, terms="x"))
    assert refused["ephemeral"] and refused["content"] == ZH["refused_interests"]
    subscribed = await answer(
        bot, await fake.slash(channel, "digest", "subscribe", permissions=MANAGER, max_cards=10)
    )
    assert "最多 10 张卡片" in subscribed["content"]
    followed = await answer(
        bot, await fake.slash(channel, "digest", "follow", permissions=MANAGER, terms="navigation")
    )
    assert followed["ephemeral"] and followed["content"] == ZH["followed"].format(terms="navigation")
    await answer(bot, await fake.slash(channel, "digest", "mute", permissions=MANAGER, terms="survey"))

    # Day one: rate from the cards (each press is another member: a channel's taste is everyone's).
    assert await bot.runtime.push(DAY_ONE) > 0
    presses = []
    for message in fake.messages[channel]:
        for button in buttons(message):
            cid = button["custom_id"]
            title = next(
                (e["title"] for e in message["embeds"] if cid.endswith(e.get("url", "").rsplit("/", 1)[-1])),
                "",
            )
            if (cid.startswith("arxiv-digest:rate:up:") and "codec" in title) or (
                cid.startswith("arxiv-digest:rate:down:") and "music" in title
            ):
                presses.append(await fake.press(message, cid))
    assert len(presses) == 8
    for press in presses:
        reply = await answer(bot, press)
        assert reply["ephemeral"] and reply["content"] in (ZH["rated_up"], ZH["rated_down"])
    posted_before = len(fake.messages[channel])

    # Day two: 60 papers, 4 muted; ranked for the channel.
    assert await bot.runtime.push(DAY_TWO) > 0
    messages = fake.messages[channel][posted_before:]
    assert all(check_message(m) == [] for m in messages) and fake.violations == []
    assert "抓取总数：70 篇 | 本页显示：56 篇" in messages[0]["embeds"][0]["description"]
    cards = [e for m in messages[1:] if buttons(m) and not selects(m) for e in m["embeds"]]
    assert len(cards) == 10
    assert {c["title"].rsplit(" ", 1)[0] for c in cards} == {
        "Neural speech codec",
        "Robot navigation in crowds",
    }
    whys = [next(f["value"] for f in c["fields"] if f["name"] == "为何排在这里") for c in cards]
    assert all("与你点赞的 4 篇论文相似" in w or "关注：navigation" in w for w in whys)
    overview = [m for m in messages if selects(m)]
    assert overview and all(not any(b["type"] == 2 for b in buttons(m)) for m in overview)
    listed = [line for m in overview for e in m["embeds"] for line in e["description"].split("\n")]
    assert [line.split(". ", 1)[0] for line in listed] == [str(n) for n in range(11, 57)]
    options = [o for m in overview for s in selects(m) for o in s["options"]]
    assert len(options) == 46 and all(o["label"].split(". ", 1)[0].isdigit() for o in options)
    shown = {c["url"] for c in cards} | {f"https://arxiv.org/abs/{o['value']}" for o in options}
    expected = {i.paper.abs_url for i in day_two if "survey" not in i.paper.title}
    assert shown == expected  # every paper once; the muted ones nowhere
    assert all("Symbolic music generation" in o["label"] for o in options[-8:])  # disliked: last

    # Choosing an overview entry answers with its breakdown, only to the member who chose it.
    menu = selects(overview[0])[0]
    chosen = menu["options"][0]
    reply = await answer(bot, await fake.choose(overview[0], menu["custom_id"], chosen["value"]))
    assert reply["ephemeral"] and reply["embeds"][0]["title"] == chosen["label"].split(". ", 1)[1]
    forged = await answer(bot, await fake.choose(overview[0], menu["custom_id"], "2602.99999v1"))
    assert forged["ephemeral"] and "失效" in forged["content"]
    assert len(bot.llm.embedding_requests) == 1

    interests = await answer(bot, await fake.slash(channel, "digest", "interests"))
    assert interests["ephemeral"] and interests["content"].startswith(
        "关注：navigation\n屏蔽：survey\n评分：8 次"
    )
    assert fake.violations == []

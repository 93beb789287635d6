"""Limits that strangers cannot pass ([limits]), through the real adapters against the fakes: category
counts on /subscribe, never-built dates only for managers and a few a day, the /today cooldown, and
over-long commands answered within Telegram's 4096 characters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from adapters.discord.texts import TEXTS as DISCORD_TEXTS
from adapters.telegram.texts import TEXTS as TELEGRAM_TEXTS
from bot import discord_wiring
from bot.wiring import make_service
from config.settings import ConfigError, arxiv_categories, load_settings
from digest.limits import ChatLimits
from digest.store import Store
from tests.conftest import write_config
from tests.discord_seed import SEED_DAY, seed_store
from tests.fakes.discord_api import MANAGER, MEMBER, FakeDiscord
from tests.fakes.telegram_api import user_json
from tests.test_discord_bot import at
from tests.test_telegram_bot import GROUP, PRIVATE, Env, make_env, texts
from tests.test_telegram_bot import MEMBER as TG_MEMBER

THIRTY = sorted(c for c in arxiv_categories() if "." in c)[:30]


@pytest.fixture
async def telegram(tmp_path: Path) -> AsyncIterator[Env]:
    env = await make_env(tmp_path)
    await env.runtime.start(receive=True)
    yield env
    await env.runtime.stop()
    await env.fake.stop()
    env.store.close()


async def test_a_strangers_subscribe_with_30_categories_is_refused(telegram: Env) -> None:
    fake, store = telegram.fake, telegram.store
    fake.command(PRIVATE, "/subscribe " + " ".join(THIRTY))
    await fake.wait_for(lambda: texts(fake, PRIVATE))
    assert texts(fake, PRIVATE)[0] == TELEGRAM_TEXTS["zh"]["too_many_categories"].format(limit=6)
    assert store.get_subscription("telegram", str(PRIVATE)) is None

    # An over-long command (thousands of unknown names) gets an answer that fits one message.
    fake.command(PRIVATE, "/subscribe " + " ".join(f"xx.{i:05d}" for i in range(900)))
    await fake.wait_for(lambda: len(texts(fake, PRIVATE)) == 2)
    assert 1000 < len(texts(fake, PRIVATE)[1]) <= 4096
    assert [e for e in fake.errors if e[0] == "sendMessage"] == []


async def test_a_reply_echoing_what_was_typed_has_no_bidi_override(telegram: Env) -> None:
    fake = telegram.fake
    fake.command(PRIVATE, "/subscribe cs.S\u202eD\u2066x")
    await fake.wait_for(lambda: texts(fake, PRIVATE))
    (reply,) = texts(fake, PRIVATE)
    assert "cs.SDx" in reply and not any(c in reply for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2069")


def test_distinct_category_sets_are_bounded(tmp_path: Path) -> None:
    settings = load_settings(None, {}, base_dir=tmp_path)
    limits_settings = settings.limits.model_copy(update={"max_category_sets": 2})
    store = Store.open(tmp_path / "digest.db")
    limits = ChatLimits(limits_settings, store, settings.digest.categories)
    sets = [["cs.CL"], ["cs.LG"], ["cs.AI"]]
    store.subscribe("telegram", "1", sets[0])
    store.subscribe("discord", "2", sets[1])
    refused = limits.check_subscription("telegram", "3", sets[2])
    assert refused is not None and (refused.reason, refused.limit) == ("too_many_sets", 2)
    assert limits.check_subscription("telegram", "3", sets[0]) is None  # a set in use costs nothing
    assert limits.check_subscription("telegram", "3", settings.digest.categories) is None  # the default
    assert limits.check_subscription("telegram", "1", sets[2]) is None  # replacing its own set
    store.close()


async def test_today_in_a_group_posts_once_per_cooldown(telegram: Env) -> None:
    fake = telegram.fake
    fake.add_chat(TG_MEMBER, "private", "Member")  # the member has started the bot once
    fake.command(GROUP, "/today", user=user_json(TG_MEMBER))
    await fake.wait_for(lambda: len(texts(fake, GROUP)) == 9)
    for _ in range(2):
        fake.command(GROUP, "/today", user=user_json(TG_MEMBER))
    # the asker is told privately, twice; the group gets nothing more
    await fake.wait_for(lambda: len(texts(fake, TG_MEMBER)) == 2, timeout=10)
    note = TELEGRAM_TEXTS["zh"]["today_cooldown"].format(minutes="30")
    assert texts(fake, TG_MEMBER) == [note, note]
    assert len(texts(fake, GROUP)) == 9


# -- Discord: never-built dates -------------------------------------------------------------------


@pytest.fixture
async def discord_bot(tmp_path: Path, seed_arxiv, fake_llm) -> AsyncIterator[tuple]:
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    fake = await FakeDiscord().start()
    channel = fake.add_channel("papers")
    config = tmp_path / "digest.toml"
    config.write_text(
        f"""
[arxiv]
api_url = "{arxiv_server.url}/api/query"
html_url = "{arxiv_server.url}/html/{{id}}"
pdf_url = "{arxiv_server.url}/pdf/{{id}}"
delay_seconds = 0
[limits]
on_demand_builds_per_day = 1
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
        "OPENAI_API_KEY": "sk-limits-test-key",
    }
    settings = load_settings(config, env)
    store = Store.open(settings.database_path)
    seed_store(store)
    service = make_service(settings, store)
    runtime = discord_wiring.make_runtime(settings, store, service)
    runtime.options = replace(runtime.options, now=lambda: at(SEED_DAY.replace(day=25), 12))
    await runtime.start(receive=True)
    await fake.wait_for(lambda: fake.connected)
    yield fake, channel, llm, seed_arxiv[0], store
    await runtime.stop()
    if service.summarizer is not None:
        await service.summarizer.client.close()
    store.close()
    await fake.stop()


async def test_a_plain_members_digest_date_of_an_unbuilt_date_makes_no_llm_call(discord_bot) -> None:
    fake, channel, llm, arxiv, store = discord_bot
    asked = await fake.slash(channel, "digest", "date", day="2026-02-19", permissions=MEMBER)
    await fake.wait_for(lambda: len(asked.followups) >= 2, timeout=20)
    header = asked.followups[0]["embeds"][0]
    assert header["title"] == "arXiv Daily – 2026-02-18"  # the nearest built digest ...
    note = DISCORD_TEXTS["zh"]["not_built_member"].format(day="2026-02-19", nearest="2026-02-18")
    assert note in header["description"]  # ... with a one-line note
    assert llm.requests == [] and arxiv.requests == []
    assert store.digest_keys_for_date(SEED_DAY.replace(day=19)) == []

    # A manager may: one build a day for this channel (on_demand_builds_per_day = 1 here).
    built = await fake.slash(channel, "digest", "date", day="2026-02-19", permissions=MANAGER)
    await fake.wait_for(lambda: built.followups, timeout=30)
    assert built.followups[0]["embeds"][0]["title"] == "arXiv Daily – 2026-02-19"
    assert arxiv.requests
    calls = len(llm.requests)
    again = await fake.slash(channel, "digest", "date", day="2026-02-20", permissions=MANAGER)
    await fake.wait_for(lambda: again.followups, timeout=20)
    limit_note = DISCORD_TEXTS["zh"]["not_built_limit"].format(nearest="2026-02-19")
    assert limit_note in again.followups[0]["embeds"][0]["description"]
    assert len(llm.requests) == calls and store.digest_keys_for_date(SEED_DAY.replace(day=20)) == []
    assert fake.violations == []


async def test_digest_today_in_a_channel_posts_once_per_cooldown(discord_bot) -> None:
    fake, channel, *_ = discord_bot
    first = await fake.slash(channel, "digest", "today", permissions=MEMBER)
    await fake.wait_for(lambda: first.followups, timeout=20)
    assert not first.followups[0]["ephemeral"]
    second = await fake.slash(channel, "digest", "today", permissions=MEMBER)
    await fake.wait_for(lambda: second.messages(), timeout=10)
    (note,) = second.messages()
    assert note["ephemeral"] and note["content"] == DISCORD_TEXTS["zh"]["today_cooldown"].format(minutes="30")
    assert fake.violations == []


async def test_a_subscription_from_before_the_limits_is_not_built(
    telegram: Env, caplog: pytest.LogCaptureFixture
) -> None:
    fake, store = telegram.fake, telegram.store
    store.subscribe("telegram", str(PRIVATE), THIRTY, "stranger")  # written before [limits] existed
    store.subscribe("telegram", str(GROUP), ["cs.SD", "eess.AS"], "Lab group")
    assert await telegram.runtime.push(SEED_DAY) == 9  # the group's digest; no build of 30 categories
    assert texts(fake, PRIVATE) == []
    assert store.digest_keys_for_date(SEED_DAY) == ["2026-02-18|cs.SD,eess.AS"]
    assert "30 categories are past [limits]" in caplog.text  # refused before any arXiv request


async def test_a_category_set_past_max_category_sets_is_not_built_by_a_push(seed_arxiv, tmp_path: Path):
    """Subscriptions from before [limits] (or limits lowered since): the daily build leaves the sets
    past max_category_sets out, and a push for such a chat does not build its set on its own either."""
    arxiv, arxiv_server = seed_arxiv
    config = write_config(tmp_path / "c.toml", arxiv_server.url, "[limits]\nmax_category_sets = 1\n")
    service = make_service(load_settings(config, {}, base_dir=tmp_path))
    store = service.store
    store.subscribe("telegram", "1", ["cs.SD"], "first")
    store.subscribe("telegram", "2", ["eess.AS"], "second, past the limit")
    try:
        report = await service.build_all(SEED_DAY)
        assert sorted(d.key for d in report.digests) == [
            "2026-02-18|cs.SD",
            "2026-02-18|cs.SD,eess.AS",
        ]
        asked = len(arxiv.requests)
        with pytest.raises(ConfigError, match="max_category_sets"):
            await service.ready_digest(SEED_DAY, store.get_subscription("telegram", "2"))
        assert len(arxiv.requests) == asked and sorted(store.digest_keys_for_date(SEED_DAY)) == [
            "2026-02-18|cs.SD",
            "2026-02-18|cs.SD,eess.AS",
        ]
        # the set within the limit is served as before
        first = await service.ready_digest(SEED_DAY, store.get_subscription("telegram", "1"))
        assert first.key == "2026-02-18|cs.SD"
    finally:
        await service.aclose()

"""Asking a paper and /digest search on Discord, end to end: real discord.py against the fake Discord
(REST + gateway), the real openai client against the fake LLM, arXiv's fake full-text pages."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from adapters.discord.runtime import DiscordRuntime
from adapters.discord.texts import TEXTS
from bot import discord_wiring
from bot.wiring import make_questions, make_service
from config.settings import load_settings
from digest.service import DigestService
from tests.discord_seed import SEED_DAY, seed_store
from tests.fakes.discord_api import FakeDiscord, buttons
from tests.fakes.openai_api import FakeLLM, is_question
from tests.test_discord_bot import at

ZH = TEXTS["zh"]
TAC = "2602.15766v1"


@dataclass
class Bot:
    fake: FakeDiscord
    llm: FakeLLM
    runtime: DiscordRuntime
    service: DigestService
    channel: str


@pytest.fixture
async def bot(tmp_path: Path, seed_arxiv, fake_llm) -> AsyncIterator[Bot]:
    _arxiv, arxiv_server = seed_arxiv
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
retries = 0
[limits]
question_max_chars = 200
[storage]
database = "{tmp_path}/data/digest.db"
[discord]
api_base_url = "{fake.api_base_url}"
gateway_url = "{fake.gateway_url}"
""",
        encoding="utf-8",
    )
    env = {
        "DISCORD_BOT_TOKEN": fake.token,
        "OPENAI_BASE_URL": f"{llm_server.url}/v1",
        "OPENAI_API_KEY": "sk-t",
    }
    settings = load_settings(config, env)
    service = make_service(settings)
    seed_store(service.store)
    runtime = discord_wiring.make_runtime(settings, service.store, service, make_questions(settings, service))
    runtime.options = replace(runtime.options, now=lambda: at(SEED_DAY, 12))
    await runtime.start(receive=True)
    await fake.wait_for(lambda: fake.connected)
    yield Bot(fake, llm, runtime, service, channel)
    await runtime.stop()
    await fake.stop()
    assert service.summarizer is not None
    await service.summarizer.client.close()
    service.store.close()


async def test_the_ask_button_opens_a_modal_and_the_answer_is_ephemeral(bot: Bot) -> None:
    fake = bot.fake
    asked = await fake.slash(bot.channel, "digest", "date", day="2026-02-18")
    await fake.wait_for(lambda: len(asked.followups) >= 2)
    cards = asked.followups[1]
    ask = next(b for b in buttons(cards) if b["custom_id"] == f"arxiv-digest:ask:{TAC}")
    assert ask["label"] == "提问 1"

    opened = await fake.press(cards, ask["custom_id"])
    await fake.wait_for(lambda: opened.modal)
    assert opened.callback_type == 9 and opened.ack_seconds < 3
    assert opened.modal["custom_id"] == f"arxiv-digest:askq:{TAC}"
    assert opened.modal["title"] == ZH["ask_title"]
    (field,) = [c["component"] for c in opened.modal["components"]]
    assert field["max_length"] == 200  # limits.question_max_chars
    with pytest.raises(ValueError):  # Discord's client refuses a longer question before sending it
        await fake.submit_modal(opened, {"question": "x" * 201})

    submitted = await fake.submit_modal(opened, {"question": "What does the cascade reach on MMAR?"})
    await fake.wait_for(lambda: submitted.followups)
    assert submitted.callback_type == 5 and submitted.ack_seconds < 3  # deferred at once
    (answer,) = submitted.messages()
    assert answer["ephemeral"]  # only the asker sees it
    (embed,) = answer["embeds"]
    assert embed["title"] == "TAC: Timestamped Audio Captioning"
    assert "71.9 on MMAR" in embed["description"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields[ZH["question"]] == "What does the cascade reach on MMAR?"
    assert fields[ZH["sections_used"]] == "§3 Experiments"
    (request,) = [b for b in bot.llm.requests if is_question(b)]
    assert "The TAC→LLM cascade reaches 71.9 on MMAR." in request["messages"][1]["content"]

    # Asking again about the same paper continues the member's thread.
    member = opened.payload["member"]["user"]["id"]
    again = await fake.press(cards, ask["custom_id"], user_id=member)
    await fake.wait_for(lambda: again.modal)
    second = await fake.submit_modal(again, {"question": "The lowest hallucination rate, ahead of Gemini?"})
    await fake.wait_for(lambda: second.followups)
    follow_up = [b for b in bot.llm.requests if is_question(b)][1]["messages"]
    assert [m["role"] for m in follow_up] == ["system", "user", "user", "assistant", "user"]
    assert "4.9" in second.messages()[0]["embeds"][0]["description"]
    assert fake.violations == []


async def test_two_members_ask_the_same_card_and_both_are_answered(bot: Bot) -> None:
    # discord.py keeps open modals by custom_id alone: the second member's modal replaced the first's,
    # and once the first was answered the second submission found none and was never acknowledged.
    fake = bot.fake
    asked = await fake.slash(bot.channel, "digest", "date", day="2026-02-18")
    await fake.wait_for(lambda: len(asked.followups) >= 3)
    cards = asked.followups[1]
    first = await fake.press(cards, f"arxiv-digest:ask:{TAC}", user_id="111")
    second = await fake.press(cards, f"arxiv-digest:ask:{TAC}", user_id="222")
    await fake.wait_for(lambda: first.modal and second.modal)
    one = await fake.submit_modal(first, {"question": "What does the cascade reach on MMAR?"})
    await fake.wait_for(lambda: one.followups)
    two = await fake.submit_modal(second, {"question": "Which hallucination rate?"})
    await fake.wait_for(lambda: two.followups)
    for submitted, question in (
        (one, "What does the cascade reach on MMAR?"),
        (two, "Which hallucination rate?"),
    ):
        (answer,) = submitted.messages()
        assert answer["ephemeral"] and submitted.ack_seconds < 3
        assert answer["embeds"][0]["fields"][0]["value"] == question
    assert len([b for b in bot.llm.requests if is_question(b)]) == 2

    # A submission naming a paper whose Ask button is not on the card it came from is refused.
    other = next(
        b["custom_id"].removeprefix("arxiv-digest:ask:")
        for b in buttons(asked.followups[2])
        if b["custom_id"].startswith("arxiv-digest:ask:")
    )
    third = await fake.press(cards, f"arxiv-digest:ask:{TAC}", user_id="333")
    await fake.wait_for(lambda: third.modal)
    third.modal = {**third.modal, "custom_id": f"arxiv-digest:askq:{other}"}
    forged = await fake.submit_modal(third, {"question": "Forged?"})
    await fake.wait_for(lambda: forged.messages())
    (notice,) = forged.messages()
    assert notice["ephemeral"] and not notice.get("embeds")
    assert len([b for b in bot.llm.requests if is_question(b)]) == 2
    assert fake.violations == []


async def test_a_forged_ask_button_opens_nothing(bot: Bot) -> None:
    fake = bot.fake
    asked = await fake.slash(bot.channel, "digest", "date", day="2026-02-18")
    await fake.wait_for(lambda: len(asked.followups) >= 2)
    forged = await fake.press(asked.followups[1], "arxiv-digest:ask:2602.99999v1")
    await fake.wait_for(lambda: forged.messages())
    assert forged.modal is None and forged.messages()[0]["ephemeral"]
    assert not [b for b in bot.llm.requests if is_question(b)]
    # With asking switched off ([limits] questions_per_user_per_day = 0) no form opens for nothing.
    assert bot.runtime.questions is not None
    bot.runtime.questions.per_day = 0
    off = await fake.press(asked.followups[1], f"arxiv-digest:ask:{TAC}")
    await fake.wait_for(lambda: off.messages())
    assert off.modal is None and off.messages()[0]["content"] == ZH["ask_off"]


async def test_digest_search_finds_by_title_breakdown_and_author(bot: Bot) -> None:
    fake = bot.fake
    for query in ("captioning", "LoRA", 'author:"Sonal Kumar"'):
        found = await fake.slash(bot.channel, "digest", "search", query=query)
        await fake.wait_for(lambda f=found: f.messages())
        (message,) = found.messages()
        assert message["ephemeral"]
        (embed,) = message["embeds"]
        assert (
            f"2026-02-18 · [TAC: Timestamped Audio Captioning](https://arxiv.org/abs/{TAC})"
            in embed["description"]
        )
        first = buttons(message)[0]
        assert first["custom_id"] == f"arxiv-digest:bd:{TAC}"
    # A result's button opens its breakdown.
    press = await fake.press(message, first["custom_id"])
    await fake.wait_for(lambda: press.messages())
    assert press.messages()[0]["ephemeral"]
    assert press.messages()[0]["embeds"][0]["title"] == "TAC: Timestamped Audio Captioning"

    nothing = await fake.slash(bot.channel, "digest", "search", query="zzzunknownzzz")
    await fake.wait_for(lambda: nothing.messages())
    assert nothing.messages()[0]["content"] == ZH["search_none"].format(query="zzzunknownzzz")
    hostile = await fake.slash(bot.channel, "digest", "search", query='"] NOT ( @everyone')
    await fake.wait_for(lambda: hostile.messages())
    assert re.search("没有找到|无法搜索", hostile.messages()[0]["content"])
    assert fake.violations == []


async def test_a_paper_found_by_search_is_asked_from_its_breakdown(bot: Bot) -> None:
    # A search result (or an overview entry) has no card: its ephemeral breakdown carries the Ask button.
    fake = bot.fake
    found = await fake.slash(bot.channel, "digest", "search", query="captioning")
    await fake.wait_for(lambda: found.messages())
    result = found.messages()[0]
    press = await fake.press(result, buttons(result)[0]["custom_id"])
    await fake.wait_for(lambda: press.messages())
    (breakdown,) = press.messages()
    assert breakdown["ephemeral"]
    assert [b["custom_id"] for b in buttons(breakdown)] == [f"arxiv-digest:ask:{TAC}"]
    opened = await fake.press(breakdown, f"arxiv-digest:ask:{TAC}")
    await fake.wait_for(lambda: opened.modal)
    submitted = await fake.submit_modal(opened, {"question": "What does the cascade reach on MMAR?"})
    await fake.wait_for(lambda: submitted.followups)
    (answer,) = submitted.messages()
    assert answer["ephemeral"] and "71.9 on MMAR" in answer["embeds"][0]["description"]
    assert fake.violations == []

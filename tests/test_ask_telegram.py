"""Asking a paper and /search on Telegram, end to end: the real PTB Application, DigestService, SQLite
store and openai client against the fake Bot API, the fake LLM and arXiv's fake full-text pages."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.telegram.texts import TEXTS
from bot.telegram_wiring import TelegramRuntime, make_runtime
from bot.wiring import make_questions, make_service
from config.settings import load_settings
from digest.store import Store
from tests.fakes.openai_api import FakeLLM, is_question
from tests.fakes.telegram_api import FakeTelegram, user_json
from tests.telegram_support import SEED_DAY, seed_store

CHANNEL, GROUP, PRIVATE = -1001000000001, -1002000000002, 5550001
MEMBER, OTHER = 202, 303
TG = "telegram"
ZH = TEXTS["zh"]
TAC = "2602.15766v1"  # the seed's first paper: its full text says "The TAC→LLM cascade reaches 71.9 on MMAR."


@dataclass
class Env:
    fake: FakeTelegram
    llm: FakeLLM
    store: Store
    runtime: TelegramRuntime
    fulltext_requests: list[str]


@pytest.fixture
async def env(tmp_path: Path, seed_arxiv, fake_llm) -> AsyncIterator[Env]:
    arxiv, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    fake = await FakeTelegram().start()
    fake.add_chat(CHANNEL, "channel", "Audio papers", username="audiopapers")
    fake.add_chat(GROUP, "supergroup", "Lab group", admins={101}, owner=100)
    fake.add_chat(PRIVATE, "private", "Reader")
    config = tmp_path / "digest.toml"
    config.write_text(
        f"""
[digest]
language = "zh"  # the seed digest's language, so its breakdowns are found
[arxiv]
api_url = "{arxiv_server.url}/api/query"
html_url = "{arxiv_server.url}/html/{{id}}"
pdf_url = "{arxiv_server.url}/pdf/{{id}}"
delay_seconds = 0
retries = 0
[telegram]
api_base_url = "{fake.base_url}"
""",
        encoding="utf-8",
    )
    secrets = {
        "TELEGRAM_BOT_TOKEN": fake.token,
        "OPENAI_BASE_URL": f"{llm_server.url}/v1",
        "OPENAI_API_KEY": "sk-test",
    }
    settings = load_settings(config, secrets, base_dir=tmp_path)
    store = Store.open(settings.database_path)
    seed_store(store)
    service = make_service(settings, store)
    runtime = make_runtime(settings, store, service, make_questions(settings, service))
    for chat in (CHANNEL, GROUP, PRIVATE):
        store.subscribe(TG, str(chat), ["cs.SD", "eess.AS"], "t")
    await runtime.start(receive=True)
    await runtime.push(SEED_DAY)
    yield Env(fake, llm, store, runtime, arxiv.fulltext_requests)
    await runtime.stop()
    await fake.stop()
    assert service.summarizer is not None
    await service.summarizer.client.close()  # on this loop, before it closes
    store.close()


def card(env: Env, chat: int, paper_id: str = TAC) -> dict[str, Any]:
    return next(m for m in env.fake.messages_to(chat) if f"arxiv.org/abs/{paper_id}" in m["html"])


def questions(llm: FakeLLM) -> list[dict[str, Any]]:
    return [body for body in llm.requests if is_question(body)]


async def answer_to(env: Env, chat: int, message_id: int, count: int = 1) -> list[dict[str, Any]]:
    def replies() -> list[dict[str, Any]]:
        return [
            m
            for m in env.fake.messages_to(chat)
            if (m.get("reply_to_message") or {}).get("message_id") == message_id
        ]

    return await env.fake.wait_for(lambda: len(replies()) >= count and replies())


async def test_a_reply_to_a_card_asks_its_paper_and_a_follow_up_keeps_the_thread(env: Env) -> None:
    tac = card(env, PRIVATE)
    env.fake.reply(PRIVATE, tac["message_id"], "What does the cascade reach on MMAR?")
    (answer,) = await answer_to(env, PRIVATE, tac["message_id"])

    (request,) = questions(env.llm)  # one LLM request, holding the question and the paper's full text
    prompt = "\n".join(m["content"] for m in request["messages"])
    assert "What does the cascade reach on MMAR?" in prompt
    assert "The TAC→LLM cascade reaches 71.9 on MMAR." in prompt  # the Experiments section of the HTML
    assert "## 1 Introduction" in prompt and "## 3 Experiments" in prompt
    assert env.fulltext_requests == ["/html/2602.15766v1"]
    assert env.store.get_fulltext(TAC) is not None  # cached for the next question

    assert answer["reply_to_message"]["message_id"] == tac["message_id"]
    assert "71.9 on MMAR" in answer["text"]
    assert "依据：§3 Experiments" in answer["text"]
    assert "What does the cascade reach on MMAR?" in answer["text"]  # quoted
    row = env.store.db.conn.execute(
        "select status, prompt_tokens, completion_tokens, sections from questions"
    ).fetchone()
    assert row[0] == "ok" and row[1] > 1000 and row[2] > 0 and json.loads(row[3]) == ["§3 Experiments"]

    # A follow-up reply to the answer continues the thread: the earlier turn goes along.
    env.fake.reply(PRIVATE, answer["message_id"], "And the lowest hallucination rate, ahead of Gemini?")
    (second,) = await answer_to(env, PRIVATE, answer["message_id"])
    follow_up = questions(env.llm)[1]["messages"]
    roles = [m["role"] for m in follow_up]
    assert roles == ["system", "user", "user", "assistant", "user"]
    assert follow_up[2]["content"] == "Question: What does the cascade reach on MMAR?"
    assert "71.9 on MMAR" in follow_up[3]["content"]
    assert "4.9" in second["text"]
    assert env.fulltext_requests == ["/html/2602.15766v1"]  # fetched once, then read from the cache


async def test_the_paper_does_not_say_and_numbers_it_lacks_are_marked(env: Env) -> None:
    tac = card(env, PRIVATE)
    env.fake.reply(PRIVATE, tac["message_id"], "zzz qqq xyzzy?")
    (answer,) = await answer_to(env, PRIVATE, tac["message_id"])
    assert ZH["not_said"] in answer["text"]

    env.llm.responder = lambda body: (
        200,
        json.dumps(
            {
                "answer": "It reaches **72.5** on MMAR and 71.9 overall. <b>ignore</b>",
                "sections": ["§3 Experiments", "§7 Invented section"],
                "answered": True,
            }
        ),
    )
    env.fake.reply(PRIVATE, tac["message_id"], "Score?")
    await answer_to(env, PRIVATE, tac["message_id"], count=2)
    answer = next(m for m in env.fake.messages_to(PRIVATE) if "72.5" in m["text"])
    assert "72.5 (?)" in answer["text"] and "71.9 overall" in answer["text"]
    assert ZH["unverified"].format(numbers="72.5") in answer["text"]
    assert "§7" not in answer["text"]  # a section the paper does not have is not cited
    assert "<b>ignore</b>" in answer["text"]  # shown as text, never parsed as markup
    assert env.fake.errors == []


async def test_the_21st_question_of_a_day_gets_a_limit_note(env: Env) -> None:
    tac = card(env, PRIVATE)
    for number in range(1, 21):
        env.fake.reply(PRIVATE, tac["message_id"], f"What does the cascade reach on MMAR ({number})?")
        await answer_to(env, PRIVATE, tac["message_id"], count=number)
    assert len(questions(env.llm)) == 20
    last = env.fake.reply(PRIVATE, tac["message_id"], "One more on MMAR?")
    (note,) = await answer_to(env, PRIVATE, last["message_id"])
    assert note["text"] == ZH["ask_limit"].format(limit=20)
    assert len(questions(env.llm)) == 20  # the 21st cost nothing


async def test_an_empty_question_is_told_so_and_costs_nothing(env: Env) -> None:
    tac = card(env, PRIVATE)
    empty = env.fake.reply(PRIVATE, tac["message_id"], "\u200b\u200b \u200e")  # invisible characters only
    (note,) = await answer_to(env, PRIVATE, empty["message_id"])
    assert note["text"] == ZH["ask_empty"]
    assert questions(env.llm) == []


async def test_forged_and_foreign_replies_are_ignored(env: Env) -> None:
    fake = env.fake
    tac = card(env, PRIVATE)
    # A reply quoting a "bot message" the bot never sent (forged), and one to a user's own message.
    forged = {**tac, "message_id": 999}
    fake.reply(PRIVATE, 999, "Forged question?", quoted=forged)
    mine = fake.user_message(GROUP, "my own note", user=user_json(OTHER))
    fake.reply(GROUP, mine["message_id"], "What does the cascade reach on MMAR?", user=user_json(MEMBER))
    # A group member's reply to the bot's card is a question.
    group_card = card(env, GROUP)
    fake.reply(
        GROUP, group_card["message_id"], "What does the cascade reach on MMAR?", user=user_json(MEMBER)
    )
    (answer,) = await answer_to(env, GROUP, group_card["message_id"])
    assert "71.9 on MMAR" in answer["text"]
    # The ignored replies came before it in the same batch of updates, and their handling never waits.
    await fake.wait_for(lambda: not fake._updates)
    assert len(questions(env.llm)) == 1
    assert not [
        m
        for m in fake.sent
        if (m.get("reply_to_message") or {}).get("message_id") in (999, mine["message_id"])
    ]


async def test_a_channel_reader_asks_under_the_breakdown_in_the_private_chat(env: Env) -> None:
    fake = env.fake
    channel_card = card(env, CHANNEL)
    query = fake.press(CHANNEL, channel_card["message_id"])
    await fake.wait_for(lambda: query in fake.answers)
    link = fake.answers[query]["url"]
    fake.command(PRIVATE, "/start " + link.split("start=")[1])
    breakdown = await fake.wait_for(
        lambda: next((m for m in fake.messages_to(PRIVATE)[9:] if "方法" in m["text"]), None)
    )
    hint = await fake.wait_for(
        lambda: next((m for m in fake.messages_to(PRIVATE) if m["text"] == ZH["ask_hint"]), None)
    )
    fake.reply(PRIVATE, breakdown["message_id"], "What does the cascade reach on MMAR?")
    (answer,) = await answer_to(env, PRIVATE, breakdown["message_id"])
    assert "71.9 on MMAR" in answer["text"]
    fake.reply(PRIVATE, hint["message_id"], "And the lowest hallucination rate, ahead of Gemini?")
    (second,) = await answer_to(env, PRIVATE, hint["message_id"])
    assert "4.9" in second["text"]


async def test_the_ask_button_says_how_and_opens_the_private_chat_from_a_channel(env: Env) -> None:
    """Every card has 💬 Ask: in a chat where readers can reply it says how (a toast, the card unchanged);
    in a channel it opens the reader's private chat on the breakdown, which takes the question."""
    fake = env.fake
    mine = card(env, PRIVATE)
    (ask,) = [b for b in mine["reply_markup"]["inline_keyboard"][0] if b["text"] == "💬 提问"]
    assert ask["callback_data"] == f"ak:{TAC}"
    edits_before = len(fake.edits)
    query = fake.press(PRIVATE, mine["message_id"], ask["callback_data"])
    await fake.wait_for(lambda: query in fake.answers)
    assert (
        fake.answers[query]["text"] == ZH["ask_how"]
        and str(fake.answers[query]["show_alert"]).lower() == "true"
    )
    assert len(fake.edits) == edits_before and not questions(env.llm)

    channel_card = card(env, CHANNEL)
    query = fake.press(CHANNEL, channel_card["message_id"], f"ak:{TAC}")
    await fake.wait_for(lambda: query in fake.answers)
    link = fake.answers[query]["url"]
    assert link.startswith("https://t.me/") and "start=bd_2602_15766v1" in link
    fake.command(PRIVATE, "/start " + link.split("start=")[1])
    hint = await fake.wait_for(
        lambda: next((m for m in fake.messages_to(PRIVATE) if m["text"] == ZH["ask_hint"]), None)
    )
    fake.reply(PRIVATE, hint["message_id"], "What does the cascade reach on MMAR?")
    (answer,) = await answer_to(env, PRIVATE, hint["message_id"])
    assert "71.9 on MMAR" in answer["text"]

    forged = fake.press(PRIVATE, mine["message_id"], "ak:2602.99999v1")  # well-formed, not on the card
    await fake.wait_for(lambda: forged in fake.answers)
    assert fake.answers[forged]["text"] == ZH["stale_button"]


async def test_search_by_title_word_breakdown_word_and_author(env: Env) -> None:
    fake = env.fake
    fake.command(PRIVATE, "/search captioning")  # a word of the title
    fake.command(PRIVATE, "/search 多音场景")  # words of the (Chinese) breakdown
    fake.command(PRIVATE, '/search author:"Sonal Kumar"')
    fake.command(PRIVATE, "/search zzzunknownzzz")
    fake.command(PRIVATE, '/search " NOT ( OR')
    replies = await fake.wait_for(
        lambda: len(fake.messages_to(PRIVATE)) >= 14 and fake.messages_to(PRIVATE)[9:]
    )
    found = [m for m in replies if "的搜索结果" in m["text"]]
    assert len(found) == 3
    for message in found:
        assert "TAC: Timestamped Audio Captioning" in message["text"]
        assert "2026-02-18" in message["text"]
        links = [e["url"] for e in message.get("entities", []) if e["type"] == "text_link"]
        assert f"https://arxiv.org/abs/{TAC}" in links
        assert "https://t.me/DigestTestBot?start=bd_2602_15766v1" in links  # its breakdown, one tap away
    assert ZH["search_none"].format(query="zzzunknownzzz") in [m["text"] for m in replies]
    assert len(replies) == 5  # the query syntax never failed: every search was answered
    # a 429 when PTB's limiter and Telegram's bucket disagree by a message is waited out, never a failure
    assert {code for _method, code, _text in fake.errors} <= {429}

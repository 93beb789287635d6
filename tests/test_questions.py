"""digest/questions.py against the fake LLM (the real openai client): what is checked before paying for
a question, the daily limit, failures, and how sections and numbers are held to the text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from openai import AsyncOpenAI

from digest.questions import (
    QuestionService,
    check_sections,
    mark_unverified,
    parse_answer,
    section_label,
)
from digest.store import Store
from tests.fakes.openai_api import is_question
from tests.telegram_support import seed_store

TAC = "2602.15766v1"


def test_only_sections_of_the_text_are_cited() -> None:
    headings = ["Abstract", "1 Introduction", "3 Experiments", "IV. RESULTS", "Related work"]
    cited = ["§3 Experiments", "3", "experiments", "§9 Ablations", "Related", "§IV. RESULTS", "Abstract", 7]
    assert check_sections(cited, headings) == ("§3 Experiments", "§IV. RESULTS", "Abstract")
    assert section_label("4.2 Setup") == "§4.2 Setup" and section_label("Appendix") == "Appendix"


def test_a_prose_reply_is_taken_as_the_answer() -> None:
    answer, cited, answered = parse_answer("It uses LoRA (§3 Experiments, see also §2).")
    assert answer.startswith("It uses LoRA") and answered
    assert check_sections(cited, ["1 Introduction", "2 Method", "3 Experiments"]) == (
        "§3 Experiments",
        "§2 Method",
    )
    assert parse_answer("The paper does not say.")[2] is False
    with pytest.raises(ValueError):
        parse_answer('{"translation": "a summary, not an answer"}')


def test_unverified_numbers_are_marked_where_they_stand() -> None:
    text = "F1 of 72.5 and 0.5; 172.55 and 72.5% stay apart."
    assert mark_unverified(text, ["72.5"]) == "F1 of 72.5 (?) and 0.5; 172.55 and 72.5 (?)% stay apart."
    assert mark_unverified("5.5 and 5.", ["5"]) == "5.5 and 5 (?)."


@pytest.fixture
async def service(fake_llm):
    llm, server = fake_llm
    store = Store.memory()
    seed_store(store)
    client = AsyncOpenAI(api_key="sk-test", base_url=f"{server.url}/v1", max_retries=0)
    clock = {"now": datetime(2026, 2, 18, 3, tzinfo=UTC)}
    questions = QuestionService(
        store,
        client,
        model="gpt-4o-mini",
        language="en",
        fulltext=None,  # no full text: the abstract
        per_day=2,
        max_chars=50,
        paper_token_budget=4000,
        timezone="Asia/Shanghai",
        now=lambda: clock["now"],
    )
    yield questions, llm, clock
    await client.close()


async def test_nothing_is_paid_for_a_question_that_cannot_be_asked(service) -> None:
    questions, llm, _clock = service
    assert (await questions.ask("t", 1, TAC, " \x00 ")).status == "empty"
    too_long = await questions.ask("t", 1, TAC, "x" * 51)
    assert too_long.status == "too_long" and too_long.limit == 50
    assert (await questions.ask("t", 1, "2699.00001v1", "What?")).status == "gone"
    questions.per_day = 0
    assert (await questions.ask("t", 1, TAC, "What?")).status == "off"
    assert llm.requests == []


async def test_the_daily_limit_is_per_user_and_per_local_day(service) -> None:
    questions, llm, clock = service
    for _ in range(2):
        answer = await questions.ask("telegram", 7, TAC, "Which captioning model?")
        assert answer.status == "ok" and answer.sections == ("Abstract",)
    assert (await questions.ask("telegram", 7, TAC, "Which captioning model?")).status == "limit"
    assert (await questions.ask("discord", 7, TAC, "Which captioning model?")).status == "ok"  # another user
    clock["now"] += timedelta(hours=18)  # 05:00 the next day in Shanghai
    assert (await questions.ask("telegram", 7, TAC, "Which captioning model?")).status == "ok"
    assert len([b for b in llm.requests if is_question(b)]) == 4
    prompt = llm.requests[0]["messages"][1]["content"]
    assert "## Abstract" in prompt and "Timestamped Audio Captioner" in prompt
    rows = questions.store.db.conn.execute("select status, prompt_tokens, day from questions").fetchall()
    assert [r[0] for r in rows] == ["ok"] * 4 and all(r[1] > 0 for r in rows)
    assert [r[2] for r in rows] == ["2026-02-18"] * 3 + ["2026-02-19"]


async def test_a_failed_llm_call_is_recorded_and_not_counted(service) -> None:
    questions, llm, _clock = service
    llm.responder = lambda body: (500, "upstream down")
    answer = await questions.ask("telegram", 9, TAC, "Which model?")
    assert answer.status == "failed"
    llm.responder = lambda body: (200, json.dumps({"translation": "a summary, not an answer"}))
    assert (await questions.ask("telegram", 9, TAC, "Which model?")).status == "failed"
    llm.responder = lambda body: (200, json.dumps({"answer": "", "sections": [], "answered": False}))
    assert (await questions.ask("telegram", 9, TAC, "Which model?")).status == "not_said"
    assert questions.asked_today("telegram", "9") == 1  # failures do not use up the reader's questions
    rows = questions.store.db.conn.execute(
        "select status, prompt_tokens from questions order by id"
    ).fetchall()
    assert [r[0] for r in rows] == ["failed", "failed", "not_said"]
    assert rows[0][1] == 0 and rows[1][1] > 0  # the malformed reply's tokens are on record

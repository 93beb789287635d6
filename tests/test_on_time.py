"""On time on a big day, on a short clock: the daily job summarizes first the papers chats receive as
cards, and a chat whose cards are ready is pushed at publish_at while the build goes on with the rest.

Real DigestService, SQLite store and PTB runtime against the fake arXiv, a slow fake LLM (one request at
a time) and the fake Bot API. Two channels follow narrow category sets whose only papers come late in
arXiv order; the configured set (the archive) holds all eight seed papers.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.run import daily_job
from bot.telegram_wiring import make_runtime
from bot.wiring import make_service
from config.settings import load_settings
from digest import service as service_module
from digest.interests import FOLLOW, parse_terms
from tests.conftest import SEED_JSON, write_config
from tests.fakes.openai_api import paper_id_of
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_support import SEED_DAY

ZH = {p["id"]: p["zh"] for p in json.loads(SEED_JSON.read_text(encoding="utf-8"))["papers"]}

CL_CHANNEL, LG_CHANNEL = -1001000000011, -1001000000012
CL_PAPER, LG_PAPER = "2602.15537v1", "2602.15484v1"  # 4th and 7th of the eight, newest first
FOLLOW_CHANNEL, FOLLOWED_PAPER = -1001000000013, "2602.15307v1"  # the last: "What Do Neurons Listen To?"
LATE_CHANNEL = -1001000000014


def _telegram_service(config: Path, llm_url: str, telegram: FakeTelegram, tmp_path: Path):
    """The settings and service of a bot on the fake LLM and the fake Telegram."""
    env = {
        "OPENAI_BASE_URL": f"{llm_url}/v1",
        "OPENAI_API_KEY": "sk-test",
        "TELEGRAM_BOT_TOKEN": telegram.token,
    }
    settings = load_settings(config, env, base_dir=tmp_path)
    return settings, make_service(settings)


async def test_cards_first_and_a_chat_pushed_before_the_build_ends(seed_arxiv, fake_llm, tmp_path: Path):
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    llm.latency = 0.3  # a slow LLM: the eight papers take 2.4 s, one at a time
    telegram = await FakeTelegram().start()
    telegram.add_chat(CL_CHANNEL, "channel", "Language")
    telegram.add_chat(LG_CHANNEL, "channel", "Learning")
    telegram.add_chat(FOLLOW_CHANNEL, "channel", "Neurons")
    telegram.add_chat(LATE_CHANNEL, "channel", "Late")
    config = tmp_path / "digest.toml"
    config.write_text(
        f"""
[digest]
categories = ["cs.SD", "eess.AS"]
timezone = "Asia/Shanghai"
anchor = "08:50"
language = "zh"
[arxiv]
api_url = "{arxiv_server.url}/api/query"
html_url = "{arxiv_server.url}/html/{{id}}"
pdf_url = "{arxiv_server.url}/pdf/{{id}}"
delay_seconds = 0
[llm]
concurrency = 1
[telegram]
api_base_url = "{telegram.base_url}"
""",
        encoding="utf-8",
    )
    settings, service = _telegram_service(config, llm_server.url, telegram, tmp_path)
    service.store.subscribe("telegram", str(CL_CHANNEL), ["cs.CL"], "Language")
    service.store.subscribe("telegram", str(LG_CHANNEL), ["cs.LG"], "Learning")
    # The whole configured set, but one card: the paper its interests rank first, the last in arXiv order.
    service.store.subscribe("telegram", str(FOLLOW_CHANNEL), [], "Neurons")
    service.store.set_max_cards("telegram", str(FOLLOW_CHANNEL), 1)
    service.interests.add("telegram", str(FOLLOW_CHANNEL), FOLLOW, parse_terms("neurons"))
    runtime = make_runtime(settings, service.store, service)
    await runtime.start(receive=False)
    archive = settings.archive_dir / "2026-02-18-arxiv-daily.md"
    try:
        push_at = datetime.now(UTC) + timedelta(seconds=1.2)
        job = asyncio.create_task(daily_job(service, [runtime], SEED_DAY, push_at=push_at))

        # The channels' cards are ready within a second, but nothing leaves before publish_at...
        await asyncio.sleep(0.9)
        assert telegram.sent == []
        # (One channel unsubscribes meanwhile, its digest prepared: it is not sent.)
        service.store.deactivate("telegram", str(LG_CHANNEL), "unsubscribed with /unsubscribe")
        # (Another subscribes after the push began: it gets the digest too, once the build is done.)
        service.store.subscribe("telegram", str(LATE_CHANNEL), [], "Late")
        # ...and then each channel's push starts at once, long before the build ends.
        await telegram.wait_for(lambda: len(telegram.messages_to(CL_CHANNEL)) == 2)
        assert datetime.now(UTC) >= push_at
        await telegram.wait_for(lambda: len(telegram.messages_to(FOLLOW_CHANNEL)) == 3)  # + overview
        assert len(llm.requests) < 8
        assert not archive.exists()
        # A reader's /today for the whole configured digest meanwhile waits for the build's summaries
        # rather than paying the LLM for them a second time.
        archive_digest = service.get_digest(SEED_DAY)
        assert archive_digest is not None
        today = asyncio.create_task(service.chat_digest(archive_digest, "telegram", "5550001"))

        await asyncio.wait_for(job, timeout=30)
        shown = await asyncio.wait_for(today, timeout=5)
    finally:
        await runtime.stop()
        await telegram.stop()
        if service.summarizer is not None:
            await service.summarizer.client.close()
        service.store.close()

    # The channels' cards were summarized first, then the archive's other papers, in arXiv order.
    order = [paper_id_of(body) for body in llm.requests]
    assert set(order[:3]) == {CL_PAPER, LG_PAPER, FOLLOWED_PAPER}
    assert len(order) == 8 and len(set(order)) == 8
    assert telegram.messages_to(LG_CHANNEL) == []
    assert len(telegram.messages_to(LATE_CHANNEL)) == 9  # the header and the eight cards
    assert len(shown.cards) == 8 and all(r.item.summary is not None for r in shown.cards)
    assert archive.exists()
    # The card went out translated: the LLM's text, not the English abstract.
    zh = {p["id"]: p["zh"] for p in json.loads(SEED_JSON.read_text(encoding="utf-8"))["papers"]}
    card = telegram.messages_to(CL_CHANNEL)[1]["text"]
    assert zh[CL_PAPER]["translation"][:20] in card
    followed = telegram.messages_to(FOLLOW_CHANNEL)[1]["text"]
    assert "Neurons" in followed and zh[FOLLOWED_PAPER]["translation"][:20] in followed


async def test_a_build_stopped_midway_stops_at_once_and_resumes(seed_arxiv, fake_llm, tmp_path: Path):
    # SIGTERM during a build cancels it: the fetcher and the workers stop together (none waits on the
    # other), and the next build summarizes only what is missing.
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    llm.latency = 0.3
    config = write_config(tmp_path / "c.toml", arxiv_server.url)
    # One worker: the fetcher, far ahead, waits on a full queue when the stop comes.
    config.write_text(config.read_text().replace("concurrency = 4", "concurrency = 1"))
    env = {"OPENAI_BASE_URL": f"{llm_server.url}/v1", "OPENAI_API_KEY": "sk-test"}
    service = make_service(load_settings(config, env, base_dir=tmp_path))
    try:
        build = asyncio.create_task(service.build(SEED_DAY))
        # Stopped once the first paper is stored (with one worker, the second request means it is),
        # rather than after a fixed time that a loaded machine may not reach it in.
        for _ in range(500):
            if len(llm.requests) >= 2:
                break
            await asyncio.sleep(0.02)
        build.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(build, timeout=5)
        first = len(llm.requests)
        report = await service.build(SEED_DAY)
        assert report.missing_summaries == 0
        assert len(llm.requests) - first < 8  # what was done before the stop was kept
    finally:
        await service.aclose()
        service.store.close()


async def test_the_next_daily_job_heals_the_cards_the_llm_failed(
    seed_arxiv, fake_llm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """`run` alone, no hand-run command: the LLM fails every paper on the day, so the cards go out with
    their abstracts; the next day's job asks again for those cards only and edits them in place. A
    chat subscribed meanwhile gets the new day's digest, not the old one."""
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    telegram = await FakeTelegram().start()
    telegram.add_chat(CL_CHANNEL, "channel", "Sound")
    telegram.add_chat(LG_CHANNEL, "channel", "Newcomer")
    config = write_config(
        tmp_path / "c.toml", arxiv_server.url, f'[telegram]\napi_base_url = "{telegram.base_url}"\n'
    )
    settings, service = _telegram_service(config, llm_server.url, telegram, tmp_path)
    service.store.subscribe("telegram", str(CL_CHANNEL), [], "Sound")
    service.store.set_max_cards("telegram", str(CL_CHANNEL), 2)
    runtime = make_runtime(settings, service.store, service)
    await runtime.start(receive=False)
    try:
        after_push: list[str] = []  # papers asked for once the channel had its digest

        def failing(body: dict) -> tuple[int, str]:  # every paper fails, the build goes on
            if telegram.messages_to(CL_CHANNEL):
                after_push.append(paper_id_of(body) or "")
            return 200, "not JSON"

        llm.responder = failing
        job = daily_job(service, [runtime], SEED_DAY, retry_seconds=0, push_at=datetime.now(UTC))
        await asyncio.wait_for(job, timeout=60)
        sent = telegram.messages_to(CL_CHANNEL)
        assert len(sent) == 4 and telegram.edits == []  # header, 2 cards with abstracts, overview
        cards = [m["text"] for m in sent[1:3]]
        card_ids = [pid for pid in ZH if any(pid in card for card in cards)]
        assert len(card_ids) == 2
        assert not any(ZH[pid]["translation"][:20] in card for pid in card_ids for card in cards)
        # The push due at publish_at sent what the build had made, without asking again; the healing
        # pass after the build asked once more for the two cards (in vain that day).
        other = next(pid for pid in ZH if pid not in card_ids)
        assert [llm.calls_for(pid) for pid in card_ids] == [2 * llm.calls_for(other)] * 2
        assert [after_push.count(pid) for pid in card_ids] == [llm.calls_for(other)] * 2

        service.store.subscribe("telegram", str(LG_CHANNEL), [], "Newcomer")
        llm.responder = None  # the next day the LLM answers again
        monkeypatch.setattr(service_module, "LAZY_RETRY_SECONDS", 0.0)  # (a day has passed)
        asked = len(llm.requests)
        await asyncio.wait_for(daily_job(service, [runtime], SEED_DAY + timedelta(days=1)), timeout=60)
    finally:
        await runtime.stop()
        await telegram.stop()
        await service.aclose()
        service.store.close()

    # Of the first day's papers only the two cards were asked again (the others wait for a reader),
    # and the two were edited in place.
    again = [paper_id_of(body) for body in llm.requests[asked:]]
    assert sorted(pid for pid in again if pid in ZH) == sorted(card_ids)
    assert len(telegram.edits) == 2
    for edit in telegram.edits:
        assert any(ZH[pid]["translation"][:20] in edit["text"] for pid in card_ids)
    newcomer = telegram.messages_to(LG_CHANNEL)
    assert newcomer and "2026-02-19" in newcomer[0]["text"]  # the new day's digest only
    assert not any(pid in m["text"] for m in newcomer for pid in ZH)
    assert len(telegram.messages_to(CL_CHANNEL)) == 4 + len(newcomer)  # nothing of the first day again
    assert telegram.errors == []

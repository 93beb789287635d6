"""Per-chat digests in the service. Cost: papers no chat shows as a card (and the archive does not
need) are summarized when a reader first asks for their breakdown, once, not up front; and a push
resumed after a crash keeps its order. Real service, fake arXiv and fake LLM."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date
from pathlib import Path

from bot.wiring import make_service
from config.settings import load_settings
from digest.interests import FOLLOW, Interests, parse_terms
from tests.conftest import write_config
from tests.ranking_data import topic_items
from tests.telegram_support import make_digest, store_digest

DAY = date(2026, 2, 18)


async def test_only_cards_are_summarized_up_front_the_rest_on_request(seed_arxiv, fake_llm, tmp_path: Path):
    _arxiv, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    config = write_config(tmp_path / "c.toml", arxiv_server.url)
    # The configured (archived) set is another one: the seed's set is only a subscription's.
    config.write_text(
        config.read_text().replace('categories = ["cs.SD", "eess.AS"]', 'categories = ["cs.AI"]')
    )
    env = {"OPENAI_BASE_URL": f"{llm_server.url}/v1", "OPENAI_API_KEY": "sk-test"}
    settings = load_settings(config, env, base_dir=tmp_path)
    service = make_service(settings)
    store = service.store
    store.subscribe("telegram", "-1001", ["cs.SD", "eess.AS"], "channel")
    store.set_max_cards("telegram", "-1001", 3)
    try:
        report = await service.build_all(DAY)
        seed = next(d for d in report.digests if "cs.SD" in d.categories)
        ids = [i.paper.versioned_id for i in seed.items]  # newest first: no interests, so the cards
        # the three cards, and 2602.15491 because the archived cs.AI digest holds it too
        assert [llm.calls_for(i) > 0 for i in ids] == [True] * 3 + [False, False, True, False, False]
        assert report.deferred == 4 and report.missing_summaries == 0

        # A reader asks for two overview papers at once, twice each: each is summarized once.
        calls = len(llm.requests)
        results = await asyncio.gather(*(service.explain(i) for i in (ids[3], ids[4], ids[3], ids[4])))
        assert all(r is not None and r[1] is not None and r[1].has_breakdown for r in results)
        # as many calls as one summary takes (a card's, in the build): not one set per request
        assert llm.calls_for(ids[3]) == llm.calls_for(ids[0]) >= 1 and llm.calls_for(ids[4]) >= 1
        assert not llm.calls_for(ids[6])
        asked = len(llm.requests)
        assert asked > calls
        assert (await service.explain(ids[3]))[1] is not None and len(llm.requests) == asked  # stored now

        # A private chat gets 20 cards: what it shows as cards is summarized before it is sent.
        mine = await service.chat_digest(seed, "telegram", "555")
        assert len(mine.cards) == 8 and mine.overview == ()
        assert all(r.item.summary is not None for r in mine.cards)
        assert all(llm.calls_for(i) >= 1 for i in ids)
        assert service.lazy.llm_calls == len(llm.requests) - report.llm_calls
    finally:
        await service.aclose()
        store.close()


async def test_a_resumed_push_keeps_the_order_it_started_with(tmp_path: Path):
    settings = load_settings(write_config(tmp_path / "c.toml", "http://127.0.0.1:9"), {}, base_dir=tmp_path)
    service = make_service(settings)
    try:
        digest = make_digest(topic_items([("vision", 6), ("robots", 6)], "2602.1"))
        store_digest(service.store, digest)
        first = await service.chat_digest(digest, "telegram", "-1", for_push=True)
        assert [r.paper.base_id for r in first.ranked] == [i.paper.base_id for i in digest.items]
        # Between a crash and the resumed push the chat starts following robots: the push goes on in
        # the order it began with, so no paper moves between cards and overview mid-push.
        service.interests.add("telegram", "-1", FOLLOW, parse_terms("navigation"))
        again = await service.chat_digest(digest, "telegram", "-1", for_push=True)
        assert [r.paper.base_id for r in again.ranked] == [r.paper.base_id for r in first.ranked]
        assert again.max_cards == first.max_cards == 10
        old_key = "push-order|-1|2026-01-01|cs.SD,eess.AS"
        service.store.set_state("telegram", old_key, "{}")
        service.store.db.execute(
            "update platform_state set updated_at = '2026-01-01T00:00:00+00:00' where key = ?", [old_key]
        )
        service.push_done("telegram", "-1", digest.key)
        assert service.store.get_state("telegram", old_key) is None  # orders of long ago are dropped
        # A later push of the same digest (one that heals cards) finds the shape the chat already got.
        later = await service.chat_digest(digest, "telegram", "-1", for_push=True)
        assert [r.paper.base_id for r in later.ranked] == [r.paper.base_id for r in first.ranked]
        # What a reader asks for (/today) is ranked afresh, and so is the next day's digest.
        fresh = await service.chat_digest(digest, "telegram", "-1")
        assert all(
            "navigation" in r.paper.title.lower() or "Robot" in r.paper.title for r in fresh.ranked[:6]
        )
    finally:
        await service.aclose()
        service.store.close()


async def test_a_dead_llm_leaves_cards_untranslated_not_chats_without_their_digest(
    seed_arxiv, tmp_path: Path
):
    """The LLM down when a push (or a reader) needs summaries on the spot: the digest goes out with its
    abstracts and heals later, as when a build's LLM failed; nothing raises into the adapters."""
    _arxiv, arxiv_server = seed_arxiv
    config = write_config(tmp_path / "c.toml", arxiv_server.url)
    config.write_text(config.read_text().replace("retries = 2", "retries = 0"))
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "sk-test"}  # nothing listens
    service = make_service(load_settings(config, env, base_dir=tmp_path))
    try:
        # a subscription's own set, first built by its push
        digest = await service.ensure_digest(DAY, ["cs.SD"])
        assert len(digest.items) == 6 and all(i.summary is None for i in digest.items)
        mine = await service.chat_digest(digest, "telegram", "-1", for_push=True)
        assert len(mine.cards) == 6 and all(r.item.summary is None for r in mine.cards)
        paper, summary = await service.explain(digest.items[0].paper.versioned_id) or (None, None)
        assert paper is not None and summary is None  # the abstract, not a button left hanging
    finally:
        await service.aclose()
        service.store.close()


async def test_two_processes_summarizing_the_same_cards_pay_once(fake_llm, tmp_path: Path):
    """Two pushes at once (two processes: two stores, two lease owners) for a chat whose cards a build
    left unsummarized: one pays, the other waits and finds them done."""
    llm, llm_server = fake_llm
    llm.latency = 0.2  # both are asking at once
    config = write_config(tmp_path / "c.toml", "http://127.0.0.1:9")
    config.write_text(config.read_text().replace("[llm]", '[llm]\nembedding_model = ""'))
    env = {"OPENAI_BASE_URL": f"{llm_server.url}/v1", "OPENAI_API_KEY": "sk-test"}
    settings = load_settings(config, env, base_dir=tmp_path)
    items = topic_items([("codec", 5)], "2602.1")
    digest = make_digest([replace(i, summary=None) for i in items])
    services = [make_service(settings), make_service(settings)]
    store_digest(services[0].store, digest)
    try:
        pushes = [s.chat_digest(digest, "telegram", "-1", for_push=True) for s in services]
        for mine in await asyncio.gather(*pushes):
            assert all(r.item.summary is not None for r in mine.cards)
        assert sorted(llm.calls_for(i.paper.versioned_id) for i in items) == [1] * 5
    finally:
        for service in services:
            await service.aclose()
            service.store.close()


async def test_an_llm_found_refusing_is_not_asked_again_for_every_chat(fake_llm, tmp_path: Path):
    llm, llm_server = fake_llm
    llm.api_keys = {"sk-the-right-key"}
    config = write_config(tmp_path / "c.toml", "http://127.0.0.1:9")
    env = {"OPENAI_BASE_URL": f"{llm_server.url}/v1", "OPENAI_API_KEY": "sk-a-wrong-key"}
    service = make_service(load_settings(config, env, base_dir=tmp_path))
    digest = make_digest([replace(i, summary=None) for i in topic_items([("codec", 3)], "2602.1")])
    store_digest(service.store, digest)
    try:
        for chat in ("-1", "-2", "-3"):  # a push's chats, one after another
            mine = await service.chat_digest(digest, "telegram", chat, for_push=True)
            assert len(mine.cards) == 3 and all(r.item.summary is None for r in mine.cards)
        assert llm.models_listed == 1 and llm.received == 0  # asked once, then taken as said
    finally:
        await service.aclose()
        service.store.close()


async def test_a_today_beside_another_process_building_the_digest_pays_nothing_twice(
    seed_arxiv, fake_llm, tmp_path: Path
):
    """`build` (or `run`'s daily job) in one process is summarizing the day when a `/today` in another
    process shows the digest: its cards wait for the papers the build is on and reuse them, and the
    build skips the papers the `/today` summarized first; a button pressed in the building process
    waits for the build too. Each paper is paid for once."""
    _arxiv, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    llm.latency = 0.3  # a build that takes a while, so the two overlap
    config = write_config(tmp_path / "c.toml", arxiv_server.url)
    config.write_text(config.read_text().replace("concurrency = 4", "concurrency = 2"))
    env = {"OPENAI_BASE_URL": f"{llm_server.url}/v1", "OPENAI_API_KEY": "sk-test"}
    settings = load_settings(config, env, base_dir=tmp_path)
    builder, reader = make_service(settings), make_service(settings)  # two processes: two lease owners
    try:
        build = asyncio.ensure_future(builder.build(DAY))
        while (digest := reader.get_digest(DAY)) is None:
            assert not build.done()
            await asyncio.sleep(0.02)
        ids = [i.paper.versioned_id for i in digest.items]
        while not llm.requests:  # the build is summarizing
            await asyncio.sleep(0.01)
        # ... and every breakdown button pressed meanwhile in the building process itself
        mine, *pressed = await asyncio.gather(
            reader.chat_digest(digest, "telegram", "555"),  # a private chat's /today: 8 cards
            *(builder.explain(i) for i in ids),
        )
        assert len(mine.cards) == 8 and all(r.item.summary is not None for r in mine.cards)
        assert all(found is not None and found[1] is not None for found in pressed)
        report = await build
        assert [llm.calls_for(i) for i in ids] == [1] * 8, [llm.calls_for(i) for i in ids]
        assert report.missing_summaries == 0 and report.llm_calls + reader.lazy.llm_calls == 8
    finally:
        for service in (builder, reader):
            await service.aclose()
            service.store.close()


async def test_two_processes_building_overlapping_category_sets_pay_once_per_paper(
    seed_arxiv, fake_llm, tmp_path: Path
):
    """`build` of the configured set beside `run` building a subscription's smaller set (two digests,
    two build leases) share most papers: each shared paper is summarized by one of them."""
    _arxiv, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    llm.latency = 0.2
    config = write_config(tmp_path / "c.toml", arxiv_server.url)
    env = {"OPENAI_BASE_URL": f"{llm_server.url}/v1", "OPENAI_API_KEY": "sk-test"}
    settings = load_settings(config, env, base_dir=tmp_path)
    first, second = make_service(settings), make_service(settings)
    try:
        both, small = await asyncio.gather(first.build(DAY), second.build(DAY, [["cs.SD"]], archive_all=True))
        ids = [i.paper.versioned_id for i in both.digest.items]
        assert len(small.digest.items) == 6 and set(i.paper.versioned_id for i in small.digest.items) < set(
            ids
        )
        assert [llm.calls_for(i) for i in ids] == [1] * 8
        assert both.missing_summaries == small.missing_summaries == 0
    finally:
        for service in (first, second):
            await service.aclose()
            service.store.close()


def test_a_healing_pass_takes_only_chats_still_on_the_digest_they_got_untranslated(tmp_path: Path):
    settings = load_settings(write_config(tmp_path / "c.toml", "http://127.0.0.1:9"), {}, base_dir=tmp_path)
    service = make_service(settings)
    store, key = service.store, "2026-02-18|cs.SD,eess.AS"
    try:
        for chat in ("-1", "-2", "-3"):
            store.subscribe("telegram", chat, [], "channel")
            store.deliveries.mark_sent("telegram", chat, key, ["header"], 1)
            store.deliveries.mark_sent("telegram", chat, key, ["2602.15766"], 2, translated=[])
        store.deliveries.mark_healed("telegram", "-3", key, ["2602.15766"])  # healed already
        store.subscribe("telegram", "-2", ["cs.AI"], "channel")  # on other categories since
        assert [s.chat_id for s in service.subscriptions_to_heal("telegram", DAY)] == ["-1"]
        assert service.subscriptions_to_heal("discord", DAY) == []
        assert service.subscriptions_to_heal("telegram", date(2026, 2, 19)) == []
    finally:
        service.store.close()


async def test_an_llm_found_hanging_by_the_build_is_not_waited_out_again_by_the_push(
    seed_arxiv, fake_llm, tmp_path: Path
):
    """The build found the LLM hanging (the breaker tripped): the push right after, healing the cards
    the build could not summarize, and a reader's tap send nothing to it (for LAZY_RETRY_SECONDS), not
    one timeout per chat: the cards go out with their abstracts, ranked without embeddings."""
    _arxiv, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    llm.hang = True
    config = write_config(tmp_path / "c.toml", arxiv_server.url, "timeout_seconds = 0.3")
    text = (
        config.read_text().replace("concurrency = 4", "concurrency = 1").replace("retries = 2", "retries = 0")
    )
    config.write_text(text.replace("delay_seconds = 0", "delay_seconds = 0\nfulltext = false"))
    env = {"OPENAI_BASE_URL": f"{llm_server.url}/v1", "OPENAI_API_KEY": "sk-test"}
    service = make_service(load_settings(config, env, base_dir=tmp_path))
    service.store.subscribe("telegram", "-1", [], "channel")
    Interests(service.store).rate("telegram", "-1", "7", "2602.15766", 1)
    try:
        report = await service.build(DAY)
        # failures_to_give_up(1) = 8: the model list and 7 papers timed out, the 8th was not sent
        assert llm.models_listed == 1 and len(llm.requests) == 7
        assert llm.embeddings_received == 0  # the model list hung: the build ranked without them
        assert report.failures == 8 and report.missing_summaries == 8
        asked = (llm.received, llm.models_listed, llm.embeddings_received)

        for chat in ("-1", "-2"):
            mine = await service.chat_digest(
                report.digest, "telegram", chat, for_push=True, retry_failed=True
            )
            assert mine.cards and all(r.item.summary is None for r in mine.cards)
        paper, summary = await service.explain(report.digest.items[0].paper.versioned_id) or (None, None)
        assert paper is not None and summary is None

        assert (llm.received, llm.models_listed, llm.embeddings_received) == asked
    finally:
        await service.aclose()
        service.store.close()

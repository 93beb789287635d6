"""Safe to operate: commands running at once (the README's 'Operations' section), end to end with the
real `arxiv-digest` processes against the fakes. Each message once under concurrent pushes, one builder
per digest, pushes that wait for a running build, cards healed in place, and no secret in any output
or stored text."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import signal
import sqlite3
import subprocess
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from digest.delivery_log import DeliveryLog
from digest.interests import FOLLOW, Interests, parse_terms
from digest.leases import HOST, Leases
from digest.store import Store
from tests.conftest import CLI, SECRET_VARS, SEED_JSON, SEED_POST, run_in_process
from tests.fakes.arxiv_api import FakeArxiv, entry
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.openai_api import paper_id_of, seed_texts
from tests.fakes.server import BackgroundServer
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_support import seed_store

DAY = "2026-02-18"
CHATS = (-1001000000001, -1002000000002)
TRANSLATIONS = {pid.rsplit("v", 1)[0]: t["translation"] for pid, t in seed_texts(SEED_JSON).items()}


# -- the database -----------------------------------------------------------------------------------


def _open_at_once(path: str, barrier) -> None:  # runs in a child process
    barrier.wait()
    Store.open(path).close()


def test_thirty_processes_open_a_new_database_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "data" / "digest.db")
    context = multiprocessing.get_context("fork")  # already imported: they all hit the file together
    barrier = context.Barrier(30)
    processes = [context.Process(target=_open_at_once, args=(path, barrier)) for _ in range(30)]
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork() beside threads; these children only open a file and exit.
        warnings.simplefilter("ignore", DeprecationWarning)
        for process in processes:
            process.start()
    for process in processes:
        process.join(60)
    assert [p.exitcode for p in processes] == [0] * 30
    db = sqlite3.connect(path)
    names = [row[0] for row in db.execute("select name from _migrations")]
    assert len(names) == len(set(names)) and "m009_leases" in names
    assert db.execute("pragma journal_mode").fetchone()[0] == "wal"


def test_a_claim_whose_owner_died_is_taken_over(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "digest.db")
    crashed = DeliveryLog(store.db.conn, f"{HOST}:{_dead_pid()}:0bad")
    elsewhere = DeliveryLog(store.db.conn, "other-host:1:abcd", lease_seconds=600)
    assert crashed.claim("telegram", "1", "k", ["header"])
    assert elsewhere.claim("telegram", "2", "k", ["header"])
    mine = store.deliveries
    assert mine.claim("telegram", "1", "k", ["header"])  # its process is gone: retried at once
    assert not mine.claim("telegram", "2", "k", ["header"])  # alive elsewhere, within its lease
    store.db.conn.execute("update deliveries set claimed_at = claimed_at - 601 where chat_id = '2'")
    store.db.conn.commit()
    assert mine.claim("telegram", "2", "k", ["header"])  # its lease ran out
    mine.mark_sent("telegram", "2", "k", ["header"], 7)
    assert not elsewhere.claim("telegram", "2", "k", ["header"])  # sent is sent
    store.close()


async def test_a_build_lease_is_held_by_one_process_and_freed_when_it_dies(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "digest.db")
    other = Leases(store.db.conn, "other-host:1:abcd")
    crashed = Leases(store.db.conn, f"{HOST}:{_dead_pid()}:0bad")
    assert other.try_acquire("build:a", ttl=60) and crashed.try_acquire("build:b", ttl=60)
    mine = store.leases
    assert not mine.try_acquire("build:a", ttl=60) and mine.held_by_other("build:a")
    assert mine.try_acquire("build:b", ttl=60)  # its holder's process is gone
    assert not await mine.wait_free("build:a", poll=0.01, timeout=0.05)  # still held: gave up waiting
    other.release("build:a")
    assert await mine.wait_free("build:a", poll=0.01, timeout=1)
    async with mine.hold(["build:a", "build:c"]):
        assert other.held_by_other("build:c") and not other.try_acquire("build:a", ttl=60)
    assert other.try_acquire("build:a", ttl=60)  # released at the end of the block
    store.close()


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


# -- builds -----------------------------------------------------------------------------------------


def test_two_builds_in_two_processes_make_the_llm_calls_of_one(seed_arxiv, fake_llm, make_project) -> None:
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    llm.latency = 0.3  # a build that takes a while, so the two overlap
    project = make_project(arxiv_server.url, llm_server.url)
    builds = [_popen(project.root, project.env, "build", "--date", DAY) for _ in range(2)]
    results = [b.communicate(timeout=120) for b in builds]
    assert [b.returncode for b in builds] == [0, 0], results
    assert len(llm.requests) == 8  # 8 papers, each summarized once
    outputs = sorted(out for out, _ in results)
    assert "LLM calls 0" in outputs[0] and "LLM calls 8" in outputs[1]
    assert any("being built by another process; waiting" in err for _, err in results)
    assert project.post(DAY).read_bytes() == SEED_POST.read_bytes()


def test_a_push_during_a_slow_build_sends_only_translated_cards(seed_arxiv, fake_llm, make_project) -> None:
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    llm.latency = 0.4
    telegram = FakeTelegram(token="424242:slow-build-SECRET")
    telegram.add_chat(CHATS[0], "channel", "Audio papers")
    with BackgroundServer(telegram.app()) as server:
        telegram.use_port(server.port)
        project = make_project(
            arxiv_server.url, llm_server.url, extra=f'[telegram]\napi_base_url = "{telegram.base_url}"\n'
        )
        project.env["TELEGRAM_BOT_TOKEN"] = telegram.token
        store = Store.open(project.database)
        store.subscribe("telegram", str(CHATS[0]), ["cs.SD", "eess.AS"], "Audio papers")
        store.close()
        build = _popen(project.root, project.env, "build", "--date", DAY)
        _wait_for_digest_row(project.database)
        assert build.poll() is None  # the build is still summarizing
        push = _popen(project.root, project.env, "push", "--date", DAY, "--platform", "telegram")
        push_out, push_err = push.communicate(timeout=120)
        build.communicate(timeout=120)
    assert push.returncode == 0 and build.returncode == 0, push_err
    assert "telegram: 9 messages sent" in push_out
    cards = telegram.messages_to(CHATS[0])[1:]
    assert len(cards) == 8
    for card in cards:
        base_id = card["text"].split("\n")[2].split("· ")[-1].strip().rsplit("v", 1)[0]
        assert TRANSLATIONS[base_id][:30] in card["text"].replace("\n", "")
    assert len(llm.requests) == 8


def _wait_for_digest_row(database: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if database.exists():
            db = sqlite3.connect(database, timeout=5)
            try:
                if db.execute("select count(*) from digests").fetchone()[0]:
                    return
            except sqlite3.OperationalError:
                pass
            finally:
                db.close()
        time.sleep(0.05)
    raise AssertionError("the build never stored its digest")


# -- pushes -----------------------------------------------------------------------------------------


def _popen(root: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(CLI), *args], cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


async def _run(root: Path, env: dict[str, str], *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        str(CLI), *args, cwd=root, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode()


async def _run_here(root: Path, env: dict[str, str], *args: str) -> tuple[int, str]:
    """As _run, with bot.cli.main in a worker thread of this process (this loop keeps serving the
    fakes): for a sequence of commands where only their effects matter, not a child's start-up."""
    result = await asyncio.to_thread(run_in_process, root, env, args)
    return result.returncode, result.stdout + result.stderr


def _platforms_project(
    tmp_path: Path,
    telegram: FakeTelegram,
    discord: FakeDiscord,
    arxiv_url: str = "http://127.0.0.1:9",  # nothing listens: no build can happen
    extra: str = "",
) -> dict:
    config = tmp_path / "digest.toml"
    config.write_text(
        f"""
{extra}
[arxiv]
api_url = "{arxiv_url}/api/query"
html_url = "{arxiv_url}/html/{{id}}"
pdf_url = "{arxiv_url}/pdf/{{id}}"
delay_seconds = 0
retries = 0
timeout_seconds = 2
[telegram]
api_base_url = "{telegram.base_url}"
[discord]
api_base_url = "{discord.api_base_url}"
gateway_url = "{discord.gateway_url}"
""",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k not in SECRET_VARS}
    env.update(
        ARXIV_DIGEST_CONFIG=str(config), TELEGRAM_BOT_TOKEN=telegram.token, DISCORD_BOT_TOKEN=discord.token
    )
    return env


async def test_two_pushes_started_together_deliver_each_message_once(tmp_path: Path) -> None:
    telegram = await FakeTelegram(token="777:two-pushes-SECRET", latency=0.05).start()
    discord = await FakeDiscord().start()
    try:
        for chat in CHATS:
            telegram.add_chat(chat, "channel", f"chat {chat}")
        channel = discord.add_channel("papers")
        env = _platforms_project(tmp_path, telegram, discord)
        store = Store.open(tmp_path / "data" / "digest.db")
        seed_store(store)
        for chat in CHATS:
            store.subscribe("telegram", str(chat), ["cs.SD", "eess.AS"], "t")
        store.subscribe("discord", channel, ["cs.SD", "eess.AS"], "papers")
        store.close()

        results = await asyncio.gather(*(_run(tmp_path, env, "push", "--date", DAY) for _ in range(2)))
    finally:
        await telegram.stop()
        await discord.stop()
    assert [code for code, _ in results] == [0, 0], results
    for chat in CHATS:
        texts = [m["text"] for m in telegram.messages_to(chat)]
        assert len(texts) == 9 and len(set(texts)) == 9
    # four buttons a card, 25 a message: the header, then 6 + 2 cards
    assert [len(m["embeds"]) for m in discord.messages[channel]] == [1, 6, 2]
    sent = [
        int(line.split()[1]) for _, out in results for line in out.splitlines() if " messages sent" in line
    ]
    assert sum(sent) == 18 + 3
    assert discord.violations == []


async def test_a_card_sent_without_its_translation_is_healed_by_a_later_build(
    tmp_path: Path, seed_arxiv, fake_llm, make_project
) -> None:
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    telegram = await FakeTelegram(token="555:heal-SECRET").start()
    discord = await FakeDiscord().start()
    try:
        telegram.add_chat(CHATS[0], "channel", "Audio papers")
        channel = discord.add_channel("papers")
        project = make_project(
            arxiv_server.url,
            llm_server.url,
            extra=f"""[telegram]
api_base_url = "{telegram.base_url}"
[discord]
api_base_url = "{discord.api_base_url}"
gateway_url = "{discord.gateway_url}"
""",
        )
        env = {**project.env, "TELEGRAM_BOT_TOKEN": telegram.token, "DISCORD_BOT_TOKEN": discord.token}
        store = Store.open(project.database)
        store.subscribe("telegram", str(CHATS[0]), ["cs.SD", "eess.AS"], "Audio papers")
        store.subscribe("discord", channel, ["cs.SD", "eess.AS"], "papers")
        store.close()

        llm.responder = lambda body: (200, "not JSON")  # the LLM fails for good that day
        code, out = await _run_here(tmp_path, env, "build", "--date", DAY)
        assert code == 3 and "failures 8" in out, out  # 3: built, but papers without a summary
        code, out = await _run_here(tmp_path, env, "push", "--date", DAY)
        assert code == 0 and "telegram: 9 messages sent" in out and "discord: 0 messages" not in out, out
        card_messages = len(discord.messages[channel]) - 1  # English abstracts are long: several
        untranslated = telegram.messages_to(CHATS[0])[1]["text"]
        assert "Large audio language models" in untranslated or "abstract" in untranslated.lower()

        # Meanwhile both chats change their interests: the digest they already got keeps its shape (no
        # card moves to an overview sent now, none is sent again) and each healed card its number.
        store = Store.open(project.database)
        for platform, chat in (("telegram", str(CHATS[0])), ("discord", channel)):
            Interests(store).add(platform, chat, FOLLOW, parse_terms("neurons"))
            store.set_max_cards(platform, chat, 3)
        store.close()
        llm.responder = None  # back the next day: a build fills the summaries in
        code, out = await _run_here(tmp_path, env, "build", "--date", DAY)
        assert code == 0 and "failures 0" in out, out
        code, out = await _run_here(tmp_path, env, "push", "--date", DAY)
        assert code == 0 and "telegram: 0 messages sent" in out and "discord: 0 messages sent" in out, out

        assert len(telegram.edits) == 8  # every card edited in place, nothing sent again
        for message in telegram.chats[CHATS[0]].messages.values():
            if message["message_id"] == 1:
                continue  # the header
            base_id = message["text"].split("\n")[2].split("· ")[-1].strip().rsplit("v", 1)[0]
            assert TRANSLATIONS[base_id][:30] in message["text"].replace("\n", "")
        assert len(discord.edits) == card_messages  # each message of cards edited once
        cards = [card for message in discord.messages[channel][1:] for card in message["embeds"]]
        assert len(cards) == 8
        assert [c["footer"]["text"].rsplit(" · ", 1)[1] for c in cards] == [f"{n}/8" for n in range(1, 9)]
        assert [c["description"][:20] for c in cards] == [
            TRANSLATIONS[c["url"].rsplit("/", 1)[1].rsplit("v", 1)[0]][:20] for c in cards
        ]

        code, out = await _run_here(tmp_path, env, "push", "--date", DAY)  # nothing left to heal
        assert code == 0 and len(telegram.edits) == 8 and len(discord.edits) == card_messages, out
        assert telegram.errors == [] and discord.violations == []
    finally:
        await telegram.stop()
        await discord.stop()


@pytest.mark.parametrize("retried_by", ["push", "build"])
async def test_a_card_whose_summary_failed_on_the_spot_is_retried_and_healed(
    tmp_path: Path, seed_arxiv, fake_llm, make_project, retried_by: str
) -> None:
    """A chat on its own category set, subscribed after its digest was built: its cards are summarized
    on the spot by its first push; one fails and goes out untranslated. The next ordinary `push` (or
    a plain `build`, then the push) asks the LLM again for that card only and edits it in place."""
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    telegram = await FakeTelegram().start()
    try:
        early, late = CHATS
        telegram.add_chat(early, "channel", "Sound")
        telegram.add_chat(late, "channel", "Sound too")
        project = make_project(
            arxiv_server.url, llm_server.url, extra=f'[telegram]\napi_base_url = "{telegram.base_url}"\n'
        )
        # The configured (archived) set is another one: a plain `build` does not rebuild cs.SD.
        text = project.config.read_text(encoding="utf-8")
        project.config.write_text(text.replace('["cs.SD", "eess.AS"]', '["cs.AI"]'), encoding="utf-8")
        env = {**project.env, "TELEGRAM_BOT_TOKEN": telegram.token}
        store = Store.open(project.database)
        store.subscribe("telegram", str(early), ["cs.SD"], "Sound")
        store.set_max_cards("telegram", str(early), 2)
        store.close()
        code, out = await _run_here(tmp_path, env, "push", "--date", DAY)  # builds the cs.SD digest
        assert code == 0, out
        store = Store.open(project.database)
        digest = store.load_digest(f"{DAY}|cs.SD")
        assert digest is not None
        ids = [item.paper.versioned_id for item in digest.items]
        assert [item.summary is not None for item in digest.items] == [True, True] + [False] * 4
        store.subscribe("telegram", str(late), ["cs.SD"], "Sound too")
        store.set_max_cards("telegram", str(late), 4)
        store.close()

        broken = ids[2]
        llm.responder = lambda body: (
            (200, "not JSON") if paper_id_of(body) == broken else llm.default_reply(body)
        )
        code, out = await _run_here(tmp_path, env, "push", "--date", DAY)
        assert code == 0 and "telegram: 6 messages sent" in out, out  # header, 4 cards, overview
        translation = TRANSLATIONS[broken.rsplit("v", 1)[0]][:20]
        assert translation not in telegram.messages_to(late)[3]["text"]
        asked = {paper_id: llm.calls_for(paper_id) for paper_id in ids}
        assert asked[broken] >= 1 and asked[ids[3]] >= 1 and asked[ids[4]] == 0

        llm.responder = None  # the LLM answers again
        if retried_by == "build":
            code, out = await _run_here(tmp_path, env, "build", "--date", DAY)
            assert code == 0 and llm.calls_for(broken) == asked[broken] + 1, out
            asked = {paper_id: llm.calls_for(paper_id) for paper_id in ids}  # (cs.AI's archive too)
            asked[broken] -= 1  # the retry: the push has nothing more to ask
        code, out = await _run_here(tmp_path, env, "push", "--date", DAY)
        assert code == 0 and "telegram: 0 messages sent" in out, out
        assert llm.calls_for(broken) == asked[broken] + 1
        assert {i: llm.calls_for(i) for i in ids if i != broken} == {
            i: n for i, n in asked.items() if i != broken
        }  # papers that succeeded are not asked again
        assert len(telegram.edits) == 1 and translation in telegram.edits[0]["text"]
        assert telegram.edits[0]["message_id"] == telegram.messages_to(late)[3]["message_id"]
        code, out = await _run_here(tmp_path, env, "push", "--date", DAY)  # nothing left to heal
        assert code == 0 and len(telegram.edits) == 1 and llm.calls_for(broken) == asked[broken] + 1, out
        assert telegram.errors == []
    finally:
        await telegram.stop()


# -- secrets ---------------------------------------------------------------------------------------


async def test_no_token_in_the_output_or_the_database_when_upstreams_echo_requests(
    tmp_path: Path, fake_llm
) -> None:
    llm, llm_server = fake_llm
    llm.echo_errors = True
    llm.responder = lambda body: (500, "upstream failed")
    arxiv = FakeArxiv()
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    inside = datetime.combine(today - timedelta(days=1), datetime.min.time(), tzinfo=UTC) + timedelta(
        hours=12
    )
    arxiv.add(entry("2611.00002v1", inside, ("cs.SD",)))
    telegram = await FakeTelegram(token="8123456:AAE-echo-SECRET-token").start()
    telegram.add_chat(CHATS[0], "channel", "Audio papers")
    # A proxy in front of both platforms: its error pages repeat the request line and headers.
    telegram.proxy_errors.update({"getUpdates": 502, "sendMessage": 403})
    discord = await FakeDiscord(token="MTIzNDU2.echo-discord-SECRET.token").start()
    discord.proxy_errors.update({"/channels": 403, "/webhooks": 403})
    channel = discord.add_channel("papers")
    with BackgroundServer(arxiv.app()) as arxiv_server:
        env = _platforms_project(
            tmp_path, telegram, discord, arxiv_server.url, extra='[digest]\npublish_at = "00:00"'
        )
        env.update(OPENAI_BASE_URL=f"{llm_server.url}/v1", OPENAI_API_KEY="sk-echo-llm-SECRET-key")
        store = Store.open(tmp_path / "data" / "digest.db")
        store.subscribe("telegram", str(CHATS[0]), ["cs.SD", "eess.AS"], "Audio papers")
        store.subscribe("discord", channel, ["cs.SD", "eess.AS"], "papers")
        store.close()
        log_path = tmp_path / "run.log"
        with log_path.open("wb") as log:
            proc = await asyncio.create_subprocess_exec(
                str(CLI), "run", "-v", cwd=tmp_path, env=env, stdout=log, stderr=log
            )
        try:
            await discord.wait_for(lambda: discord.connected and discord.commands, timeout=60)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not (
                ("sendMessage", 403, "proxy page") in telegram.errors
                and telegram.calls.count("getUpdates") >= 2
                and any(p.startswith("/api/v10/channels/") for m, p in discord.requests if m == "POST")
            ):
                await asyncio.sleep(0.1)
            asked = await discord.slash(channel, "digest", "date", day="2026-02-17")
            await discord.wait_for(
                lambda: any(p.startswith("/api/v10/webhooks/") for _, p in discord.requests), timeout=30
            )
            # the refusal is logged (rather than a fixed second's sleep)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not re.search(
                r"denied by proxy: \w+ /api/v10/webhooks/", log_path.read_text(errors="replace")
            ):
                await asyncio.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 30)
            await telegram.stop()
            await discord.stop()
    output = log_path.read_text(errors="replace")
    secrets = [telegram.token, discord.token, "sk-echo-llm-SECRET-key", asked.token]
    # the echoes happened (so the test could fail) ...
    assert "Forbidden by proxy" in output and "denied by proxy" in output, output[-3000:]
    assert "Traceback" in output and "***" in output
    # ... and no secret went through, in the log or in the database
    for secret in secrets:
        assert secret not in output
    dump = "\n".join(sqlite3.connect(tmp_path / "data" / "digest.db").iterdump())
    assert "upstream failed" in dump  # the LLM's echoed error was stored, redacted
    for secret in secrets:
        assert secret not in dump
    # a proxy's 403 is not the platform saying the chat is gone: both subscriptions stay
    store = Store.open(tmp_path / "data" / "digest.db")
    assert {s.platform for s in store.active_subscriptions()} == {"telegram", "discord"}
    store.close()

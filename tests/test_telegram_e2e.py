"""End to end: the real `arxiv-digest push` and `arxiv-digest run` (subprocesses) against the fake Bot
API, with a database prefilled through the Store API."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.telegram.buttons import start_payload
from adapters.telegram.texts import TEXTS
from digest.store import Store
from tests.conftest import CLI, SECRET_VARS
from tests.fakes.arxiv_api import FakeArxiv
from tests.fakes.server import BackgroundServer
from tests.fakes.telegram_api import BOT_USERNAME, FakeTelegram, parse_html, user_json
from tests.telegram_support import SEED_DAY, seed_items, seed_store

CHANNEL, GROUP, PRIVATE = -1001000000001, -1002000000002, 5550001
OWNER, ADMIN, MEMBER = 100, 101, 202
TG = "telegram"


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram(token="987654:e2e-SECRET-token")
    fake.add_chat(CHANNEL, "channel", "Audio papers")
    fake.add_chat(GROUP, "supergroup", "Lab group", admins={ADMIN}, owner=OWNER)
    fake.add_chat(PRIVATE, "private", "Reader")
    with BackgroundServer(fake.app()) as server:
        fake.use_port(server.port)
        yield fake


@pytest.fixture
def arxiv_url() -> Iterator[str]:
    with BackgroundServer(FakeArxiv().app()) as server:  # no papers: today's digest is empty
        yield server.url


def project(tmp_path: Path, telegram: FakeTelegram, arxiv_url: str, subscribers: list[int]) -> dict[str, str]:
    config = tmp_path / "digest.toml"
    config.write_text(
        f"""
[digest]
categories = ["cs.SD", "eess.AS"]
timezone = "Asia/Shanghai"
language = "zh"
publish_at = "00:00"   # always past: `run` catches up on today's job at once
[arxiv]
api_url = "{arxiv_url}/api/query"
delay_seconds = 0
retries = 1
[telegram]
api_base_url = "{telegram.base_url}"
""",
        encoding="utf-8",
    )
    store = Store.open(tmp_path / "data" / "digest.db")
    seed_store(store)
    for chat in subscribers:
        store.subscribe(TG, str(chat), ["cs.SD", "eess.AS"], f"chat {chat}")
    store.close()
    env = {k: v for k, v in os.environ.items() if k not in SECRET_VARS}
    env.update(ARXIV_DIGEST_CONFIG=str(config), TELEGRAM_BOT_TOKEN=telegram.token)
    return env


def cli(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )


def texts(fake: FakeTelegram, chat: int) -> list[str]:
    return [m["text"] for m in fake.messages_to(chat)]


def test_push_delivers_once_and_drops_blocked_chats(tmp_path, telegram, arxiv_url):
    env = project(tmp_path, telegram, arxiv_url, [CHANNEL, GROUP, PRIVATE])
    telegram.chats[PRIVATE].blocked = True

    first = cli(tmp_path, env, "push", "--date", "2026-02-18", "--platform", "telegram")
    assert first.returncode == 0, first.stderr
    assert "telegram: 18 messages sent for 2026-02-18" in first.stdout
    titles = [i.paper.title for i in seed_items()]
    for chat in (CHANNEL, GROUP):
        shown = texts(telegram, chat)
        assert "本页显示：8 篇" in shown[0]
        assert [t.split("\n")[0] for t in shown[1:]] == titles
    for message in telegram.sent:
        parse_html(message["html"])
        assert len(message["text"]) <= 4096
    assert telegram.errors == [("sendMessage", 403, "Forbidden: bot was blocked by the user")]
    assert "deactivated" in first.stderr and telegram.token not in first.stderr

    second = cli(tmp_path, env, "push", "--date", "2026-02-18", "--platform", "telegram")
    assert second.returncode == 0, second.stderr
    assert "telegram: 0 messages sent" in second.stdout
    assert len(telegram.sent) == 18 and len(telegram.errors) == 1  # the blocked chat was not tried again

    store = Store.open(tmp_path / "data" / "digest.db")
    assert [s.chat_id for s in store.active_subscriptions(TG)] == [str(CHANNEL), str(GROUP)]
    store.close()


def test_push_without_a_token_is_a_usage_error(tmp_path, telegram, arxiv_url):
    env = project(tmp_path, telegram, arxiv_url, [GROUP])
    del env["TELEGRAM_BOT_TOKEN"]
    result = cli(tmp_path, env, "push", "--date", "2026-02-18", "--platform", "telegram")
    assert result.returncode == 2 and "TELEGRAM_BOT_TOKEN" in result.stderr


def test_run_serves_commands_and_buttons_and_stops_on_sigterm(tmp_path, telegram, arxiv_url):
    fake = telegram
    env = project(tmp_path, fake, arxiv_url, [GROUP])
    with (tmp_path / "run.log").open("w") as log:
        process = subprocess.Popen(
            [str(CLI), "run"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        # the daily job catches up at start: today's (empty) digest goes to the subscribed group
        fake.wait_until(lambda: texts(fake, GROUP), timeout=30)
        assert "本窗口内没有新论文" in texts(fake, GROUP)[0]

        fake.command(CHANNEL, "/subscribe")
        fake.command(PRIVATE, "/subscribe")
        fake.command(GROUP, "/unsubscribe", user=user_json(MEMBER))
        fake.wait_until(
            lambda: len(texts(fake, GROUP)) == 2 and texts(fake, CHANNEL) and texts(fake, PRIVATE)
        )
        assert texts(fake, GROUP)[1] == TEXTS["zh"]["admin_only"]  # the config's language
        assert texts(fake, CHANNEL)[0].startswith("已订阅")

        # /today in the group, then the button edits the card and collapses it again
        fake.command(GROUP, "/today", user=user_json(MEMBER))
        fake.wait_until(lambda: len(texts(fake, GROUP)) == 11)
        card = fake.messages_to(GROUP)[3]
        query = fake.press(GROUP, card["message_id"], user=user_json(MEMBER))
        fake.wait_until(lambda: query in fake.answers)
        expanded = fake.chats[GROUP].messages[card["message_id"]]
        assert "研究背景" in expanded["text"] and expanded["text"].startswith(card["text"])
        query = fake.press(GROUP, card["message_id"], user=user_json(MEMBER))
        fake.wait_until(lambda: query in fake.answers)
        assert fake.chats[GROUP].messages[card["message_id"]]["text"] == card["text"]

        # in the channel the button opens the reader's private chat
        fake.command(CHANNEL, "/today")
        fake.wait_until(lambda: len(texts(fake, CHANNEL)) == 10)
        post = fake.messages_to(CHANNEL)[2]
        query = fake.press(CHANNEL, post["message_id"], user=user_json(PRIVATE))
        fake.wait_until(lambda: query in fake.answers)
        payload = start_payload(seed_items()[0].paper.versioned_id)
        assert fake.answers[query]["url"] == f"https://t.me/{BOT_USERNAME}?start={payload}"
        fake.command(PRIVATE, f"/start {payload}")
        fake.wait_until(lambda: len(texts(fake, PRIVATE)) == 2)
        assert texts(fake, PRIVATE)[1].startswith(seed_items()[0].paper.title)

        forged = fake.press(GROUP, card["message_id"], data="bd:0000.00000v9")
        fake.wait_until(lambda: forged in fake.answers)
        assert fake.answers[forged]["text"] == TEXTS["zh"]["stale_button"]  # not a button of that card
        assert process.poll() is None

        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        stopped_in = time.monotonic() - began
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = (tmp_path / "run.log").read_text()
    assert stopped_in < 5, output
    assert fake.token not in output
    assert "Traceback" not in output, output
    assert [e for e in fake.errors if e[1] != 429] == []
    assert SEED_DAY.isoformat() in texts(fake, GROUP)[2]


def test_a_refused_token_is_a_clear_error(tmp_path: Path, telegram: FakeTelegram, arxiv_url: str) -> None:
    env = project(tmp_path, telegram, arxiv_url, [CHANNEL])
    env["TELEGRAM_BOT_TOKEN"] = "111:not-the-token"
    result = cli(tmp_path, env, "push", "--date", SEED_DAY.isoformat(), "--platform", "telegram")
    assert result.returncode == 2, result.stderr
    assert "Telegram refused TELEGRAM_BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr and "111:not-the-token" not in result.stderr


def test_telegram_unreachable_is_a_clear_error(
    tmp_path: Path, telegram: FakeTelegram, arxiv_url: str
) -> None:
    env = project(tmp_path, telegram, arxiv_url, [CHANNEL])
    config = Path(env["ARXIV_DIGEST_CONFIG"])
    config.write_text(config.read_text().replace(telegram.base_url, "http://127.0.0.1:9/bot"))
    result = cli(tmp_path, env, "push", "--date", SEED_DAY.isoformat(), "--platform", "telegram")
    assert result.returncode == 1, result.stderr
    assert "arxiv-digest: error:" in result.stderr
    assert "Traceback" not in result.stderr and telegram.token not in result.stderr

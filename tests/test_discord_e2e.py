"""End to end: the real `arxiv-digest run` and `arxiv-digest push` processes against the fake Discord,
over a temp database prefilled (through the Store API) with the seed's 8 papers."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from digest.store import Store
from tests.discord_seed import seed_digest, seed_store
from tests.fakes.discord_api import MANAGER, MEMBER, FakeDiscord, buttons, check_message

CLI = Path(sys.executable).parent / "arxiv-digest"
TZ = "Asia/Shanghai"


def publish_later() -> str:
    """A publish time ahead of now, so `run` does not start with a catch-up build (which, with arXiv
    unreachable here, would only log an error anyway)."""
    later = datetime.now(ZoneInfo(TZ)) + timedelta(hours=3)
    return later.strftime("%H:%M") if later.date() == datetime.now(ZoneInfo(TZ)).date() else "23:59"


@dataclass
class Env:
    root: Path
    fake: FakeDiscord
    env: dict[str, str]
    channel: str

    async def start(self, *args: str, log: str = "run.log") -> asyncio.subprocess.Process:
        out = (self.root / log).open("ab")
        try:
            return await asyncio.create_subprocess_exec(
                str(CLI), *args, cwd=self.root, env=self.env, stdout=out, stderr=out
            )
        finally:
            out.close()

    async def run_once(self, *args: str) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            str(CLI),
            *args,
            cwd=self.root,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        return proc.returncode or 0, out.decode()

    def log(self, name: str = "run.log") -> str:
        path = self.root / name
        return path.read_text(errors="replace") if path.exists() else ""


async def stop(proc: asyncio.subprocess.Process) -> int:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(proc.wait(), 30)


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    fake = await FakeDiscord().start()
    config = tmp_path / "digest.toml"
    config.write_text(
        f"""
[digest]
timezone = "{TZ}"
publish_at = "{publish_later()}"

[arxiv]
api_url = "http://127.0.0.1:9/api/query"
delay_seconds = 0
retries = 0
timeout_seconds = 2

[discord]
api_base_url = "{fake.api_base_url}"
gateway_url = "{fake.gateway_url}"
""",
        encoding="utf-8",
    )
    store = Store.open(tmp_path / "data" / "digest.db")
    seed_store(store)
    store.close()
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TELEGRAM_", "DISCORD_"))}
    keep.update({"ARXIV_DIGEST_CONFIG": str(config), "DISCORD_BOT_TOKEN": fake.token})
    yield Env(tmp_path, fake, keep, fake.add_channel("papers"))
    await fake.stop()


async def wait_ready(env: Env, proc: asyncio.subprocess.Process, sessions: int) -> None:
    async def up() -> None:
        await env.fake.wait_for(lambda: env.fake.identified >= sessions and env.fake.connected, timeout=30)

    task = asyncio.create_task(up())
    done, _ = await asyncio.wait(
        {task, asyncio.create_task(proc.wait())}, return_when=asyncio.FIRST_COMPLETED
    )
    if task not in done:
        task.cancel()
        raise AssertionError(f"arxiv-digest run exited early:\n{env.log()}")
    await task
    await asyncio.sleep(0.3)  # READY -> GUILD_CREATE -> the client's ready state


async def test_run_answers_commands_and_buttons_across_a_restart(env: Env) -> None:
    fake = env.fake
    seed = seed_digest()
    proc = await env.start("run")
    try:
        await wait_ready(env, proc, sessions=1)
        # Commands registered.
        assert fake.command_puts == 1
        assert {o["name"] for o in fake.commands[0]["options"]} == {
            *("today", "date", "subscribe", "unsubscribe", "status", "search"),
            *("follow", "unfollow", "mute", "interests"),
        }

        # /digest date 2026-02-18: deferred in under 3 s, then the header and all 8 cards.
        asked = await fake.slash(env.channel, "digest", "date", day="2026-02-18")
        await fake.wait_for(lambda: sum(len(m["embeds"]) for m in asked.followups) >= 9, timeout=20)
        assert asked.callback_type == 5 and asked.ack_seconds < 3
        messages = asked.messages()
        assert all(check_message(m) == [] for m in messages)
        assert all(len(m["embeds"]) <= 10 for m in messages)
        assert messages[0]["embeds"][0]["title"] == "arXiv Daily – 2026-02-18"
        assert "抓取总数：8 篇 | 本页显示：8 篇" in messages[0]["embeds"][0]["description"]
        cards = [e for m in messages[1:] for e in m["embeds"]]
        assert [c["title"] for c in cards] == [i.paper.title for i in seed.items]
        assert [c["url"] for c in cards] == [i.paper.abs_url for i in seed.items]
        card_message = next(m for m in messages if buttons(m))

        # The button shows that paper's breakdown, ephemerally.
        third = [b for b in buttons(card_message) if b["custom_id"].startswith("arxiv-digest:bd:")][2]
        press = await fake.press(card_message, third["custom_id"])
        await fake.wait_for(lambda: press.messages(), timeout=10)
        answer = press.messages()[0]
        assert answer["ephemeral"] and press.ack_seconds < 3
        assert answer["embeds"][0]["title"] == seed.items[2].paper.title
        assert seed.items[2].summary.background.strip()[:40] in answer["embeds"][0]["description"]

        # A forged button and a bad date are answered.
        forged = dict(card_message)
        custom_id = "arxiv-digest:bd:0000.00000v1"
        forged["components"] = [{"type": 1, "components": [{**third, "custom_id": custom_id}]}]
        press = await fake.press(forged, custom_id)
        await fake.wait_for(lambda: press.messages(), timeout=10)
        assert press.messages()[0]["ephemeral"] and press.messages()[0]["content"]
        bad = await fake.slash(env.channel, "digest", "date", day="2026-13-45")
        await fake.wait_for(lambda: bad.messages(), timeout=10)
        assert bad.messages()[0]["ephemeral"] and "2026-13-45" in bad.messages()[0]["content"]

        # A member without Manage Channels cannot subscribe; a manager can.
        refused = await fake.slash(env.channel, "digest", "subscribe", permissions=MEMBER)
        await fake.wait_for(lambda: refused.messages(), timeout=10)
        assert refused.messages()[0]["ephemeral"]
        ok = await fake.slash(env.channel, "digest", "subscribe", permissions=MANAGER)
        await fake.wait_for(lambda: ok.messages(), timeout=10)
        assert not ok.messages()[0]["ephemeral"]
    finally:
        assert await stop(proc) == 0, env.log()

    # After a restart, the cards posted before still work, and the commands are not registered again.
    proc = await env.start("run")
    try:
        await wait_ready(env, proc, sessions=2)
        assert fake.command_puts == 1
        # Four buttons a card, 25 a message: the seed's 8 cards come in two messages.
        card_message = [m for m in messages if buttons(m)][-1]
        last = [b for b in buttons(card_message) if b["custom_id"].startswith("arxiv-digest:bd:")][-1]
        press = await fake.press(card_message, last["custom_id"])
        await fake.wait_for(lambda: press.messages(), timeout=10)
        answer = press.messages()[0]
        assert answer["ephemeral"] and answer["embeds"][0]["title"] == seed.items[-1].paper.title
        dislike = [b for b in buttons(card_message) if b["custom_id"].startswith("arxiv-digest:rate:down:")][
            -1
        ]
        assert dislike["custom_id"] == f"arxiv-digest:rate:down:{seed.items[-1].paper.versioned_id}"
        press = await fake.press(card_message, dislike["custom_id"])
        await fake.wait_for(lambda: press.messages(), timeout=10)
        assert press.messages()[0]["ephemeral"] and press.messages()[0]["content"].startswith("👎")
    finally:
        assert await stop(proc) == 0, env.log()
    assert fake.violations == []
    assert fake.token not in env.log()


async def test_push_posts_once_to_subscribed_channels_only(env: Env) -> None:
    fake = env.fake
    quiet = fake.add_channel("quiet")
    gone = fake.add_channel("gone", forbidden=True)
    store = Store.open(env.root / "data" / "digest.db")
    store.subscribe("discord", env.channel, ["cs.SD", "eess.AS"], title="papers")
    store.subscribe("discord", gone, ["cs.SD", "eess.AS"], title="gone")
    store.close()

    code, out = await env.run_once("push", "--date", "2026-02-18", "--platform", "discord")
    assert code == 0, out
    assert "discord: 3 messages sent for 2026-02-18" in out
    posted = fake.messages[env.channel]
    assert [len(m["embeds"]) for m in posted] == [1, 6, 2]  # four buttons a card, 25 a message
    assert all(check_message(m) == [] for m in posted)
    assert fake.messages[quiet] == [] and fake.messages[gone] == []
    assert fake.identified == 0  # push logs in over REST only

    code, out = await env.run_once("push", "--date", "2026-02-18", "--platform", "discord")
    assert code == 0, out
    assert "discord: 0 messages sent" in out
    assert len(fake.messages[env.channel]) == 3
    store = Store.open(env.root / "data" / "digest.db")
    try:
        assert not store.get_subscription("discord", gone).active
    finally:
        store.close()
    assert fake.violations == []
    assert fake.token not in out


async def test_a_refused_token_is_a_clear_error(env: Env) -> None:
    env.env["DISCORD_BOT_TOKEN"] = "not-the-token"
    code, out = await env.run_once("push", "--date", "2026-02-18", "--platform", "discord")
    assert code == 2, out
    assert "Discord refused the bot token" in out and "Traceback" not in out
    assert "not-the-token" not in out

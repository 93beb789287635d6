"""`arxiv-digest run` with both tokens set: one process runs Telegram (polling), Discord (gateway) and
the daily schedule; started after `publish_at` it catches up at once (build, then push to both), and
SIGTERM stops everything within seconds."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from digest.store import Store
from tests.conftest import CLI, SECRET_VARS
from tests.fakes.arxiv_api import FakeArxiv, entry
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.server import BackgroundServer
from tests.fakes.telegram_api import FakeTelegram

CHANNEL = -1001000000009


async def test_run_serves_both_platforms_and_the_daily_job(tmp_path: Path, fake_llm) -> None:
    _, llm_server = fake_llm
    arxiv = FakeArxiv()
    # One paper in today's window [yesterday 08:50, today 08:50) Shanghai: yesterday 20:00 there.
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    inside = datetime.combine(today - timedelta(days=1), datetime.min.time(), tzinfo=UTC) + timedelta(
        hours=12
    )
    arxiv.add(entry("2611.00001v1", inside, ("cs.SD",), title="A <Paper> & its 'window'"))
    telegram = FakeTelegram(token="123456:both-SECRET")
    telegram.add_chat(CHANNEL, "channel", "Audio papers")
    discord = await FakeDiscord().start()
    discord_channel = discord.add_channel("papers")
    with BackgroundServer(arxiv.app()) as arxiv_server, BackgroundServer(telegram.app()) as tg_server:
        telegram.use_port(tg_server.port)
        config = tmp_path / "digest.toml"
        config.write_text(
            f"""
[digest]
publish_at = "00:00"   # always past: the job runs at start
[arxiv]
api_url = "{arxiv_server.url}/api/query"
html_url = "{arxiv_server.url}/html/{{id}}"
pdf_url = "{arxiv_server.url}/pdf/{{id}}"
delay_seconds = 0
[telegram]
api_base_url = "{telegram.base_url}"
[discord]
api_base_url = "{discord.api_base_url}"
gateway_url = "{discord.gateway_url}"
""",
            encoding="utf-8",
        )
        store = Store.open(tmp_path / "data" / "digest.db")
        store.subscribe("telegram", str(CHANNEL), ["cs.SD", "eess.AS"], "Audio papers")
        store.subscribe("discord", discord_channel, ["cs.SD", "eess.AS"], "papers")
        store.close()
        env = {k: v for k, v in os.environ.items() if k not in SECRET_VARS}
        env.update(
            ARXIV_DIGEST_CONFIG=str(config),
            TELEGRAM_BOT_TOKEN=telegram.token,
            DISCORD_BOT_TOKEN=discord.token,
            OPENAI_BASE_URL=f"{llm_server.url}/v1",
            OPENAI_API_KEY="sk-both-secret",
        )
        log_path = tmp_path / "run.log"
        with log_path.open("wb") as log:
            proc = await asyncio.create_subprocess_exec(
                str(CLI), "run", cwd=tmp_path, env=env, stdout=log, stderr=log
            )
        try:
            await discord.wait_for(lambda: discord.messages[discord_channel], timeout=60)
            deadline = time.monotonic() + 30
            while len(telegram.messages_to(CHANNEL)) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert discord.identified >= 1 and discord.connected
            assert "getUpdates" in telegram.calls  # polling
        finally:
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), 30)
            stopped_in = time.monotonic() - started
            await discord.stop()
        output = log_path.read_text(errors="replace")
    assert code == 0, output
    assert stopped_in < 10
    tg_texts = [m["text"] for m in telegram.messages_to(CHANNEL)]
    assert len(tg_texts) == 2 and today.isoformat() in tg_texts[0]  # header, then the one card
    assert "A <Paper> & its 'window'" in tg_texts[1]  # the fake parsed the HTML: it was escaped
    assert len(discord.messages[discord_channel]) >= 1
    assert (tmp_path / "archive" / "_posts" / f"{today.isoformat()}-arxiv-daily.md").exists()
    for secret in (telegram.token, discord.token, "sk-both-secret"):
        assert secret not in output
    assert discord.violations == []

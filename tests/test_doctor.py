"""`arxiv-digest doctor` against the fakes: every check passes with everything up; a refused LLM key, a
missing model, a bad bot token or a broken config is one ✗ line naming the fix, and the exit status says
whether the set-up (2) or a service (1) is at fault."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from tests.conftest import CLI, Project
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.openai_api import FakeLLM
from tests.fakes.server import BackgroundServer
from tests.fakes.telegram_api import FakeTelegram


@dataclass
class Fakes:
    project: Project
    llm: FakeLLM
    telegram: FakeTelegram
    discord: FakeDiscord

    async def doctor(self) -> tuple[int, str, str]:
        # Asynchronously, so that this loop keeps serving the fake Discord meanwhile.
        proc = await asyncio.create_subprocess_exec(
            str(CLI),
            "doctor",
            cwd=self.project.root,
            env=self.project.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        return proc.returncode or 0, out.decode(), err.decode()


@pytest.fixture
async def fakes(seed_arxiv, fake_llm, make_project) -> AsyncIterator[Fakes]:
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    telegram = FakeTelegram(token="555555:doctor-SECRET")
    discord = await FakeDiscord(token="doctor-discord-SECRET").start()
    with BackgroundServer(telegram.app()) as tg_server:
        telegram.use_port(tg_server.port)
        project = make_project(
            arxiv_server.url,
            llm_server.url,
            extra=f'[telegram]\napi_base_url = "{telegram.base_url}"\n'
            f'[discord]\napi_base_url = "{discord.api_base_url}"\ngateway_url = "{discord.gateway_url}"\n',
        )
        project.env.update(TELEGRAM_BOT_TOKEN=telegram.token, DISCORD_BOT_TOKEN=discord.token)
        try:
            yield Fakes(project, llm, telegram, discord)
        finally:
            await discord.stop()


def _line(out: str, name: str) -> str:
    return next(line for line in out.splitlines() if line[2:].startswith(name))


async def test_everything_up_passes_every_check(fakes: Fakes) -> None:
    fakes.llm.models = ["gpt-4o-mini", "text-embedding-3-small"]

    code, out, err = await fakes.doctor()

    assert code == 0, out + err
    for name in ("config", "storage", "arXiv", "LLM", "Telegram", "Discord"):
        assert _line(out, name).startswith("✓"), out
    assert "model 'gpt-4o-mini' available" in _line(out, "LLM")
    assert "embedding model" not in _line(out, "LLM")  # it has the default one too
    assert "@" in _line(out, "Telegram") and "getMe" in fakes.telegram.calls
    assert ("GET", "/api/v10/users/@me") in fakes.discord.requests
    assert out.rstrip().endswith("all checks passed")
    # A fresh machine is left as it was: the storage is test-written, not created.
    project = fakes.project
    assert f"database will be created at {project.database} on the first build" in _line(out, "storage")
    assert not (project.root / "data").exists() and not (project.root / "archive").exists()
    assert "WARNING" not in err  # no library's start-up noise among the checks
    assert fakes.llm.models_listed == 1 and fakes.llm.received == 0  # no text paid for
    for secret in (fakes.telegram.token, fakes.discord.token, "sk-test-secret-key"):
        assert secret not in out + err


async def test_a_refused_llm_key_is_one_failed_line_with_the_fix(fakes: Fakes) -> None:
    fakes.llm.api_keys = {"sk-another-key"}

    code, out, err = await fakes.doctor()

    assert code == 2, out + err
    llm_line = out[out.index("✗ LLM") :]
    assert "refused the API key" in llm_line and "Incorrect API key provided" in llm_line
    assert "set OPENAI_API_KEY" in llm_line
    for name in ("config", "storage", "arXiv", "Telegram", "Discord"):
        assert _line(out, name).startswith("✓"), out
    assert "1 of 6 checks failed" in out
    assert "Traceback" not in out + err and "sk-test-secret-key" not in out + err
    assert fakes.llm.received == 0


async def test_an_embedding_model_the_server_does_not_offer_is_a_note_not_a_failure(fakes: Fakes) -> None:
    fakes.llm.models = ["gpt-4o-mini"]  # e.g. a local server with a chat model only
    code, out, _ = await fakes.doctor()
    line = _line(out, "LLM")
    assert code == 0 and line.startswith("✓"), out
    assert "no embedding model 'text-embedding-3-small' there" in line and "[llm] embedding_model" in line


async def test_a_model_the_server_does_not_have_lists_what_it_has(fakes: Fakes) -> None:
    fakes.llm.models = ["qwen2.5:7b", "llama3.1:8b"]

    code, out, _ = await fakes.doctor()

    assert code == 2
    line = _line(out, "LLM")
    assert line.startswith("✗") and "no model 'gpt-4o-mini'" in line and "llama3.1:8b" in line
    assert "fix: set [llm] model" in out


async def test_bad_bot_tokens_and_a_dead_arxiv(fakes: Fakes) -> None:
    fakes.project.env.update(TELEGRAM_BOT_TOKEN="555555:wrong", DISCORD_BOT_TOKEN="wrong-token")
    text = fakes.project.config.read_text()
    fakes.project.config.write_text(
        text.replace(text.split('api_url = "')[1].split("/api/query")[0], "http://127.0.0.1:9")
    )

    code, out, err = await fakes.doctor()

    assert code == 2, out + err
    assert "Telegram refused TELEGRAM_BOT_TOKEN" in _line(out, "Telegram") and "@BotFather" in out
    assert "Discord refused DISCORD_BOT_TOKEN" in _line(out, "Discord") and "Reset Token" in out
    assert _line(out, "arXiv").startswith("✗") and "[arxiv] api_url" in out
    assert "wrong-token" not in out + err and "Traceback" not in out + err


async def test_a_proxy_page_echoing_the_token_is_quoted_without_it(fakes: Fakes) -> None:
    """A proxy (or a local Bot API server) in front of Telegram answers getMe with a page repeating the
    request line, token included: doctor quotes what it said, never the token."""
    fakes.telegram.proxy_errors["getMe"] = 403

    code, out, err = await fakes.doctor()

    assert code == 1, out + err  # a service in the way, not the set-up
    line = _line(out, "Telegram")
    assert line.startswith("✗") and "Forbidden by proxy" in line and "/bot***/getMe" in line
    for secret in (fakes.telegram.token, fakes.telegram.token.split(":")[1]):
        assert secret not in out + err


def test_a_broken_config_is_the_one_line_doctor_can_give(make_project, cli) -> None:
    project = make_project("http://127.0.0.1:9")
    project.config.write_text('[llm]\napi_key = "sk-oops-123456"\n', encoding="utf-8")

    result = cli(project, "doctor")

    assert result.returncode == 2
    assert _line(result.stdout, "config").startswith("✗") and "set OPENAI_API_KEY" in result.stdout
    assert "sk-oops" not in result.stdout + result.stderr


async def test_a_server_without_a_model_list_is_asked_one_tiny_question(fakes: Fakes) -> None:
    fakes.llm.models_status = 404

    code, out, err = await fakes.doctor()

    assert code == 0, out + err
    assert "key accepted, model 'gpt-4o-mini' answers" in _line(out, "LLM")
    assert fakes.llm.received == 1

"""The daily schedule: when the job runs, and that a failed arXiv fetch is retried before the push."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot import run as run_module
from bot.run import daily_job, next_publish
from bot.wiring import make_service
from config.settings import load_settings
from tests.conftest import write_config


def test_next_publish_is_today_before_the_time_and_tomorrow_after(tmp_path):
    settings = load_settings(write_config(tmp_path / "c.toml", "http://127.0.0.1:9"))  # publish_at 09:30
    before = datetime(2026, 2, 18, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    after = datetime(2026, 2, 18, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    assert next_publish(settings, before).isoformat() == "2026-02-18T09:30:00+08:00"
    assert next_publish(settings, after).isoformat() == "2026-02-19T09:30:00+08:00"


class RecordingRuntime:
    name = "recording"

    def __init__(self) -> None:
        self.pushed: list[date] = []

    async def start(self, receive: bool = True) -> None:
        pass

    async def push(self, day: date) -> int:
        self.pushed.append(day)
        return 0

    async def stop(self) -> None:
        pass


async def test_the_daily_job_retries_a_failed_fetch_then_pushes(seed_arxiv, tmp_path, monkeypatch):
    arxiv, server = seed_arxiv
    settings = load_settings(write_config(tmp_path / "c.toml", server.url), env={}, base_dir=tmp_path)
    service = make_service(settings)
    arxiv.fail_next = [503] * (settings.arxiv.retries + 1)  # the whole first attempt fails
    runtime = RecordingRuntime()
    monkeypatch.setattr(run_module, "BUILD_ATTEMPTS", 3)

    await daily_job(service, [runtime], date(2026, 2, 18), retry_seconds=0)

    assert runtime.pushed == [date(2026, 2, 18)]
    digest = service.get_digest(date(2026, 2, 18))
    assert digest is not None and digest.shown == 8
    service.store.close()


async def test_the_daily_job_gives_up_for_the_day_without_pushing(seed_arxiv, tmp_path, monkeypatch):
    arxiv, server = seed_arxiv
    settings = load_settings(write_config(tmp_path / "c.toml", server.url), env={}, base_dir=tmp_path)
    service = make_service(settings)
    arxiv.fail_next = [503] * 100
    runtime = RecordingRuntime()
    monkeypatch.setattr(run_module, "BUILD_ATTEMPTS", 2)

    await daily_job(service, [runtime], date(2026, 2, 18), retry_seconds=0)

    assert runtime.pushed == []
    assert service.get_digest(date(2026, 2, 18)) is None
    service.store.close()


async def test_the_daily_job_pushes_the_abstracts_when_the_llm_refuses(seed_arxiv, fake_llm, tmp_path):
    """A wrong key (or an LLM down all day): the day's digest is stored all the same and pushed with its
    abstracts, healed later, rather than every chat getting nothing."""
    _arxiv, server = seed_arxiv
    llm, llm_server = fake_llm
    llm.api_keys = {"sk-the-right-key"}
    env = {"OPENAI_BASE_URL": f"{llm_server.url}/v1", "OPENAI_API_KEY": "sk-a-wrong-key"}
    settings = load_settings(write_config(tmp_path / "c.toml", server.url), env=env, base_dir=tmp_path)
    service = make_service(settings)
    runtime = RecordingRuntime()

    await daily_job(service, [runtime], date(2026, 2, 18), retry_seconds=0)

    assert runtime.pushed == [date(2026, 2, 18)]
    digest = service.get_digest(date(2026, 2, 18))
    assert digest is not None and digest.shown == 8 and all(i.summary is None for i in digest.items)
    assert llm.received == 0  # the key was refused at the model list: nothing was sent for the papers
    await service.aclose()
    service.store.close()

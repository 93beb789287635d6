"""The daily schedule: when the build and the push start (winter and summer time, a Friday, a Saturday),
and that a failed arXiv fetch is retried before the push."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import run as run_module
from bot.run import daily_job
from bot.wiring import make_service
from config.settings import Settings, load_settings
from digest.schedule import day_schedule, seconds_until
from tests.conftest import write_config


def schedule_settings(
    tmp_path: Path,
    timezone: str = "Asia/Shanghai",
    anchor: str = "08:50",
    publish_at: str = "09:30",
    margin: int = 10,
) -> Settings:
    config = tmp_path / f"{timezone.replace('/', '-')}-{anchor}-{publish_at}.toml"
    config.write_text(
        f"""
[digest]
timezone = "{timezone}"
anchor = "{anchor}"
publish_at = "{publish_at}"
announcement_margin_minutes = {margin}
""",
        encoding="utf-8",
    )
    return load_settings(config, env={}, base_dir=tmp_path)


def times(day: date, settings: Settings) -> tuple[str, str]:
    plan = day_schedule(day, settings)
    return plan.build_at.isoformat(), plan.push_at.isoformat()


# Asia/Shanghai has no daylight saving; New York's moves arXiv's 20:00 announcement from 09:00 (winter)
# to 08:00 (summer) there. The window closes at 08:50; the push is due at 09:30.
@pytest.mark.parametrize(
    ("day", "build_at", "why"),
    [
        ("2026-02-18", "2026-02-18T09:10:00+08:00", "winter Wednesday: announced at 09:00, plus 10 min"),
        ("2026-07-15", "2026-07-15T08:50:00+08:00", "summer: announced at 08:00, the window closes later"),
        ("2026-02-20", "2026-02-20T09:10:00+08:00", "Friday: Thursday evening's announcement"),
        ("2026-02-21", "2026-02-21T08:50:00+08:00", "Saturday: no announcement since Friday's build"),
        ("2026-02-22", "2026-02-22T08:50:00+08:00", "Sunday: none either"),
        ("2026-02-23", "2026-02-23T09:10:00+08:00", "Monday: Sunday evening's announcement"),
    ],
)
def test_the_build_starts_when_the_window_closed_and_arxiv_announced(tmp_path, day, build_at, why):
    settings = schedule_settings(tmp_path)
    assert times(date.fromisoformat(day), settings) == (build_at, f"{day}T09:30:00+08:00"), why


def test_saturday_waits_for_no_announcement(tmp_path):
    # New York's Friday evening has no announcement: the last one before Saturday's push is Thursday's,
    # which Friday's digest already took. The window's papers come with Sunday evening's announcement,
    # into Monday's digest, as late papers.
    plan = day_schedule(date(2026, 2, 21), schedule_settings(tmp_path))
    assert plan.announcement.isoformat() == "2026-02-19T20:00:00-05:00"  # Thursday, New York
    assert plan.build_at == plan.window_end


def test_both_daylight_saving_changes_count(tmp_path):
    # Berlin and New York change clocks on different Sundays: from 8 to 29 March 2026 New York is on
    # summer time and Berlin is not, so the announcement comes an hour earlier in Berlin.
    settings = schedule_settings(tmp_path, "Europe/Berlin", anchor="00:00", publish_at="07:00")
    assert times(date(2026, 2, 17), settings)[0] == "2026-02-17T02:10:00+01:00"
    assert times(date(2026, 3, 17), settings)[0] == "2026-03-17T01:10:00+01:00"
    assert times(date(2026, 4, 14), settings)[0] == "2026-04-14T02:10:00+02:00"


def test_the_build_never_starts_after_the_push_is_due(tmp_path):
    # A push due right after the announcement: the build starts at the push time, as it always did.
    settings = schedule_settings(tmp_path, publish_at="09:05")
    assert times(date(2026, 2, 18), settings) == ("2026-02-18T09:05:00+08:00", "2026-02-18T09:05:00+08:00")
    # A push due before the window closes (an unusual setting) builds at the push time, as it always did.
    early = schedule_settings(tmp_path, publish_at="08:00")
    assert times(date(2026, 2, 18), early) == ("2026-02-18T08:00:00+08:00", "2026-02-18T08:00:00+08:00")


def test_waiting_across_a_daylight_saving_change_counts_real_seconds():
    zone = ZoneInfo("Europe/Berlin")
    before = datetime(2026, 3, 29, 1, 0, tzinfo=zone)  # clocks jump from 02:00 to 03:00
    after = datetime(2026, 3, 29, 4, 0, tzinfo=zone)
    assert seconds_until(after, before) == 2 * 3600


class RecordingRuntime:
    name = "recording"

    def __init__(self) -> None:
        self.pushed: list[date] = []

    async def start(self, receive: bool = True) -> None:
        pass

    async def push(self, day: date, start_at: datetime | None = None, heal_only: bool = False) -> int:
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


async def test_the_scheduler_runs_a_due_job_at_once_with_its_push_time(tmp_path, monkeypatch):
    # Started after today's build time (a restart): today's job runs at once, pushing at publish_at.
    settings = schedule_settings(tmp_path, anchor="00:00", publish_at="00:00")
    calls: list[tuple[date, datetime | None]] = []

    async def job(service, runtimes, day, retry_seconds=0.0, push_at=None):
        calls.append((day, push_at))
        raise asyncio.CancelledError  # stop the endless loop after the first day

    monkeypatch.setattr(run_module, "daily_job", job)
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(run_module._scheduler(settings, None, []), timeout=5)  # type: ignore[arg-type]
    today = settings.digest.today()
    assert calls == [(today, day_schedule(today, settings).push_at)]


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


async def test_a_long_wait_notices_the_wall_clock_jumping_ahead(monkeypatch):
    # The machine slept for hours: asyncio's monotonic clock did not move, the wall clock did. The
    # wait looks at the wall clock again after each step instead of sleeping the whole day at once.
    left = iter([86400.0, 0.0])
    monkeypatch.setattr(run_module, "seconds_until", lambda moment: next(left))
    await asyncio.wait_for(run_module.sleep_until(datetime.now(), step=0.05), timeout=2)

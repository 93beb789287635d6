"""`arxiv-digest run`: both chat adapters (those with a token) and the daily schedule in one asyncio process."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import date, datetime, time, timedelta

from bot.platforms import PlatformRuntime
from bot.wiring import make_questions
from config.settings import Settings
from digest.arxiv_source import SourceError
from digest.service import DigestService
from digest.summarize import LLMRefused, LLMUnusable

log = logging.getLogger("arxiv_digest.run")


def make_runtimes(
    settings: Settings, service: DigestService, only: str | None = None
) -> list[PlatformRuntime]:
    runtimes: list[PlatformRuntime] = []
    secrets = settings.secrets
    questions = make_questions(settings, service)  # one for both platforms: one record of questions
    if secrets.telegram_bot_token is not None and only in (None, "telegram"):
        from bot import telegram_wiring

        runtimes.append(telegram_wiring.make_runtime(settings, service.store, service, questions))
    if secrets.discord_bot_token is not None and only in (None, "discord"):
        from bot import discord_wiring

        runtimes.append(discord_wiring.make_runtime(settings, service.store, service, questions))
    return runtimes


def next_publish(settings: Settings, now: datetime) -> datetime:
    """The next daily build + push time at or after `now`, in the configured timezone."""
    zone = settings.digest.zone
    hour, minute = (int(p) for p in settings.digest.publish_at.split(":"))
    local = now.astimezone(zone)
    candidate = datetime.combine(local.date(), time(hour, minute), tzinfo=zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), time(hour, minute), tzinfo=zone)
    return candidate


BUILD_ATTEMPTS = 6
BUILD_RETRY_SECONDS = 600.0


async def daily_job(
    service: DigestService,
    runtimes: list[PlatformRuntime],
    day: date,
    retry_seconds: float = BUILD_RETRY_SECONDS,
) -> None:
    """Build (or finish) the day's digests, then push; each step is idempotent, so a retry is safe.

    Without arXiv there is no digest to push. Without the LLM (down all day, or refusing the key) the
    digests are stored all the same: they are pushed with their abstracts, and the cards are edited in
    place once a later build has the translations, rather than chats getting nothing that day."""
    for attempt in range(1, BUILD_ATTEMPTS + 1):
        try:
            report = await service.build_all(day)
            log.info("built %s: %s", day, "; ".join(f"{d.key} shown {d.shown}" for d in report.digests))
            break
        except LLMRefused as err:  # a wrong key or model: waiting will not help, the operator must act
            log.error("daily build for %s stopped: %s; pushing the abstracts", day, err)
            break
        except (SourceError, LLMUnusable) as err:
            if attempt == BUILD_ATTEMPTS:
                if isinstance(err, LLMUnusable):
                    log.error("daily build for %s: %s, %d times; pushing the abstracts", day, err, attempt)
                    break
                log.error(
                    "daily build for %s failed %d times (%s); giving up until tomorrow", day, attempt, err
                )
                return
            log.warning("daily build for %s failed (%s); retrying in %.0f s", day, err, retry_seconds)
            await asyncio.sleep(retry_seconds)
    for runtime in runtimes:
        try:
            sent = await runtime.push(day)
            log.info("%s: %d messages pushed for %s", runtime.name, sent, day)
        except Exception:  # one platform's failure must not stop the other's push
            log.exception("%s: push for %s failed", runtime.name, day)


async def _scheduler(settings: Settings, service: DigestService, runtimes: list[PlatformRuntime]) -> None:
    zone = settings.digest.zone
    now = datetime.now(zone)
    today_publish = next_publish(settings, now - timedelta(days=1))
    if today_publish.date() == now.date() and today_publish <= now:
        # Started after today's publish time (a restart, a crash): catch up now; pushes skip what was sent.
        await daily_job(service, runtimes, now.date())
    while True:
        at = next_publish(settings, datetime.now(zone))
        log.info("next daily digest at %s", at.isoformat(timespec="minutes"))
        await asyncio.sleep(max(0.0, (at - datetime.now(zone)).total_seconds()))
        await daily_job(service, runtimes, at.date())


async def run_forever(settings: Settings, service: DigestService) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    runtimes = make_runtimes(settings, service)
    if not runtimes:
        log.warning("no TELEGRAM_BOT_TOKEN or DISCORD_BOT_TOKEN set: running the daily build only")
    started: list[PlatformRuntime] = []
    try:
        for runtime in runtimes:
            await runtime.start(receive=True)
            started.append(runtime)
            log.info("%s: started", runtime.name)
        scheduler = asyncio.create_task(_scheduler(settings, service, runtimes))
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({scheduler, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in (scheduler, stopper):
            task.cancel()
        if scheduler in done and not scheduler.cancelled() and scheduler.exception():
            raise scheduler.exception()  # type: ignore[misc]
    finally:
        for runtime in reversed(started):
            try:
                await asyncio.wait_for(runtime.stop(), timeout=10)
            except Exception:
                log.exception("%s: error while stopping", runtime.name)
        log.info("stopped")

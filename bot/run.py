"""`arxiv-digest run`: both chat adapters (those with a token) and the daily schedule in one asyncio process."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import date, datetime, timedelta

from bot.platforms import PlatformRuntime
from bot.wiring import make_questions
from config.settings import Settings
from digest.arxiv_source import SourceError
from digest.schedule import day_schedule, seconds_until
from digest.service import BuildReport, DigestService
from digest.store import Store
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


async def check_platforms(settings: Settings, only: str | None = None) -> None:
    """Log each platform that has a token in and out again (Telegram's getMe, Discord's /users/@me),
    with a throwaway in-memory store: run before a first push or run creates the database, so that a
    refused token or an unreachable platform stops the command with the very error it would give at
    start, and leaves no database or folder behind."""
    from bot.wiring import make_service

    service = make_service(settings, Store.memory())
    try:
        for runtime in make_runtimes(settings, service, only):
            await runtime.start(receive=False)
            await runtime.stop()
    finally:
        await service.aclose()
        service.store.close()


BUILD_ATTEMPTS = 6
BUILD_RETRY_SECONDS = 600.0


async def build_with_retries(
    service: DigestService, day: date, retry_seconds: float = BUILD_RETRY_SECONDS
) -> BuildReport | None:
    """Build (or finish) the day's digests; None when arXiv or the LLM kept failing (or the LLM refused
    the key or model). Each attempt resumes where the last stopped."""
    for attempt in range(1, BUILD_ATTEMPTS + 1):
        try:
            report = await service.build_all(day)
        except LLMRefused as err:  # a wrong key or model: waiting will not help, the operator must act
            log.error("daily build for %s stopped: %s", day, err)
            return None
        except (SourceError, LLMUnusable) as err:
            if attempt == BUILD_ATTEMPTS:
                log.error(
                    "daily build for %s failed %d times (%s); giving up until tomorrow", day, attempt, err
                )
                return None
            log.warning("daily build for %s failed (%s); retrying in %.0f s", day, err, retry_seconds)
            await asyncio.sleep(retry_seconds)
        else:
            log.info("built %s: %s", day, "; ".join(f"{d.key} shown {d.shown}" for d in report.digests))
            return report
    return None


async def push_all(
    runtimes: list[PlatformRuntime], day: date, start_at: datetime | None = None, heal_only: bool = False
) -> None:
    """Every platform at once, sending from `start_at` on: each chat waits for its own cards
    (service.ready_digest), not for the others'."""

    async def one(runtime: PlatformRuntime) -> None:
        try:
            sent = await runtime.push(day, start_at, heal_only)
            log.info("%s: %d messages pushed for %s", runtime.name, sent, day)
        except Exception:  # one platform's failure must not stop the other's push
            log.exception("%s: push for %s failed", runtime.name, day)

    await asyncio.gather(*(one(runtime) for runtime in runtimes))


async def daily_job(
    service: DigestService,
    runtimes: list[PlatformRuntime],
    day: date,
    retry_seconds: float = BUILD_RETRY_SECONDS,
    push_at: datetime | None = None,
) -> None:
    """Build the day's digests and push them from `push_at` on (at once when None).

    The build starts now. Once it has fixed the day's membership, each chat's messages are prepared as
    soon as its own cards are summarized, and sent from `push_at` on, while the build goes on with the
    rest: a chat whose cards are ready at `push_at` gets its digest then, the others as soon as theirs
    are. A build that fails for good pushes nothing, unless it stored the day's digest (the LLM failed:
    the cards go out with their abstracts). Every step is idempotent, so a restart in between
    resumes: the build finishes what is missing, the push sends only what was not delivered.
    """
    build = asyncio.create_task(build_with_retries(service, day, retry_seconds))
    try:
        membership = asyncio.create_task(service.wait_membership(day))
        await asyncio.wait({build, membership}, return_when=asyncio.FIRST_COMPLETED)
        membership.cancel()
        if build.done() and build.result() is None and service.get_digest(day) is None:
            return  # arXiv kept failing: nothing to push today
        # (The LLM down all day or refusing the key: the digest is stored all the same and goes out with
        # its abstracts; the cards are edited in place once a later build has the translations.)
        await push_all(runtimes, day, push_at)
        # The papers no chat shows as a card, and the archive; then the cards that went out without
        # their translation (the LLM down or failing when they were due) are asked again and healed.
        if await build is not None:
            await heal_days(service, runtimes, day)
    finally:
        build.cancel()  # only matters when the job itself is cancelled (the bot is stopping)


HEAL_DAYS_BACK = 3  # a card untranslated on a Friday is healed by Monday's job at the latest


async def heal_days(service: DigestService, runtimes: list[PlatformRuntime], day: date) -> None:
    """Push `day` and the few days before it again to the chats holding cards of them sent without
    their translation: the push asks the LLM again for those cards (service.chat_digest) and edits
    them in place. No other chat gets anything: a chat subscribed since is not sent an old digest."""
    for back in range(HEAL_DAYS_BACK + 1):
        earlier = day - timedelta(days=back)
        if any(service.subscriptions_to_heal(runtime.name, earlier) for runtime in runtimes):
            log.info("healing the untranslated cards of %s", earlier)
            await push_all(runtimes, earlier, heal_only=True)


WALL_CLOCK_STEP = 60.0


async def sleep_until(moment: datetime, step: float = WALL_CLOCK_STEP) -> None:
    """Until `moment` by the wall clock. asyncio's clock is monotonic: it stops while the machine (or
    its VM) is suspended and ignores clock corrections, so a day-long sleep could start the build
    hours late; the wall clock is looked at again every `step` seconds."""
    while (left := seconds_until(moment)) > 0:
        await asyncio.sleep(min(left, step))


async def _scheduler(settings: Settings, service: DigestService, runtimes: list[PlatformRuntime]) -> None:
    # Today's job first: started after its build time (a restart, a crash), it runs at once and resumes.
    day = settings.digest.today()
    while True:
        plan = day_schedule(day, settings)
        log.info(
            "digest of %s: build at %s, push at %s",
            day,
            plan.build_at.isoformat(timespec="minutes"),
            plan.push_at.isoformat(timespec="minutes"),
        )
        await sleep_until(plan.build_at)
        await daily_job(service, runtimes, day, push_at=plan.push_at)
        day += timedelta(days=1)


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

"""Settings -> a running Telegram bot: python-telegram-bot's Application, the adapter's handlers, push."""

from __future__ import annotations

import logging
import os
from datetime import date, datetime

from telegram import Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder

from adapters.telegram.asking import AskHandlers
from adapters.telegram.handlers import TelegramHandlers
from adapters.telegram.ports import BotOptions, DigestSource
from adapters.telegram.push import Pusher
from config.settings import ConfigError, Settings
from digest.limits import ChatLimits
from digest.ports import PlatformUnreachable
from digest.questions import QuestionService
from digest.search import PaperSearch
from digest.store import Store

# Opt in to PTB 23's timedelta durations now: the int form warns on every RetryAfter.
os.environ.setdefault("PTB_TIMEDELTA", "true")

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.CHANNEL_POST, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]
POLL_TIMEOUT = 10  # seconds of long polling; stop() cuts a poll short


def _quiet_http_logs() -> None:
    # httpx logs every request URL at INFO, and Bot API URLs hold the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)


class TelegramRuntime:
    name = "telegram"

    def __init__(self, application: Application, store: Store, service: DigestSource, api_base_url: str = ""):
        self.application = application
        self.store, self.service = store, service
        self.api_base_url = api_base_url  # as configured, without the token: for error messages
        self.failed = 0  # chats the last push left unfinished (an outside failure; the next push resumes)
        self._initialized = False

    async def start(self, receive: bool = True) -> None:
        try:
            await self.application.initialize()  # getMe: checks the token, learns the bot's username
        except BaseException as err:
            # The Application counts as initialized only after getMe succeeded, so its shutdown() would
            # do nothing: close the bot's HTTP clients (opened before getMe) here.
            await self.application.bot.shutdown()
            error = self._start_error(err)
            if error is None:
                raise
            raise error from None
        self._initialized = True
        log.info("telegram: connected as @%s", self.application.bot.username)
        if receive:
            await self.application.start()
            assert self.application.updater is not None
            await self.application.updater.start_polling(
                timeout=POLL_TIMEOUT, allowed_updates=ALLOWED_UPDATES
            )

    def _start_error(self, err: BaseException) -> Exception | None:
        """What the operator reads when getMe failed: the problem, the URL tried and what to change."""
        where = self.api_base_url or "the Bot API"
        if isinstance(err, InvalidToken) and token_or_url_not_found(err):
            return ConfigError(
                f"Telegram at {where} answered 404 Not Found: TELEGRAM_BOT_TOKEN is malformed (it looks "
                "like 123456:ABC-...), or [telegram] api_base_url is wrong (Telegram's ends in /bot)"
            )
        if isinstance(err, InvalidToken):
            return ConfigError(
                "Telegram refused TELEGRAM_BOT_TOKEN (401 Unauthorized): copy the token again from "
                "@BotFather (/token) into TELEGRAM_BOT_TOKEN"
            )
        if isinstance(err, NetworkError):  # connection refused, DNS, a timeout (TimedOut), a bad gateway
            return PlatformUnreachable(
                f"Telegram unreachable at {where} ({err.message})",
                "check the network, a proxy (HTTPS_PROXY) or [telegram] api_base_url, then try again",
            )
        if isinstance(err, TelegramError):  # the message is Telegram's own and never holds the token
            return PlatformUnreachable(
                f"Telegram at {where} answered getMe with an error ({err.message})", "try again later"
            )
        return None

    async def push(self, day: date, start_at: datetime | None = None, heal_only: bool = False) -> int:
        pusher = Pusher(self.application.bot, self.store, self.service)
        report = await pusher.push(day, start_at, heal_only)
        self.failed = len(set(report.failed))
        return report.sent

    async def stop(self) -> None:
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.application.running:
            await self.application.stop()
        if self._initialized:
            self._initialized = False
            await self.application.shutdown()


def token_or_url_not_found(err: InvalidToken) -> bool:
    """python-telegram-bot raises InvalidToken for a 404 as for a 401: Telegram answers 404 to a malformed
    token, and any server does to a wrong base URL. (Bot.initialize re-raises it, the answer as cause.)"""
    cause = err.__cause__
    return any(
        isinstance(e, TelegramError) and "not found" in e.message.lower()
        for e in (err, cause)
        if e is not None
    )


def build_application(settings: Settings) -> Application:
    token = settings.secrets.telegram_bot_token
    if token is None:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set")
    return (
        ApplicationBuilder()
        .token(token.get_secret_value())
        .base_url(settings.telegram.api_base_url)
        .rate_limiter(AIORateLimiter(max_retries=5))
        .concurrent_updates(8)
        .build()
    )


def make_runtime(
    settings: Settings, store: Store, service: DigestSource, questions: QuestionService | None = None
) -> TelegramRuntime:
    _quiet_http_logs()
    application = build_application(settings)
    options = BotOptions(
        categories=tuple(settings.digest.categories),
        language=settings.digest.language,
        timezone=settings.digest.timezone,
        publish_at=settings.digest.publish_at,
        asking=questions is not None,
    )
    limits = ChatLimits(settings.limits, store, settings.digest.categories)
    TelegramHandlers(store, service, options, limits).register(application)
    AskHandlers(store, options, questions, PaperSearch(store.db)).register(application)
    return TelegramRuntime(application, store, service, settings.telegram.api_base_url)

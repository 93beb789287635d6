"""Wiring for Discord: settings -> discord.py's endpoints -> the adapter's runtime."""

from __future__ import annotations

from datetime import datetime

import discord
import discord.gateway
import discord.http
import yarl

from adapters.discord.app import BotOptions, DigestSource
from adapters.discord.runtime import DiscordRuntime
from config.settings import ConfigError, Settings
from digest.limits import ChatLimits
from digest.questions import QuestionService
from digest.search import PaperSearch
from digest.store import Store


def configure_endpoints(api_base_url: str, gateway_url: str) -> None:
    """Point discord.py at the configured REST base and gateway (Discord itself, a mirror or a fake).
    Both are class attributes in discord.py, so this is process-wide."""
    discord.http.Route.BASE = api_base_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def make_runtime(
    settings: Settings, store: Store, service: DigestSource, questions: QuestionService | None = None
) -> DiscordRuntime:
    token = settings.secrets.discord_bot_token
    if token is None:
        raise ConfigError("DISCORD_BOT_TOKEN is not set")
    configure_endpoints(settings.discord.api_base_url, settings.discord.gateway_url)
    digest = settings.digest
    options = BotOptions(
        now=lambda: datetime.now(digest.zone),
        categories=tuple(digest.categories),
        language=digest.language,
        timezone=digest.timezone,
        publish_at=digest.publish_at,
    )
    limits = ChatLimits(settings.limits, store, digest.categories)
    return DiscordRuntime(
        token.get_secret_value(),
        store,
        service,
        options,
        limits,
        questions=questions,
        search=PaperSearch(store.db),
    )

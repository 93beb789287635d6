"""The Discord runtime the composition root drives: log in, sync commands when they changed, take
gateway events in the background, push, stop."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from datetime import date, datetime

import aiohttp
import discord
import discord.http

from adapters.discord.app import PLATFORM, BotOptions, DigestBot, DigestSource
from adapters.discord.asking import Search
from adapters.discord.push import push_digest
from config.settings import ConfigError
from digest.limits import ChatLimits
from digest.ports import PlatformUnreachable
from digest.questions import QuestionService
from digest.store import Store

log = logging.getLogger(__name__)


def commands_hash(payload: list[dict]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class DiscordRuntime:
    name = PLATFORM

    def __init__(
        self,
        token: str,
        store: Store,
        service: DigestSource,
        options: BotOptions,
        limits: ChatLimits | None = None,
        questions: QuestionService | None = None,
        search: Search | None = None,
    ) -> None:
        self._token = token
        self.limits = limits
        self.questions = questions
        self.search = search
        self.store = store
        self.service = service
        self.options = options
        self.client: DigestBot | None = None
        self.failed = 0  # channels the last push left unfinished (an outside failure; the next push resumes)
        self._task: asyncio.Task[None] | None = None

    async def start(self, receive: bool = True) -> None:
        """Log in over REST. With receive=True also sync the commands (if changed) and connect to the
        gateway in the background; without it (a one-off push) no gateway connection is made."""
        self.client = DigestBot(
            self.store,
            self.service,
            self.options,
            self.limits,
            questions=self.questions,
            search=self.search,
        )
        try:
            await self.client.login(self._token)
        except discord.LoginFailure:
            await self.client.close()
            raise ConfigError(
                "Discord refused the bot token (401 Unauthorized): Developer Portal → your application → "
                "Bot → Reset Token, and set DISCORD_BOT_TOKEN to it"
            ) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as err:  # refused, DNS, a timeout
            await self.client.close()
            where = discord.http.Route.BASE  # the configured [discord] api_base_url; it holds no token
            raise PlatformUnreachable(
                f"Discord unreachable at {where} ({type(err).__name__}: {err})",
                "check the network, a proxy or [discord] api_base_url, then try again",
            ) from None
        except discord.NotFound:  # no /users/@me there: not Discord's API
            await self.client.close()
            raise ConfigError(
                f"Discord at {discord.http.Route.BASE} answered the login with 404 Not Found: "
                "[discord] api_base_url is wrong (Discord's is https://discord.com/api/v10)"
            ) from None
        except discord.HTTPException as err:  # Discord's own 5xx (its 429s are waited out by discord.py)
            await self.client.close()
            raise PlatformUnreachable(
                f"Discord at {discord.http.Route.BASE} answered the login with HTTP {err.status}",
                "try again later",
            ) from None
        except BaseException:
            await self.client.close()
            raise
        log.info("discord: logged in as %s", self.client.user)
        if receive:
            try:
                await self.sync_commands()
            except discord.HTTPException as err:
                # The commands registered before still work; try again at the next start.
                log.error("discord: could not sync the commands (%s %s)", err.status, err.text)
            self._task = asyncio.create_task(self._connect(), name="discord-gateway")

    async def _connect(self) -> None:
        assert self.client is not None
        try:
            await self.client.connect(reconnect=True)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("discord: gateway connection ended")

    async def sync_commands(self) -> bool:
        """Register the global commands only when they differ from what was registered last (by hash,
        kept in the database) or from what Discord lists. Return True when they were synced."""
        client = self.client
        assert client is not None and client.application_id is not None
        payload = [command.to_dict(client.tree) for command in client.tree.get_commands()]
        wanted = commands_hash(payload)
        key = f"commands_hash:{client.application_id}"
        if self.store.get_state(PLATFORM, key) == wanted:
            registered = {c.name for c in await client.tree.fetch_commands()}
            if registered == {c["name"] for c in payload}:
                log.info("discord: commands unchanged, not synced")
                return False
        await client.tree.sync()
        self.store.set_state(PLATFORM, key, wanted)
        log.info("discord: commands synced (%d)", len(payload))
        return True

    async def push(self, day: date, start_at: datetime | None = None, heal_only: bool = False) -> int:
        if self.client is None:
            raise RuntimeError("start() the Discord runtime before pushing")
        failed: list[str] = []
        sent = await push_digest(
            self.client, self.store, self.service, day, start_at, heal_only=heal_only, failed=failed
        )
        self.failed = len(set(failed))
        return sent

    async def stop(self) -> None:
        client, task = self.client, self._task
        self._task = None
        if client is not None and not client.is_closed():
            await client.close()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

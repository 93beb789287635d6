"""`arxiv-digest doctor`: every outside thing a build and the bots need, checked once, one line each.

Each check says what it found and, when it failed, what to change. Nothing is sent to a chat and no LLM
text is paid for: the LLM is asked for its model list (one tiny completion only when a server has no
model list), Telegram for getMe and Discord for the bot's own user, which is what logging in checks.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass
from urllib.parse import urlencode

import openai
import requests

from config.settings import Settings
from digest.redaction import redact
from digest.storage import (
    DATABASE_KEY,
    StorageError,
    check_archive_dir,
    check_can_create,
    check_new_database_path,
    path_exists,
)
from digest.store import Store
from digest.summarize import LLMRefused, classify_failure, provider_message

CHECK_TIMEOUT = 15.0  # seconds per outside check: doctor answers quickly even when a host hangs


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: skipped (nothing to check, e.g. no token set)
    detail: str
    fix: str = ""
    user_fixable: bool = True  # False: an outside service is down, not something in the set-up

    def line(self) -> str:
        mark = {True: "✓", False: "✗", None: "-"}[self.ok]
        text = f"{mark} {self.name:<8} {self.detail}"
        return f"{text}\n           fix: {self.fix}" if self.fix and self.ok is False else text


def exit_code(checks: list[Check]) -> int:
    failed = [c for c in checks if c.ok is False]
    if not failed:
        return 0
    return 2 if any(c.user_fixable for c in failed) else 1


def print_checks(checks: list[Check]) -> int:
    for check in checks:
        # Redacted like every log line: an upstream's answer quoted here (a proxy's error page in front
        # of Telegram) may echo the request URL and with it the token.
        print(redact(check.line()))
    code = exit_code(checks)
    failed = sum(1 for c in checks if c.ok is False)
    print("all checks passed" if code == 0 else f"{failed} of {len(checks)} checks failed")
    return code


def config_failed(message: str) -> int:
    """The config did not load: that line, and nothing else can be checked."""
    return print_checks(
        [
            Check(
                "config",
                False,
                message,
                "correct what the line names (the config file or that variable), then run doctor again",
            )
        ]
    )


def _check_config(settings: Settings, source: str | None) -> Check:
    where = source or "no config file: the shipped defaults"
    return Check(
        "config",
        True,
        f"{where} (categories {', '.join(settings.digest.categories)}; language {settings.digest.language}; "
        f"model {settings.llm.model})",
    )


def _check_storage(settings: Settings) -> Check:
    # A fresh machine is left as it was: a missing database or archive folder is not created here (a
    # build creates them), only its nearest existing folder is test-written. An existing database is
    # opened, and so migrated: what the next build would do first.
    database, archive = settings.database_path, settings.archive_dir
    try:
        if path_exists(database, "database", DATABASE_KEY):
            Store.open(database).close()
            found = [f"database {database}: writable"]
        else:
            check_new_database_path(database)
            found = [f"database will be created at {database} on the first build (its folder is writable)"]
        if path_exists(archive, "archive_dir", "[storage] archive_dir"):
            check_archive_dir(archive)
            found.append(f"archive {archive}: writable")
        else:
            check_can_create(archive, "archive_dir", "[storage] archive_dir")
            found.append(f"archive will be created at {archive} on the first build (its folder is writable)")
    except StorageError as err:
        # Its message is "<path and problem>; <what to change>": the two halves of a check's line.
        problem, _, fix = str(err).rpartition("; ")
        return Check("storage", False, problem or fix, fix if problem else "check [storage] in the config")
    return Check("storage", True, "; ".join(found))


def _check_arxiv(settings: Settings) -> Check:
    url = settings.arxiv.api_url
    query = urlencode({"search_query": f"cat:{settings.digest.categories[0]}", "max_results": 1})
    fix = "check the network connection, a proxy (HTTPS_PROXY) or [arxiv] api_url"
    try:
        response = requests.get(
            f"{url}{'&' if '?' in url else '?'}{query}",
            timeout=min(settings.arxiv.timeout_seconds, CHECK_TIMEOUT),
        )
    except requests.Timeout:
        return Check("arXiv", False, f"{url}: timed out", fix, user_fixable=False)
    except requests.RequestException as err:
        return Check(
            "arXiv", False, f"{url}: connection failed ({type(err).__name__})", fix, user_fixable=False
        )
    if response.status_code != 200:
        busy = response.status_code in (429, 500, 502, 503, 504)
        return Check(
            "arXiv",
            False,
            f"{url}: HTTP {response.status_code}",
            "arXiv is busy or down: try again later" if busy else "check [arxiv] api_url",
            user_fixable=not busy,
        )
    if b"<feed" not in response.content[:2000]:
        return Check("arXiv", False, f"{url}: answered, but not with an Atom feed", "check [arxiv] api_url")
    return Check("arXiv", True, f"{url}: reachable")


async def _check_llm(settings: Settings) -> Check:
    from bot.wiring import make_llm_client

    if not settings.llm_configured:
        return Check(
            "LLM",
            False,
            "no LLM configured: builds would archive the original abstracts only",
            "set OPENAI_API_KEY (OpenAI), or OPENAI_BASE_URL / [llm] base_url for another server",
        )
    client = make_llm_client(settings, timeout=CHECK_TIMEOUT, retries=0)
    url = str(client.base_url).rstrip("/")
    model = settings.llm.model
    key = settings.secrets.openai_api_key
    secret = key.get_secret_value() if key else None
    try:
        try:
            models = [m.id async for m in client.models.list()]
        except (openai.NotFoundError, openai.PermissionDeniedError):
            # No model list here (many local servers), or a key restricted to completions: one tiny
            # completion says whether key and model work. No token limit is sent: reasoning models
            # refuse `max_tokens`, and older servers do not know `max_completion_tokens`.
            await client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "Reply with the word OK."}]
            )
            return Check("LLM", True, f"{url}: key accepted, model {model!r} answers")
    except openai.OpenAIError as err:
        problem = classify_failure(err, url, model, secret)
        if problem is not None:
            return Check("LLM", False, problem.problem, problem.fix, isinstance(problem, LLMRefused))
        if isinstance(err, openai.APITimeoutError):
            return Check(
                "LLM",
                False,
                f"{url}: no answer within {CHECK_TIMEOUT:.0f} s",
                "check that the server is running and not overloaded, and OPENAI_BASE_URL or [llm] base_url",
                user_fixable=False,
            )
        said = provider_message(err, secret) if isinstance(err, openai.APIStatusError) else type(err).__name__
        return Check("LLM", False, f"{url}: {said}", "try again later", user_fixable=False)
    finally:
        await client.close()
    if model not in models:
        offered = ", ".join(sorted(models)[:10]) or "none"
        return Check(
            "LLM",
            False,
            f"{url}: key accepted, but there is no model {model!r} (offered: {offered})",
            "set [llm] model to one of those",
        )
    detail = f"{url}: key accepted, model {model!r} available"
    embedding = settings.llm.embedding_model.strip()
    if embedding and embedding not in models:
        # Not a failure: ranking by a chat's 👍/👎 falls back to keywords. Worth a word all the same.
        detail += (
            f"; no embedding model {embedding!r} there, so ratings rank by keywords only "
            '([llm] embedding_model: one the server offers, or "" to stop asking)'
        )
    return Check("LLM", True, detail)


async def _check_telegram(settings: Settings) -> Check:
    token = settings.secrets.telegram_bot_token
    if token is None:
        return Check("Telegram", None, "TELEGRAM_BOT_TOKEN not set: skipped")
    from telegram import Bot
    from telegram.error import InvalidToken, NetworkError, TelegramError
    from telegram.request import HTTPXRequest

    from bot.telegram_wiring import token_or_url_not_found

    # The check's line says what Telegram answered; python-telegram-bot's own error log of the same
    # answer (e.g. "Can not load invalid JSON data") would only repeat it among the lines. -v keeps it.
    library_log = logging.getLogger("telegram")
    if library_log.getEffectiveLevel() > logging.DEBUG:
        library_log.setLevel(logging.CRITICAL)

    # Our own HTTP clients, closed below whatever happened: Bot.shutdown() closes them only after a
    # complete initialize(), and a refused token or a timeout leaves its sockets open otherwise.
    clients = (HTTPXRequest(), HTTPXRequest())
    bot = Bot(
        token.get_secret_value(),
        base_url=settings.telegram.api_base_url,
        request=clients[0],
        get_updates_request=clients[1],
    )
    try:
        me = await asyncio.wait_for(bot.get_me(), CHECK_TIMEOUT)
    except InvalidToken as err:
        if token_or_url_not_found(err):
            return Check(
                "Telegram",
                False,
                f"Telegram at {settings.telegram.api_base_url} answered 404 Not Found",
                "TELEGRAM_BOT_TOKEN is malformed (it looks like 123456:ABC-...), or [telegram] "
                "api_base_url is wrong (Telegram's ends in /bot)",
            )
        return Check(
            "Telegram",
            False,
            "Telegram refused TELEGRAM_BOT_TOKEN (401 Unauthorized)",
            "copy the token again from @BotFather (/token) into TELEGRAM_BOT_TOKEN",
        )
    except (NetworkError, TimeoutError):
        return Check(
            "Telegram",
            False,
            f"Telegram unreachable at {settings.telegram.api_base_url}",
            "check the network, a proxy or [telegram] api_base_url",
            user_fixable=False,
        )
    except TelegramError as err:  # Telegram's message, or a proxy's page quoted by PTB (redacted)
        return Check("Telegram", False, f"Telegram answered: {err.message}", "try again later", False)
    finally:
        for client in clients:
            await client.shutdown()
    return Check("Telegram", True, f"token accepted: @{me.username}")


async def _check_discord(settings: Settings) -> Check:
    token = settings.secrets.discord_bot_token
    if token is None:
        return Check("Discord", None, "DISCORD_BOT_TOKEN not set: skipped")
    import aiohttp
    import discord

    from bot.discord_wiring import configure_endpoints

    configure_endpoints(settings.discord.api_base_url, settings.discord.gateway_url)
    # As the bot itself sets up (adapters/discord/app.py), so that discord.py's start-up warnings (no
    # voice libraries, no guilds intent) do not land among doctor's lines.
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False
    intents = discord.Intents.none()
    intents.guilds = True
    client = discord.Client(intents=intents)
    try:
        # Logging in is a GET of /users/@me with the token: what the bot does first on every start.
        await asyncio.wait_for(client.login(token.get_secret_value()), CHECK_TIMEOUT)
        user = client.user
    except discord.LoginFailure:
        return Check(
            "Discord",
            False,
            "Discord refused DISCORD_BOT_TOKEN (401 Unauthorized)",
            "Developer Portal → your application → Bot → Reset Token, and set DISCORD_BOT_TOKEN to it",
        )
    except (aiohttp.ClientError, TimeoutError, OSError):
        return Check(
            "Discord",
            False,
            f"Discord unreachable at {settings.discord.api_base_url}",
            "check the network, a proxy or [discord] api_base_url",
            user_fixable=False,
        )
    except discord.NotFound:
        return Check(
            "Discord",
            False,
            f"Discord at {settings.discord.api_base_url} answered the login with 404 Not Found",
            "[discord] api_base_url is wrong (Discord's is https://discord.com/api/v10)",
        )
    except discord.HTTPException as err:
        return Check("Discord", False, f"Discord answered HTTP {err.status}", "try again later", False)
    finally:
        await client.close()
    return Check("Discord", True, f"token accepted: {user}")


async def run_checks(settings: Settings, config_source: str | None) -> list[Check]:
    checks = [_check_config(settings, config_source), _check_storage(settings)]
    checks.append(await asyncio.to_thread(_check_arxiv, settings))
    checks.append(await _check_llm(settings))
    checks.append(await _check_telegram(settings))
    checks.append(await _check_discord(settings))
    sys.stdout.flush()
    return checks

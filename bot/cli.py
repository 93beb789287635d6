"""`arxiv-digest build | push | run`: the commands a user (or cron, or systemd) runs."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from datetime import date
from importlib import metadata

from bot import search_cli
from bot.logging_setup import redact, setup_logging
from bot.progress import make_progress
from config.settings import (
    ConfigError,
    Settings,
    check_categories,
    load_settings,
    parse_date,
    split_categories,
)
from digest.arxiv_source import SourceError
from digest.ports import PlatformUnreachable
from digest.service import BuildReport, check_buildable
from digest.storage import DATABASE_KEY, StorageError, check_can_create, check_new_database_path, path_exists
from digest.summarize import LLMUnusable

log = logging.getLogger("arxiv_digest")

EXIT_OK = 0
EXIT_FAILURE = 1  # an outside service failed for good
EXIT_USAGE = 2  # anything the user can fix: a flag, date, category, config, a refused key, unusable storage
EXIT_INCOMPLETE = 3  # built, but some papers have no summary yet; the next build retries them

EXIT_CODES = """exit status:
  0  done
  1  an outside service (arXiv, the LLM, Telegram, Discord) failed for good; try again later
  2  something you can fix: a flag, the config, a refused key, token or model, the database or archive path
  3  built, but some papers have no summary yet; the next build of that date retries them"""

ENV_CONFIG = "  ARXIV_DIGEST_CONFIG  the config file, when --config is not given"
ENV_LLM = (
    "  OPENAI_API_KEY       the LLM's key (environment only, never the config file)\n"
    "  OPENAI_BASE_URL      an OpenAI-compatible server (vLLM, Ollama, llama.cpp, a proxy);\n"
    "                       wins over [llm] base_url"
)
ENV_BOTS = (
    "  TELEGRAM_BOT_TOKEN   the Telegram bot's token from @BotFather\n"
    "  DISCORD_BOT_TOKEN    the Discord bot's token from the Developer Portal"
)

HELP = {
    "build": (
        "build (or finish building) a day's digest and write the archive file",
        "Build the digest of one day: fetch the papers of its window from arXiv, have the LLM translate\n"
        "and break down each one, store everything and write <archive_dir>/<date>-arxiv-daily.md.\n"
        "Building a day again only finishes what is missing (failed summaries, also those of the day's\n"
        "digests for subscriptions' own categories) and rewrites the file.\n"
        "Prints one summary line: papers fetched and shown, LLM calls, tokens, failures, the file.",
        [ENV_CONFIG, ENV_LLM],
    ),
    "push": (
        "deliver a day's digest to every subscriber that has not had it",
        "Deliver a built digest to every subscribed Telegram and Discord chat that has not had it yet,\n"
        "then exit. Safe to repeat: nothing is sent twice.",
        [ENV_CONFIG, ENV_BOTS],
    ),
    "run": (
        "run the bots (those with a token set) and the daily build + push",
        "The long-running bot: the Telegram and Discord adapters (those with a token set) and the daily\n"
        "schedule in one process: the build starts once the day's window has closed and arXiv has\n"
        "announced it (20:00 New York time + [digest] announcement_margin_minutes), the push at\n"
        "[digest] publish_at, each chat as soon as its own cards are ready. SIGTERM stops it cleanly.",
        [ENV_CONFIG, ENV_LLM, ENV_BOTS],
    ),
    "search": (
        "full-text search over every stored paper, best match first",
        "Search the title, authors, abstract and texts of every paper any build has stored, best match\n"
        'first: words, "a phrase" (quoted for the shell) or author:Name. Reads only the database.',
        [ENV_CONFIG],
    ),
    "doctor": (
        "check the config, storage, arXiv, the LLM and the bot tokens, one line each",
        "Check everything a build and the bots need, one line per check with a fix for each problem:\n"
        "the config, the database and archive folder, arXiv's API, the LLM (key and model), and the\n"
        "Telegram and Discord tokens that are set. Sends no message and pays for no LLM text beyond\n"
        "listing the server's models.",
        [ENV_CONFIG, ENV_LLM, ENV_BOTS],
    ),
}


def _version() -> str:
    try:
        return metadata.version("arxiv-digest")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    # -v and --config work before the command (`arxiv-digest -v build`) and after it (`build -v`): the
    # subcommand's copies default to SUPPRESS so they do not overwrite a value given before the command.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="TOML config file (default: $ARXIV_DIGEST_CONFIG)",
    )
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="debug logging"
    )

    parser = argparse.ArgumentParser(
        prog="arxiv-digest",
        description="Daily arXiv digest: build it, push it to Telegram and Discord, run the bot.",
        epilog=EXIT_CODES + "\n\nRun `arxiv-digest doctor` first: it checks the set-up, one line per check.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("--config", metavar="PATH", help="TOML config file (default: $ARXIV_DIGEST_CONFIG)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str) -> argparse.ArgumentParser:
        summary, description, env = HELP[name]
        return commands.add_parser(
            name,
            parents=[common],
            help=summary,
            description=description,
            epilog="environment:\n" + "\n".join(env) + "\n\n" + EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    build = command("build")
    build.add_argument("--date", help="YYYY-MM-DD (default: today in the configured timezone)")
    build.add_argument(
        "--categories",
        metavar="LIST",
        help="arXiv categories instead of the configured ones, split by commas or spaces: 'cs.AI, cs.LG'",
    )

    push = command("push")
    push.add_argument("--date", help="YYYY-MM-DD (default: today in the configured timezone)")
    push.add_argument(
        "--platform", choices=["telegram", "discord"], help="only this platform (default: both)"
    )

    command("run")
    command("doctor")
    search_cli.add_parser(commands, common)
    _, description, env = HELP["search"]
    search = commands.choices["search"]
    search.description = description
    search.epilog = "environment:\n" + "\n".join(env) + "\n\n" + EXIT_CODES
    search.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def _day(value: str | None, settings: Settings) -> date:
    day = parse_date(value) if value is not None else settings.digest.today()  # --date "" is refused
    check_buildable(settings, day)  # before anything is opened or written
    return day


def _summary_line(report: BuildReport) -> str:
    digest = report.digest
    if report.already_built:
        head = f"{digest.date}: already built, {report.summarized} summaries added, shown {digest.shown}"
    else:
        head = f"{digest.date}: fetched {digest.fetched}, shown {digest.shown}"
    parts = [
        head,
        f"LLM calls {report.llm_calls}",
        f"tokens {report.prompt_tokens + report.completion_tokens} "
        f"(in {report.prompt_tokens}, out {report.completion_tokens})",
        f"failures {report.failures}",
    ]
    if report.unverified:
        parts.append(f"unverified {report.unverified}")
    if report.abstract_only:
        parts.append(f"breakdowns from the abstract {report.abstract_only}")
    if report.missing_summaries:
        parts.append(f"untranslated {report.missing_summaries}")
    if report.deferred:
        parts.append(f"left for readers to ask {report.deferred}")
    if report.llm_calls and report.cost_usd is not None:  # only with a configured or known price
        parts.append(f"est. cost ${report.cost_usd:.4f}")
    parts.append(f"{report.seconds:.1f}s")
    if report.archive_files:
        parts.append(f"file {report.archive_files[0]}")
    return ", ".join(parts)


def parse_categories_flag(value: str) -> list[str]:
    names = split_categories(value)
    if not names:
        raise ConfigError(
            "--categories is empty: give at least one arXiv category, e.g. --categories cs.AI,cs.LG"
        )
    return check_categories(names)


async def _build(settings: Settings, args: argparse.Namespace) -> int:
    from bot.wiring import make_service

    day = _day(args.date, settings)
    categories = parse_categories_flag(args.categories) if args.categories is not None else None
    # An unusable archive_dir is refused before the database is created: a fresh machine stays clean.
    check_can_create(settings.archive_dir, "archive_dir", "[storage] archive_dir")
    service = make_service(settings)  # opens the database: a bad path stops here, before any request
    try:
        report = await service.build(
            day, [categories] if categories else None, make_progress(), archive_all=True
        )
        if categories is None:
            # The day's other digests (subscriptions' own category sets) are not rebuilt here, but the
            # summaries a push made on the spot for their cards and that failed are asked again.
            await service.retry_failed(day, skip=[d.key for d in report.digests])
    finally:
        await service.aclose()
    print(_summary_line(report))
    if report.missing_summaries and settings.llm_configured:
        print(
            f"arxiv-digest: {report.missing_summaries} papers have no summary yet (see the warnings above); "
            f"`arxiv-digest build --date {day}` retries only those",
            file=sys.stderr,
        )
        return EXIT_INCOMPLETE
    return EXIT_OK


async def _check_before_creating(settings: Settings, only: str | None = None) -> None:
    """On a fresh machine (no database yet), what push and run can be refused for is checked before the
    database and its folder are created: a user's mistake leaves nothing on disk. With a database, the
    platforms are checked as each one starts, and a second login would only cost time."""
    from bot.run import check_platforms

    if path_exists(settings.database_path, "database", DATABASE_KEY):
        return
    check_new_database_path(settings.database_path)
    await check_platforms(settings, only)


async def _push(settings: Settings, args: argparse.Namespace) -> int:
    from bot.run import make_runtimes
    from bot.wiring import make_service

    day = _day(args.date, settings)
    tokens = {"telegram": settings.secrets.telegram_bot_token, "discord": settings.secrets.discord_bot_token}
    if not any(token for name, token in tokens.items() if args.platform in (None, name)):
        wanted = {"telegram": "TELEGRAM_BOT_TOKEN", "discord": "DISCORD_BOT_TOKEN"}
        names = [wanted[args.platform]] if args.platform else list(wanted.values())
        raise ConfigError(f"no bot token: set {' or '.join(names)}")
    await _check_before_creating(settings, only=args.platform)
    service = make_service(settings)
    unfinished: list[str] = []
    try:
        for runtime in make_runtimes(settings, service, only=args.platform):
            await runtime.start(receive=False)
            try:
                sent = await runtime.push(day)
            finally:
                await runtime.stop()
            print(f"{runtime.name}: {sent} messages sent for {day}")
            if runtime.failed:
                unfinished.append(f"{runtime.name} {runtime.failed}")
    finally:
        await service.aclose()
        service.store.close()
    if unfinished:
        # Each chat stopped at its first failed message, so a later push resumes it in order.
        _error(
            f"chats left without the whole digest ({', '.join(unfinished)}): the platform failed them "
            f"(see the errors above); `arxiv-digest push --date {day}` later sends only what is missing"
        )
        return EXIT_FAILURE
    return EXIT_OK


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.run import run_forever
    from bot.wiring import make_service

    # archive_dir a file, or not writable: refused before the database is created.
    check_can_create(settings.archive_dir, "archive_dir", "[storage] archive_dir")
    await _check_before_creating(settings)
    service = make_service(settings)
    try:
        service.check_storage()  # a bad archive_dir is found at start, not at the first daily build
        await run_forever(settings, service)
    finally:
        await service.aclose()
        service.store.close()
    return 0


async def _doctor(settings: Settings, args: argparse.Namespace) -> int:
    from bot.doctor import print_checks, run_checks

    return print_checks(await run_checks(settings, args.config_source))


COMMANDS = {
    "build": _build,
    "push": _push,
    "run": _run,
    "doctor": _doctor,
    "search": search_cli.run,
}


def _error(message: str) -> None:
    print(f"arxiv-digest: error: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config, os.environ)
        if getattr(args, "date", None) is not None:
            parse_date(args.date)  # refuse a bad date before touching anything
    except ConfigError as err:
        # Not loaded, so not registered yet: the keys in the environment are masked by value.
        env_secrets = [
            os.environ.get(n) or "" for n in ("OPENAI_API_KEY", "TELEGRAM_BOT_TOKEN", "DISCORD_BOT_TOKEN")
        ]
        message = redact(str(err), env_secrets)
        if args.command == "doctor":
            from bot.doctor import config_failed

            return config_failed(message)
        _error(message)
        return EXIT_USAGE
    args.config_source = args.config or os.environ.get("ARXIV_DIGEST_CONFIG") or None
    secrets = settings.secrets
    secret_values = [
        s.get_secret_value()
        for s in (secrets.openai_api_key, secrets.telegram_bot_token, secrets.discord_bot_token)
        if s is not None
    ]
    setup_logging(args.verbose, secret_values)
    try:
        return asyncio.run(COMMANDS[args.command](settings, args))
    except (ConfigError, StorageError) as err:
        _error(redact(str(err), secret_values))
        return EXIT_USAGE
    except LLMUnusable as err:
        _error(redact(str(err), secret_values))
        return EXIT_USAGE if err.user_fixable else EXIT_FAILURE
    except SourceError as err:
        _error(redact(str(err), secret_values))
        return EXIT_FAILURE
    except PlatformUnreachable as err:
        _error(redact(str(err), secret_values))
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # an outside service failing in a way no layer below could handle
        if args.verbose:
            log.exception("failed")
        message = redact(f"{type(err).__name__}: {err}", secret_values)
        _error(f"{message} (run with -v for details)")
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())

"""`arxiv-digest build | push | run`: the commands a user (or cron, or systemd) runs."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from datetime import date

from bot.logging_setup import redact, setup_logging
from bot.progress import make_progress
from config.settings import ConfigError, Settings, check_categories, load_settings, parse_date
from digest.arxiv_source import SourceError
from digest.service import BuildReport, check_buildable

log = logging.getLogger("arxiv_digest")

EXIT_USAGE = 2  # anything the user can fix: a bad flag, date, category or config
EXIT_FAILURE = 1  # an outside service failed for good


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", help="TOML config file (default: $ARXIV_DIGEST_CONFIG)")
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging")

    parser = argparse.ArgumentParser(
        prog="arxiv-digest",
        description="Daily arXiv digest: build it, push it to Telegram and Discord, run the bot.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = commands.add_parser(
        "build", parents=[common], help="build (or finish building) a day's digest and write the archive file"
    )
    build.add_argument("--date", help="YYYY-MM-DD (default: today in the configured timezone)")
    build.add_argument(
        "--categories",
        help="comma-separated arXiv categories instead of the configured ones, e.g. cs.AI,cs.LG",
    )

    push = commands.add_parser(
        "push", parents=[common], help="deliver a day's digest to every subscriber that has not had it"
    )
    push.add_argument("--date", help="YYYY-MM-DD (default: today in the configured timezone)")
    push.add_argument(
        "--platform", choices=["telegram", "discord"], help="only this platform (default: both)"
    )

    commands.add_parser(
        "run", parents=[common], help="run the bots (those with a token set) and the daily build + push"
    )
    return parser


def _day(value: str | None, settings: Settings) -> date:
    day = parse_date(value) if value else settings.digest.today()
    check_buildable(settings, day)  # before anything is opened or written
    return day


def _summary_line(report: BuildReport) -> str:
    digest = report.digest
    parts = [
        f"{digest.date}: fetched {digest.fetched}, shown {digest.shown}",
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
    if report.llm_calls:
        parts.append(f"est. cost ${report.cost_usd:.4f}")
    parts.append(f"{report.seconds:.1f}s")
    parts.append(f"file {report.archive_files[0]}")
    return ", ".join(parts)


async def _build(settings: Settings, args: argparse.Namespace) -> int:
    from bot.wiring import make_service

    day = _day(args.date, settings)
    categories = check_categories(args.categories.split(",")) if args.categories else None
    service = make_service(settings)
    try:
        report = await service.build(
            day, [categories] if categories else None, make_progress(), archive_all=True
        )
    finally:
        await service.aclose()
        service.store.close()
    print(_summary_line(report))
    return 0


async def _push(settings: Settings, args: argparse.Namespace) -> int:
    from bot.run import make_runtimes
    from bot.wiring import make_service

    day = _day(args.date, settings)
    tokens = {"telegram": settings.secrets.telegram_bot_token, "discord": settings.secrets.discord_bot_token}
    if not any(token for name, token in tokens.items() if args.platform in (None, name)):
        wanted = {"telegram": "TELEGRAM_BOT_TOKEN", "discord": "DISCORD_BOT_TOKEN"}
        names = [wanted[args.platform]] if args.platform else list(wanted.values())
        raise ConfigError(f"no bot token: set {' or '.join(names)}")
    service = make_service(settings)
    runtimes = make_runtimes(settings, service, only=args.platform)
    try:
        for runtime in runtimes:
            await runtime.start(receive=False)
            try:
                sent = await runtime.push(day)
            finally:
                await runtime.stop()
            print(f"{runtime.name}: {sent} messages sent for {day}")
    finally:
        await service.aclose()
        service.store.close()
    return 0


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.run import run_forever
    from bot.wiring import make_service

    service = make_service(settings)
    try:
        await run_forever(settings, service)
    finally:
        await service.aclose()
        service.store.close()
    return 0


COMMANDS = {"build": _build, "push": _push, "run": _run}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config, os.environ)
        if getattr(args, "date", None):
            parse_date(args.date)  # refuse a bad date before touching anything
    except ConfigError as err:
        print(f"arxiv-digest: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    secrets = settings.secrets
    secret_values = [
        s.get_secret_value()
        for s in (secrets.openai_api_key, secrets.telegram_bot_token, secrets.discord_bot_token)
        if s is not None
    ]
    setup_logging(args.verbose, secret_values)
    try:
        return asyncio.run(COMMANDS[args.command](settings, args))
    except ConfigError as err:
        print(f"arxiv-digest: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except SourceError as err:
        print(f"arxiv-digest: error: {err}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # an outside service failing in a way no layer below could handle
        if args.verbose:
            log.exception("failed")
        message = redact(f"{type(err).__name__}: {err}", secret_values)
        print(f"arxiv-digest: error: {message} (run with -v for details)", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())

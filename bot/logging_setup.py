"""Logging, configured once at launch: plain lines, and no secret ever printed.

Redaction happens in the handler's formatter, on the FORMATTED line: the message, its arguments and
the traceback (exc_text, stack_info) as printed. A filter on the message alone is not enough: python-
telegram-bot logs 'Exception happened while polling for updates' with a traceback whose exception text
repeats the request URL (/bot<token>/getUpdates) when a proxy's error page echoes it, and discord.py's
debug lines carry `Bot <token>` headers. Every library logs through the root handler set up here.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable

from bot.progress import ProgressAwareHandler
from digest.redaction import redact as _redact
from digest.redaction import remember_secrets


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    return _redact(text, secrets)


class RedactingFormatter(logging.Formatter):
    """A Formatter whose every output line (tracebacks included) has its secrets masked.

    Without -v an exception a library or our code logs is one line (its type and message), not a
    traceback: an operator reads what failed and what to do; the traceback is for `-v`."""

    def __init__(self, fmt: str, datefmt: str | None = None, verbose: bool = True):
        super().__init__(fmt, datefmt)
        self.verbose = verbose

    def format(self, record: logging.LogRecord) -> str:
        return _redact(super().format(record))

    def formatException(self, ei) -> str:
        if self.verbose or ei[1] is None:
            return _redact(super().formatException(ei))
        last = traceback.format_exception_only(ei[0], ei[1])[-1].strip()
        return _redact(f"  ({' '.join(last.split())[:300]}; run with -v for the traceback)")

    def formatStack(self, stack_info: str) -> str:
        return super().formatStack(stack_info) if self.verbose else ""


def setup_logging(verbose: bool, secrets: Iterable[str] = ()) -> None:
    remember_secrets(secrets)
    handler = ProgressAwareHandler()  # log lines go above the progress bar, not into it
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S", verbose)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # Library warnings go through the same redacting handler rather than straight to stderr.
    logging.captureWarnings(True)
    # HTTP client libraries log every request URL at INFO; Telegram's URLs carry the bot token.
    for noisy in (
        "httpx",
        "httpx2",
        "httpcore",
        "urllib3",
        "arxiv",
        "openai",
        "discord",
        "telegram",
        "apscheduler",
    ):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)

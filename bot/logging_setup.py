"""Logging, configured once at launch: plain lines, and no secret ever printed."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.progress import ProgressAwareHandler


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, "***")
    return text


class RedactSecrets(logging.Filter):
    """Replaces any secret (e.g. a bot token inside a Bot API URL) in a record with '***'."""

    def __init__(self, secrets: Iterable[str]):
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        redacted = redact(message, self.secrets)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def setup_logging(verbose: bool, secrets: Iterable[str] = ()) -> None:
    handler = ProgressAwareHandler()  # log lines go above the progress bar, not into it
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
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

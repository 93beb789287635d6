"""Secrets never leave the process: every text that may be logged, stored or printed passes redact().

Two kinds of secret reach error texts. The bot's own keys (Telegram and Discord tokens, the LLM key)
are known at start and registered with remember_secrets(); anything equal to one is replaced. Others are
never known in advance: a Discord interaction's token lives in the follow-up URL
(/webhooks/<app_id>/<token>/...) and the callback URL (/interactions/<id>/<token>/callback), and a
proxy or a local Bot API server may echo any request's URL (/bot<id>:<token>/getUpdates) or headers
(`Authorization: Bot <token>`, `Bearer sk-...`) in its error page. Those are recognised by their shape.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from urllib.parse import quote

MASK = "***"
MIN_SECRET = 6  # shorter "secrets" (test placeholders) would mask ordinary words
MIN_SECRET_PART = 12  # a part of a token masked on its own (a bot's numeric id is public, and short)

_lock = threading.Lock()
_known: tuple[str, ...] = ()

# Shapes of secrets inside URLs and headers; group 1 is kept, the rest becomes MASK.
_PATTERNS = (
    # Telegram Bot API: /bot123456:AA.../method
    re.compile(r"(/bot)\d+:[A-Za-z0-9_-]+"),
    # Discord interaction webhooks and callbacks: the token follows the application or interaction id
    re.compile(r"(/webhooks/\d+/)[A-Za-z0-9_.\-]+"),
    re.compile(r"(/interactions/\d+/)[A-Za-z0-9_.\-]+"),
    # Authorization headers, however they are quoted or printed (auth=Bot x, 'Authorization': 'Bearer x')
    re.compile(r"(\b(?:Bot|Bearer)\s+)[A-Za-z0-9_.\-=+/]{20,}"),
    # "token": "...", token=...
    re.compile(r"""(\btoken["']?\s*[:=]\s*["']?)[A-Za-z0-9_.\-:]{8,}""", re.IGNORECASE),
    # OpenAI-style keys anywhere
    re.compile(r"()\bsk-[A-Za-z0-9_\-]{8,}"),
    # a password in a URL (an OPENAI_BASE_URL or a proxy given as https://user:password@host/)
    re.compile(r"(://[^/\s:@]*:)[^/\s@]+(?=@)"),
)


def _forms(secret: str) -> set[str]:
    """A key as it may be printed: whole, percent-encoded (a URL echoed by a proxy), and its secret
    parts alone (Telegram's `<bot id>:<secret>`, Discord's `<id>.<time>.<hmac>`)."""
    forms = {secret, quote(secret, safe="")}
    forms.update(part for part in re.split(r"[:.]", secret) if len(part) >= MIN_SECRET_PART)
    return forms


def remember_secrets(secrets: Iterable[str | None]) -> None:
    """Register the process's own keys (once, at start). Longest first, so a key containing another
    is masked whole."""
    global _known
    values = {f for s in secrets if s and len(s) >= MIN_SECRET for f in _forms(s)}
    with _lock:
        _known = tuple(sorted(set(_known) | values, key=len, reverse=True))


def known_secrets() -> tuple[str, ...]:
    return _known


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """`text` with every registered secret, every secret in `extra` and every token-shaped part of a
    URL or header replaced by MASK."""
    if not text:
        return text
    for secret in (*_known, *(s for s in extra if s and len(s) >= MIN_SECRET)):
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


def redact_or_none(text: str | None) -> str | None:
    return None if text is None else redact(text)

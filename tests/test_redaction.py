"""Secrets never leave the process: the redaction of log lines (tracebacks included) and stored texts."""

from __future__ import annotations

import io
import logging

import pytest

from bot.logging_setup import RedactingFormatter
from digest import redaction
from digest.redaction import redact
from digest.store import Store

TOKEN = "7012345678:AAH-known-telegram-SECRET"


@pytest.fixture(autouse=True)
def _known(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redaction, "_known", ())
    redaction.remember_secrets([TOKEN, "short"])


@pytest.mark.parametrize(
    ("text", "kept", "gone"),
    [
        ("POST /bot123456:ABC-def_GHI/getUpdates", "/bot***/getUpdates", "ABC-def"),
        (
            "https://discord.com/api/v10/webhooks/1400/aW50ZXJhY3Rpb246MTIz.xyz/messages/@original",
            "/webhooks/1400/***/messages",
            "aW50ZXJhY3Rpb24",
        ),
        (
            "POST /api/v10/interactions/1401/itoken-abcdef0123/callback",
            "/interactions/1401/***/callback",
            "itoken-abcdef",
        ),
        ("headers={'Authorization': 'Bot MTIzNDU2Nzg5MDEy.GhIjKl.mnopqrstuvwxyz0123'}", "Bot ***", "GhIjKl"),
        ("Authorization: Bearer sk-proj-0123456789abcdef", "Bearer ***", "0123456789abcdef"),
        (f"error near {TOKEN} here", "error near *** here", "AAH-known"),
        ("LLM at https://me:pa55-word@llm.example/v1 unreachable", "https://me:***@llm.example/v1", "pa55"),
    ],
)
def test_token_shapes_and_known_secrets_are_masked(text: str, kept: str, gone: str) -> None:
    out = redact(text)
    assert kept in out and gone not in out


def test_a_known_token_is_masked_percent_encoded_and_by_its_secret_part() -> None:
    for text in (
        "GET /bot7012345678%3AAAH-known-telegram-SECRET/getMe",  # a proxy echoing the quoted path
        "secret part alone: AAH-known-telegram-SECRET",
    ):
        out = redact(text)
        assert "AAH-known" not in out and "***" in out, out
    assert redact("bot 7012345678 is ours") == "bot 7012345678 is ours"  # its public id stays


def test_ordinary_words_are_kept() -> None:
    for text in (
        "Forbidden: bot was blocked by the user",
        "Bot was kicked from the group chat",
        "token budget of 12000 reached (13000 used)",
        "a short word",  # 'short' is too short to be treated as a secret
    ):
        assert redact(text) == text


def test_the_formatted_line_and_its_traceback_are_redacted() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("telegram.ext.Updater.test")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise RuntimeError(f"Parsing the server response b'<p>GET /bot{TOKEN}/getUpdates</p>' failed")
        except RuntimeError:
            logger.exception("Exception happened while polling for updates.")
        logger.error("auth=%s", "Bot MTIzNDU2Nzg5MDEy.GhIjKl.mnopqrstuvwxyz0123")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "Traceback" in output and "/bot***/getUpdates" in output
    assert TOKEN not in output and "AAH-known" not in output and "GhIjKl" not in output


def test_error_texts_are_redacted_before_they_are_stored() -> None:
    store = Store.memory()
    store.subscribe("telegram", "-100", ["cs.SD"])
    store.deactivate("telegram", "-100", f"403 on send: proxy page for POST /bot{TOKEN}/sendMessage")
    reason = store.get_subscription("telegram", "-100").reason
    assert reason == "403 on send: proxy page for POST /bot***/sendMessage"

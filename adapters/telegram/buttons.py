"""What a button carries: callback data ('show' / 'hide' a paper's breakdown, rate it 👍 / 👎, ask it) and
/start deep-link payloads. Both are parsed strictly: anything else is 'forged or stale' and gets a short notice.

Telegram allows 1-64 bytes of callback data and 1-64 characters [A-Za-z0-9_-] in a start payload.
"""

from __future__ import annotations

import re

SHOW = "bd"  # show the breakdown
HIDE = "bh"  # collapse it again
RATE_UP = "up"  # 👍: the chat wants more like this (pressed again: taken back)
RATE_DOWN = "dn"  # 👎: fewer like this
RATINGS = {RATE_UP: 1, RATE_DOWN: -1}
ASK = "ak"  # 💬: how to ask this paper a question (a reply to the card, or the private chat from a channel)
MAX_CALLBACK_BYTES = 64

# arXiv ids with a version: new style 2602.15766v1, old style hep-th/9901001v2 or math.AG/0101001v1
_PAPER_ID = r"(?:\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})v\d{1,3}"
_CALLBACK_RE = re.compile(rf"(?P<action>{SHOW}|{HIDE}|{RATE_UP}|{RATE_DOWN}|{ASK}):(?P<paper>{_PAPER_ID})")
_PAYLOAD_PREFIX = "bd_"


def callback_data(action: str, paper_id: str) -> str:
    data = f"{action}:{paper_id}"
    if not _CALLBACK_RE.fullmatch(data) or len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"not a button for a paper: {data!r}")
    return data


def parse_callback(data: str | None) -> tuple[str, str] | None:
    """(action, versioned paper id), or None for anything this bot did not make."""
    match = _CALLBACK_RE.fullmatch(data or "")
    return (match["action"], match["paper"]) if match else None


def start_payload(paper_id: str) -> str:
    """'2602.15766v1' -> 'bd_2602_15766v1'; '/' (old ids) becomes '__'. arXiv ids never hold '_'."""
    callback_data(SHOW, paper_id)  # validates the id
    return _PAYLOAD_PREFIX + paper_id.replace("/", "__").replace(".", "_")


def parse_start_payload(payload: str | None) -> str | None:
    if not payload or not payload.startswith(_PAYLOAD_PREFIX) or len(payload) > 64:
        return None
    paper_id = payload[len(_PAYLOAD_PREFIX) :].replace("__", "/").replace("_", ".")
    return paper_id if parse_callback(f"{SHOW}:{paper_id}") else None


def deep_link(bot_username: str, paper_id: str) -> str:
    return f"https://t.me/{bot_username}?start={start_payload(paper_id)}"

"""What a chat may cost: the `[limits]` section applied. Chat users are strangers; anything that costs
money or load (LLM calls, arXiv requests, builds, posts in a group) is bounded per chat here, and both
adapters ask this one place.

Counts live in the store's `usage_events` table (one row per costly action), so they hold across
restarts and across processes; a check and its record happen in one IMMEDIATE transaction, so two
requests at once cannot both slip under a limit.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from config.settings import LimitsSettings
from digest.models import category_key
from digest.store import Store
from digest.transactions import immediate

DAY_SECONDS = 24 * 3600

ON_DEMAND_BUILD = "on_demand_build"
TODAY_POST = "today_post"


@dataclass(frozen=True)
class Refusal:
    """Why a request was refused: `reason` names the limit (a text key in each adapter), `limit` its
    value."""

    reason: str  # too_many_categories | too_many_sets
    limit: int


class ChatLimits:
    def __init__(self, settings: LimitsSettings, store: Store, default_categories: Sequence[str] = ()):
        self.settings, self.store = settings, store
        self.default_key = category_key(tuple(default_categories)) if default_categories else ""

    # -- subscriptions -----------------------------------------------------------------------------
    def check_subscription(self, platform: str, chat_id: str, categories: Sequence[str]) -> Refusal | None:
        """None if this chat may subscribe to `categories`; else why not. Each distinct set is a build
        a day (arXiv queries and LLM calls), so their number over all chats is bounded too."""
        limits = self.settings
        if len(categories) > limits.max_categories_per_subscription:
            return Refusal("too_many_categories", limits.max_categories_per_subscription)
        wanted = category_key(tuple(categories))
        others = {
            category_key(sub.categories)
            for sub in self.store.active_subscriptions()
            if sub.categories and not (sub.platform == platform and sub.chat_id == str(chat_id))
        }
        others.discard(self.default_key)  # built every day anyway
        if wanted != self.default_key and wanted not in others and len(others) >= limits.max_category_sets:
            return Refusal("too_many_sets", limits.max_category_sets)
        return None

    # -- counted actions ----------------------------------------------------------------------------
    def take_on_demand_build(self, platform: str, chat_id: str, user_id: str = "") -> bool:
        """Count one build of a never-built date for this chat, if it has any left today (the last 24
        hours); False when it has not."""
        return self._take(
            platform, chat_id, user_id, ON_DEMAND_BUILD, DAY_SECONDS, self.settings.on_demand_builds_per_day
        )

    def take_today_post(self, platform: str, chat_id: str, user_id: str = "") -> bool:
        """Whether the digest may be posted in this group or channel now (and count it): at most once per
        today_cooldown_minutes."""
        span = self.settings.today_cooldown_minutes * 60
        if span <= 0:
            return True
        return self._take(platform, chat_id, user_id, TODAY_POST, span, 1)

    def _take(
        self, platform: str, chat_id: str, user_id: str, action: str, span: float, allowed: int
    ) -> bool:
        now = time.time()
        conn = self.store.db.conn
        with immediate(conn):
            (used,) = conn.execute(
                "select count(*) from usage_events where platform = ? and chat_id = ? and action = ? "
                "and at > ?",
                [platform, str(chat_id), action, now - span],
            ).fetchone()
            if used >= allowed:
                return False
            conn.execute(
                "insert into usage_events (platform, chat_id, user_id, action, at) values (?, ?, ?, ?, ?)",
                [platform, str(chat_id), str(user_id), action, now],
            )
        return True

"""The Discord bot: the `/digest` command group, the persistent card buttons (breakdown, 👍, 👎), the
overview's select menus, and how answers are sent.

Every answer that may need a build is deferred at once (Discord wants an acknowledgement within 3 s),
then sent as follow-ups: the header, then the cards, packed by `render`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import discord
from discord import app_commands

from adapters.discord import render
from adapters.discord.asking import AskButton, Search, answer_submission, search_message
from adapters.discord.texts import TEXTS
from config.settings import ConfigError, check_categories, parse_date
from digest.interests import FOLLOW, MUTE, InterestError, Term, parse_terms
from digest.limits import ChatLimits
from digest.models import Digest, Paper
from digest.ports import DigestSource
from digest.questions import QuestionService
from digest.search import BadQuery
from digest.store import Store

log = logging.getLogger(__name__)

PLATFORM = "discord"
NO_MENTIONS = discord.AllowedMentions.none()
DEFAULT_MAX_CARDS = 10  # a channel: everyone scrolls past what it posts
MAX_CARDS_LIMIT = 50
# Discord takes follow-ups to an interaction for 15 minutes after it; a digest not ready well within that
# (a big day's build in another process) gets a "still being made" note instead of an answer that is lost.
INTERACTION_WAIT_SECONDS = 13 * 60
OURS = [render.BREAKDOWN_TEMPLATE, render.RATE_TEMPLATE, render.PICK_TEMPLATE, render.ASK_TEMPLATE]


@dataclass(frozen=True)
class BotOptions:
    now: Callable[[], datetime]  # the time now, in the configured timezone
    categories: tuple[str, ...]  # the configured default set
    language: str
    timezone: str
    publish_at: str  # "HH:MM": the daily build + push

    def today(self) -> date:
        return self.now().date()

    def published(self, day: date) -> bool:
        """Whether the daily job has had its turn for `day`. Before that, asking for the day must not
        build it: arXiv may not have announced yet, and a digest's membership is fixed once stored."""
        now = self.now()
        hour, minute = (int(p) for p in self.publish_at.split(":"))
        return day < now.date() or (day == now.date() and now.time() >= time(hour, minute))


class BreakdownButton(discord.ui.DynamicItem[discord.ui.Button], template=render.BREAKDOWN_TEMPLATE):
    """A card's 'detailed breakdown' button. All state is in its custom_id, so any card ever posted works
    after a restart: discord.py matches the template and rebuilds the item from the id."""

    def __init__(self, paper_id: str, label: str | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=(label or "Detailed breakdown")[:80],
                style=discord.ButtonStyle.secondary,
                custom_id=render.BREAKDOWN_PREFIX + paper_id,
            )
        )
        self.paper_id = paper_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> BreakdownButton:
        label = item.label if isinstance(item, discord.ui.Button) else None
        return cls(match["paper_id"], label)

    async def callback(self, interaction: discord.Interaction) -> None:
        client = interaction.client
        assert isinstance(client, DigestBot)
        await client.answer_breakdown(interaction, self.paper_id)


class RateButton(discord.ui.DynamicItem[discord.ui.Button], template=render.RATE_TEMPLATE):
    """👍 / 👎 on a card: records (channel, member, paper, ±1), a second press takes it back. Answered
    ephemerally: the card itself is everyone's and never changes."""

    def __init__(self, vote: str, paper_id: str, label: str | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=(label or ("👍" if vote == "up" else "👎"))[:80],
                style=discord.ButtonStyle.secondary,
                custom_id=f"{render.RATE_PREFIX}{vote}:{paper_id}",
            )
        )
        self.vote, self.paper_id = vote, paper_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RateButton:
        label = item.label if isinstance(item, discord.ui.Button) else None
        return cls(match["vote"], match["paper_id"], label)

    async def callback(self, interaction: discord.Interaction) -> None:
        client = interaction.client
        assert isinstance(client, DigestBot)
        await client.answer_rating(interaction, self.paper_id, 1 if self.vote == "up" else -1)


class OverviewPick(discord.ui.DynamicItem[discord.ui.Select], template=render.PICK_TEMPLATE):
    """A select menu of the overview: choosing a paper answers with its breakdown, ephemerally."""

    def __init__(self, first: str, select: discord.ui.Select | None = None) -> None:
        super().__init__(select or discord.ui.Select(custom_id=f"{render.PICK_PREFIX}{first}"))
        # The options of the posted menu: a forged value (not one of them) is refused.
        self.allowed = {option.value for option in self.item.options}

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> OverviewPick:
        return cls(match["first"], item if isinstance(item, discord.ui.Select) else None)

    async def callback(self, interaction: discord.Interaction) -> None:
        client = interaction.client
        assert isinstance(client, DigestBot)
        data: dict[str, Any] = dict(interaction.data or {})
        values = data.get("values") or []
        chosen = str(values[0]) if values else ""
        if chosen not in self.allowed or not render.PAPER_ID.fullmatch(chosen):
            await client.notice(interaction, "unknown_button")
            return
        await client.answer_breakdown(interaction, chosen)


def make_view(
    buttons: Sequence[render.Button], selects: Sequence[render.Select] = ()
) -> discord.ui.View | None:
    if not buttons and not selects:
        return None
    view = discord.ui.View(timeout=None)
    for button in buttons:
        if button.custom_id.startswith(render.RATE_PREFIX):
            vote, _, paper_id = button.custom_id.removeprefix(render.RATE_PREFIX).partition(":")
            view.add_item(RateButton(vote, paper_id, button.label))
            continue
        if button.custom_id.startswith(render.ASK_PREFIX):
            view.add_item(AskButton(button.custom_id.removeprefix(render.ASK_PREFIX), button.label))
            continue
        view.add_item(BreakdownButton(button.custom_id.removeprefix(render.BREAKDOWN_PREFIX), button.label))
    for spec in selects:
        select: discord.ui.Select = discord.ui.Select(
            custom_id=spec.custom_id,
            placeholder=spec.placeholder,
            options=[discord.SelectOption(label=label, value=value) for label, value in spec.options],
            row=spec.row,
        )
        view.add_item(OverviewPick(spec.custom_id.removeprefix(render.PICK_PREFIX), select))
    return view


async def send(target: Any, message: render.OutMessage) -> discord.Message:
    """Post one rendered message on a channel (`send`) or an interaction's follow-up webhook."""
    kwargs: dict[str, Any] = {"embeds": message.embeds, "allowed_mentions": NO_MENTIONS}
    view = make_view(message.buttons, message.selects)
    if view is not None:
        kwargs["view"] = view
    if isinstance(target, discord.Webhook):
        kwargs["wait"] = True
    return await target.send(**kwargs)


def parse_categories(text: str | None) -> list[str] | None:
    """'cs.SD eess.AS' or 'cs.SD, eess.AS' -> checked list; empty -> None (the configured set)."""
    names = [c for c in re.split(r"[\s,;]+", text or "") if c]
    return check_categories(names) if names else None


def _button_in_message(message: discord.Message | None, custom_id: str) -> bool:
    if message is None:
        return False
    stack: list[Any] = list(message.components)
    while stack:
        component = stack.pop()
        if getattr(component, "custom_id", None) == custom_id:
            return True
        stack.extend(getattr(component, "children", []) or [])
    return False


class DigestGroup(app_commands.Group):
    def __init__(self, bot: DigestBot) -> None:
        super().__init__(name="digest", description="The daily arXiv digest")
        self.bot = bot

    @app_commands.command(name="today", description="Today's arXiv digest")
    async def today(self, interaction: discord.Interaction) -> None:
        await self.bot.answer_digest(interaction, self.bot.options.today(), today=True)

    @app_commands.command(name="date", description="The arXiv digest of a given day")
    @app_commands.describe(day="The day, as YYYY-MM-DD")
    async def date_(self, interaction: discord.Interaction, day: str) -> None:
        bot = self.bot
        try:
            wanted = parse_date(day.strip())
        except ConfigError:
            await bot.notice(interaction, "bad_date", value=day[:40])
            return
        if wanted > bot.options.today():
            await bot.notice(interaction, "future", day=wanted.isoformat())
            return
        await bot.answer_digest(interaction, wanted, today=False)

    @app_commands.command(name="subscribe", description="Post the daily digest in this channel")
    @app_commands.describe(
        categories="arXiv categories, e.g. 'cs.SD eess.AS' (default: the configured set)",
        max_cards=f"Papers posted as cards (default {DEFAULT_MAX_CARDS}); the rest come as a ranked list",
    )
    async def subscribe(
        self,
        interaction: discord.Interaction,
        categories: str | None = None,
        max_cards: app_commands.Range[int, 1, MAX_CARDS_LIMIT] | None = None,
    ) -> None:
        bot = self.bot
        if not await bot.may_manage(interaction):
            return
        try:
            chosen = parse_categories(categories)
        except ConfigError as err:
            await bot.notice(interaction, "bad_categories", error=str(err)[:300])
            return
        existing = bot.store.get_subscription(PLATFORM, str(interaction.channel_id))
        if chosen is None and max_cards is not None and existing is not None and existing.active:
            chosen = list(existing.categories)  # only the card count changes
        chosen = chosen or list(bot.options.categories)
        refusal = (
            bot.limits.check_subscription(PLATFORM, str(interaction.channel_id), chosen)
            if bot.limits
            else None
        )
        if refusal is not None:
            log.info("discord channel %s: subscribe refused (%s)", interaction.channel_id, refusal.reason)
            await bot.notice(interaction, refusal.reason, limit=refusal.limit)
            return
        channel = interaction.channel
        title = "#" + getattr(channel, "name", "") if getattr(channel, "name", None) else ""
        if interaction.guild is not None:
            title = f"{interaction.guild.name} {title}".strip()
        bot.store.subscribe(PLATFORM, str(interaction.channel_id), chosen, title=title[:200])
        if max_cards is not None:
            bot.store.set_max_cards(PLATFORM, str(interaction.channel_id), max_cards)
        log.info("discord channel %s subscribed to %s", interaction.channel_id, ",".join(chosen))
        answer = bot.text(
            "subscribed", categories=", ".join(chosen), at=bot.options.publish_at, tz=bot.options.timezone
        )
        answer += " " + bot.text("max_cards", n=bot.service.max_cards(PLATFORM, str(interaction.channel_id)))
        # An interaction can be answered anywhere, but the daily push needs these in the channel itself.
        mine = interaction.app_permissions
        if not (mine.view_channel and mine.send_messages and mine.embed_links):
            answer += "\n" + bot.text("missing_permissions")
        await interaction.response.send_message(answer, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="unsubscribe", description="Stop the daily digest in this channel")
    async def unsubscribe(self, interaction: discord.Interaction) -> None:
        bot = self.bot
        if not await bot.may_manage(interaction):
            return
        reason = f"unsubscribed by {interaction.user.id}"
        was = bot.store.deactivate(PLATFORM, str(interaction.channel_id), reason)
        log.info("discord channel %s unsubscribed", interaction.channel_id)
        await interaction.response.send_message(
            bot.text("unsubscribed" if was else "not_subscribed"), allowed_mentions=NO_MENTIONS
        )

    @app_commands.command(name="search", description="Search every paper the bot has read")
    @app_commands.describe(query='Words, "a phrase" or author:Name')
    async def search(self, interaction: discord.Interaction, query: app_commands.Range[str, 1, 300]) -> None:
        bot = self.bot
        if bot.search is None:
            await bot.notice(interaction, "search_bad", error="search is not available")
            return
        try:
            hits = bot.search(query)
        except BadQuery as err:
            await bot.notice(interaction, "search_bad", error=str(err)[:300])
            return
        if not hits:
            await bot.notice(interaction, "search_none", query=render.escape(render.one_line(query))[:200])
            return
        message = search_message(hits, query, bot.text)
        kwargs: dict[str, Any] = {
            "embeds": message.embeds,
            "ephemeral": True,
            "allowed_mentions": NO_MENTIONS,
        }
        view = make_view(message.buttons)
        if view is not None:
            kwargs["view"] = view
        await interaction.response.send_message(**kwargs)

    @app_commands.command(name="follow", description="Rank papers matching these first in this channel")
    @app_commands.describe(terms='Words, "quoted phrases", author:Name')
    async def follow(self, interaction: discord.Interaction, terms: str) -> None:
        await self.bot.change_interests(interaction, terms, FOLLOW)

    @app_commands.command(name="unfollow", description="Stop following (or muting) these in this channel")
    @app_commands.describe(terms='Words, "quoted phrases", author:Name')
    async def unfollow(self, interaction: discord.Interaction, terms: str) -> None:
        await self.bot.change_interests(interaction, terms, None)

    @app_commands.command(name="mute", description="Leave out papers that mention these in this channel")
    @app_commands.describe(terms='Words, "quoted phrases", author:Name')
    async def mute(self, interaction: discord.Interaction, terms: str) -> None:
        await self.bot.change_interests(interaction, terms, MUTE)

    @app_commands.command(name="interests", description="What this channel follows, mutes and has rated")
    async def interests(self, interaction: discord.Interaction) -> None:
        bot = self.bot
        channel = str(interaction.channel_id)
        mine = bot.service.interests.for_chat(PLATFORM, channel)
        none = bot.text("none")
        answer = bot.text(
            "interests",
            follows=", ".join(render.escape(t.label) for t in mine.follows) or none,
            mutes=", ".join(render.escape(t.label) for t in mine.mutes) or none,
            ratings=mine.ratings,
            liked=len(mine.liked),
            disliked=len(mine.disliked),
            max_cards=bot.service.max_cards(PLATFORM, channel),
        )
        await interaction.response.send_message(
            render.cut(answer, 2000), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @app_commands.command(name="status", description="This channel's subscription and the latest digest")
    async def status(self, interaction: discord.Interaction) -> None:
        bot = self.bot
        sub = bot.store.get_subscription(PLATFORM, str(interaction.channel_id))
        lines = []
        if sub is not None and sub.active:
            lines.append(
                bot.text(
                    "status_on",
                    categories=", ".join(sub.categories) or ", ".join(bot.options.categories),
                    at=bot.options.publish_at,
                    tz=bot.options.timezone,
                )
            )
            lines.append(
                bot.text("max_cards", n=bot.service.max_cards(PLATFORM, str(interaction.channel_id)))
            )
        else:
            lines.append(bot.text("status_off"))
        latest = bot.service.latest_digest(bot.channel_categories(interaction), non_empty=False)
        if latest is not None:
            lines.append(bot.text("status_latest", day=latest.date.isoformat(), shown=latest.shown))
        else:
            lines.append(bot.text("status_none"))
        await interaction.response.send_message(
            "\n".join(lines), ephemeral=True, allowed_mentions=NO_MENTIONS
        )


class DigestBot(discord.Client):
    def __init__(
        self,
        store: Store,
        service: DigestSource,
        options: BotOptions,
        limits: ChatLimits | None = None,
        *,
        questions: QuestionService | None = None,
        search: Search | None = None,
        **kwargs: Any,
    ) -> None:
        # A text-only bot: discord.py's warnings about missing voice libraries are noise in its log.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        intents = discord.Intents.none()
        intents.guilds = True  # slash commands need no privileged intents
        super().__init__(intents=intents, **kwargs)
        self.store = store
        self.service = service
        self.options = options
        self.limits = limits
        self.questions = questions
        self.search = search
        self.max_question_chars = questions.max_chars if questions is not None else 500
        self.tree = app_commands.CommandTree(self)
        self.tree.add_command(DigestGroup(self))
        self.tree.on_error = self.on_command_error  # type: ignore[method-assign]

    async def setup_hook(self) -> None:
        self.add_dynamic_items(BreakdownButton, RateButton, OverviewPick, AskButton)

    # -- helpers ------------------------------------------------------------------------------------
    def text(self, key: str, **values: Any) -> str:
        table = TEXTS.get(self.options.language, TEXTS["en"])
        return table[key].format(**values)

    async def notice(self, interaction: discord.Interaction, key: str, **values: Any) -> None:
        """A short ephemeral one-liner, as a response or, once acknowledged, as a follow-up."""
        message = render.cut(render.one_line(self.text(key, **values)), 2000)
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(message, ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def may_manage(self, interaction: discord.Interaction, refusal: str = "refused") -> bool:
        if interaction.guild_id is None:
            await self.notice(interaction, "guild_only")
            return False
        # The member's permissions in this channel, as Discord resolved them for the interaction.
        if not interaction.permissions.manage_channels:
            await self.notice(interaction, refusal)
            return False
        return True

    def channel_categories(self, interaction: discord.Interaction) -> list[str] | None:
        """A subscribed channel asks for its own category set; anyone else gets the configured one."""
        if interaction.channel_id is None:
            return None
        sub = self.store.get_subscription(PLATFORM, str(interaction.channel_id))
        if sub is not None and sub.active and sub.categories:
            return list(sub.categories)
        return None

    # -- answers ------------------------------------------------------------------------------------
    async def answer_digest(self, interaction: discord.Interaction, day: date, *, today: bool) -> None:
        categories = self.channel_categories(interaction)
        if today and interaction.guild_id is not None and not self._today_allowed(interaction):
            minutes = f"{self.limits.settings.today_cooldown_minutes:g}" if self.limits else "0"
            await self.notice(interaction, "today_cooldown", minutes=minutes)
            return
        await interaction.response.defer(thinking=True)  # a build can take minutes
        opts = self.options
        when = {"day": day.isoformat(), "at": opts.publish_at, "tz": opts.timezone}
        digest = self.service.get_digest(day, categories)
        if digest is not None:
            # Stored, but maybe still being summarized by a build: wait for it rather than show abstracts.
            digest = await self._digest_in_time(interaction, day, categories)
            if digest is None:
                return
        if digest is None and not opts.published(day):
            latest = self.service.latest_digest(categories, on_or_before=day, non_empty=True)
            if latest is None:
                await self.notice(interaction, "not_yet_none", **when)
                return
            note: str | None = self.text("not_yet", latest=latest.date.isoformat(), **when)
            await self.send_digest(interaction, latest, note)
            return
        if digest is None:
            refused = self._on_demand_refusal(interaction)
            if refused is not None:
                nearest = self.service.nearest_digest(day, categories)
                if nearest is None:
                    await self.notice(interaction, "not_built_none", day=day.isoformat())
                    return
                note = self.text(refused, day=day.isoformat(), nearest=nearest.date.isoformat())
                await self.send_digest(interaction, nearest, note)
                return
            try:
                digest = await self._digest_in_time(interaction, day, categories)
            except Exception:
                log.exception("discord: digest of %s could not be made", day)
                await self.notice(interaction, "failed", day=day.isoformat())
                return
            if digest is None:
                return
        note = None
        if today and not digest.items:
            latest = self.service.latest_digest(categories, on_or_before=day, non_empty=True)
            if latest is not None and latest.key != digest.key:
                note = self.text("no_announcement", day=day.isoformat(), latest=latest.date.isoformat())
                digest = latest
            else:
                note = self.text("nothing_yet", day=day.isoformat())
        await self.send_digest(interaction, digest, note)

    async def _digest_in_time(
        self, interaction: discord.Interaction, day: date, categories: list[str] | None
    ) -> Digest | None:
        """The digest, built or finished, if that happens while Discord still takes the answer; else None,
        with a note said. Only the wait is given up: a build of this process goes on (the service
        shields it) for the daily push and the next ask."""
        try:
            return await asyncio.wait_for(
                self.service.ensure_digest(day, categories), INTERACTION_WAIT_SECONDS
            )
        except TimeoutError:
            log.info("discord: digest of %s not ready within the interaction's window", day)
            await self.notice(interaction, "still_building", day=day.isoformat())
            return None

    def _today_allowed(self, interaction: discord.Interaction) -> bool:
        if self.limits is None or interaction.channel_id is None:
            return True
        return self.limits.take_today_post(PLATFORM, str(interaction.channel_id), str(interaction.user.id))

    def _on_demand_refusal(self, interaction: discord.Interaction) -> str | None:
        """None if this member may have a never-built date built here now (and it is counted); else the
        text key saying why not. Builds cost LLM calls and arXiv requests: managers only, a few a day."""
        if self.limits is None:
            return None
        if interaction.guild_id is None or not interaction.permissions.manage_channels:
            return "not_built_member"
        channel = str(interaction.channel_id)
        if not self.limits.take_on_demand_build(PLATFORM, channel, str(interaction.user.id)):
            return "not_built_limit"
        return None

    async def send_digest(self, interaction: discord.Interaction, digest: Digest, note: str | None) -> None:
        channel = str(interaction.channel_id)
        mine = await self.service.chat_digest(digest, PLATFORM, channel)
        for message in render.chat_digest_messages(mine, note=note):
            await send(interaction.followup, message)

    async def answer_breakdown(self, interaction: discord.Interaction, paper_id: str) -> None:
        found = self.service.breakdown(paper_id)
        if found is None:
            await self.notice(interaction, "unknown_button")
            return
        if found[1] is None:
            # Possibly a paper left for a reader to ask about: summarizing it takes longer than the 3 s
            # Discord waits for an answer, so acknowledge first.
            await interaction.response.defer(ephemeral=True, thinking=True)
            found = await self.service.explain(paper_id) or found
        paper, summary = found
        messages = render.breakdown_embeds(paper, summary, self.options.language)
        # An Ask button under the breakdown: a paper of the overview or of a search result has no card
        # of its own to ask from.
        ask = self._ask_view(paper)
        for index, embeds in enumerate(messages):
            kwargs: dict[str, Any] = {"embeds": embeds, "ephemeral": True, "allowed_mentions": NO_MENTIONS}
            if ask is not None and index == len(messages) - 1:
                kwargs["view"] = ask
            if index == 0 and not interaction.response.is_done():
                await interaction.response.send_message(**kwargs)
            else:
                await interaction.followup.send(**kwargs)

    def _ask_view(self, paper: Paper) -> discord.ui.View | None:
        if self.questions is None:
            return None
        try:
            custom_id = render.ask_custom_id(paper)
        except ValueError:
            return None
        return make_view([render.Button(render.labels(self.options.language)["ask"], custom_id)])

    async def answer_rating(self, interaction: discord.Interaction, paper_id: str, value: int) -> None:
        found = self.service.breakdown(paper_id)
        if found is None or interaction.channel_id is None:
            await self.notice(interaction, "unknown_button")
            return
        now = self.service.interests.rate(
            PLATFORM, str(interaction.channel_id), str(interaction.user.id), found[0].base_id, value
        )
        await self.notice(interaction, {1: "rated_up", -1: "rated_down"}.get(now, "rating_removed"))

    async def change_interests(self, interaction: discord.Interaction, text: str, kind: str | None) -> None:
        """/digest follow, mute (kind) and unfollow (None): channel managers only, like subscribing."""
        if not await self.may_manage(interaction, "refused_interests"):
            return
        try:
            terms = parse_terms(text[:2000])
        except InterestError as err:
            await self.notice(interaction, "bad_terms", error=str(err)[:300])
            return
        channel = str(interaction.channel_id)
        interests = self.service.interests
        changed: list[Term]
        try:
            if kind is None:
                changed = interests.remove(PLATFORM, channel, terms)
                key = "unfollowed" if changed else "unfollow_none"
            else:
                changed = interests.add(PLATFORM, channel, kind, terms)
                key = ("followed" if kind == FOLLOW else "muted") if changed else "nothing_new"
        except InterestError as err:
            await self.notice(interaction, "bad_terms", error=str(err)[:300])
            return
        log.info("discord channel %s: %s %d term(s)", channel, kind or "unfollow", len(changed))
        await self.notice(interaction, key, terms=", ".join(render.escape(t.label) for t in changed))

    async def on_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Log it, and tell the member something went wrong rather than leave 'thinking…' forever."""
        log.error("discord: /%s failed", getattr(interaction.command, "qualified_name", "?"), exc_info=error)
        with contextlib.suppress(discord.HTTPException):
            await self.notice(interaction, "error")

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Answer component presses that discord.py would silently drop: ids that are not ours, or that
        are not on the message they claim to come from (forged); and every Ask modal's submission."""
        if interaction.type is discord.InteractionType.modal_submit:
            if not await answer_submission(self, interaction):
                log.info("discord: a modal that is not ours; ignored")
            return
        if interaction.type is not discord.InteractionType.component:
            return
        data: dict[str, Any] = dict(interaction.data or {})
        custom_id = str(data.get("custom_id", ""))
        ours = any(re.fullmatch(template, custom_id) for template in OURS)
        if ours and _button_in_message(interaction.message, custom_id):
            return  # BreakdownButton answers it
        log.info("discord: unknown button %r", custom_id[:100])
        try:
            await self.notice(interaction, "unknown_button")
        except discord.HTTPException:
            log.warning("discord: could not answer an unknown button")

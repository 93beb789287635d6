"""Updates -> actions: subscription and interest commands, /today, the breakdown and 👍/👎 buttons,
deep links, membership.

Where the commands come from: in a channel they arrive as channel posts (only its admins can post); in
a group anyone can type them, so changes are checked with getChatMember; a private chat is its user's.
"""

from __future__ import annotations

import logging
import re
from html import escape

from telegram import Chat, ChatMember, Update
from telegram import Message as TgMessage
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    filters,
)

from adapters.telegram.buttons import ASK, HIDE, RATINGS, deep_link, parse_callback, parse_start_payload
from adapters.telegram.ports import MAX_CARDS_LIMIT, PLATFORM, BotOptions, DigestSource
from adapters.telegram.push import chat_gone
from adapters.telegram.render import (
    Message,
    cut_plain,
    render_breakdown_messages,
    render_card,
    render_chat_digest,
    render_expanded_card,
    why_of_card,
)
from adapters.telegram.sending import edit, send
from adapters.telegram.texts import text
from config.settings import ConfigError, check_categories
from digest.interests import FOLLOW, MUTE, InterestError, parse_terms
from digest.limits import ChatLimits
from digest.models import DigestItem
from digest.store import Store

log = logging.getLogger(__name__)

# Commands come as messages (private chats, groups) and as channel posts.
_COMMAND_UPDATES = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST
MAX_REPLY = 4000  # plain-text replies (a chat's interests) stay under Telegram's 4096


def _chat_title(chat: Chat) -> str:
    return chat.title or chat.username or chat.full_name or str(chat.id)


def parse_categories(args: list[str]) -> list[str]:
    """'/subscribe cs.SD, eess.AS' -> ['cs.SD', 'eess.AS']; ConfigError names unknown ones."""
    words = [w for w in re.split(r"[\s,;]+", " ".join(args)) if w]
    return check_categories(words) if words else []


def _on_message(message: object, data: str | None) -> bool:
    """Whether `data` is one of the buttons of the message it came with. Telegram's apps send only the
    buttons they show, but a modified client can send any data with any message: a 👍 for a paper this
    chat never got would teach the chat's ranking. A message older than 48 hours comes without its
    content (InaccessibleMessage); then Telegram's word is all there is."""
    if not isinstance(message, TgMessage):
        return True
    markup = message.reply_markup
    if markup is None:
        return False
    return any(button.callback_data == data for row in markup.inline_keyboard for button in row)


class TelegramHandlers:
    def __init__(
        self, store: Store, service: DigestSource, options: BotOptions, limits: ChatLimits | None = None
    ):
        self.store, self.service, self.options = store, service, options
        self.limits = limits

    def register(self, application: Application) -> None:
        def command(names: str | list[str], callback) -> CommandHandler:
            return CommandHandler(names, callback, filters=_COMMAND_UPDATES)

        application.add_handler(command("start", self.start))
        application.add_handler(command("help", self.help))
        application.add_handler(command("subscribe", self.subscribe))
        application.add_handler(command("unsubscribe", self.unsubscribe))
        application.add_handler(command(["settings", "status"], self.settings))
        application.add_handler(command("today", self.today))
        application.add_handler(command("follow", self.follow))
        application.add_handler(command("unfollow", self.unfollow))
        application.add_handler(command("mute", self.mute))
        application.add_handler(command("interests", self.show_interests))
        application.add_handler(CallbackQueryHandler(self.button))
        application.add_handler(ChatMemberHandler(self.my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
        application.add_error_handler(self.on_error)

    # -- helpers ------------------------------------------------------------------------------
    async def _reply(self, update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        await context.bot.send_message(chat.id, cut_plain(text))

    async def _may_change(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
        chat, message = update.effective_chat, update.effective_message
        if chat is None or message is None:
            return False
        if chat.type in (ChatType.PRIVATE, ChatType.CHANNEL):
            return True  # a private chat is its user's; only a channel's admins can post in it
        if message.sender_chat is not None and message.sender_chat.id == chat.id:
            return True  # an anonymous group admin, posting as the group
        user = update.effective_user
        if user is None:
            return False
        member = await context.bot.get_chat_member(chat.id, user.id)
        return member.status in (ChatMember.OWNER, ChatMember.ADMINISTRATOR)

    async def _chat_to_change(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, refusal: str = "admin_only"
    ) -> Chat | None:
        """The chat whose subscription (or interests) this update may change; None (after a refusal) if
        it may not."""
        chat = update.effective_chat
        if chat is None:
            return None
        if not await self._may_change(update, context):
            await self._reply(update, context, self.t(refusal))
            return None
        return chat

    def t(self, key: str, **values: object) -> str:
        return text(self.options.language, key, **values)

    def _describe(self, categories) -> str:
        return self.t(
            "digest_of",
            categories=", ".join(categories),
            at=self.options.publish_at,
            tz=self.options.timezone,
        )

    # -- commands -----------------------------------------------------------------------------
    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        payload = context.args[0] if context.args else None
        chat = update.effective_chat
        if payload and chat is not None and chat.type == ChatType.PRIVATE:
            paper_id = parse_start_payload(payload)
            found = await self.service.explain(paper_id) if paper_id else None
            if found is None:
                await self._reply(
                    update, context, self.t("stale_button" if paper_id is None else "gone_paper")
                )
                return
            paper, summary = found
            messages = render_breakdown_messages(paper, summary, self.options.language)
            if self.options.asking:  # a channel's reader asks here, by replying to the breakdown
                messages.append(Message(escape(self.t("ask_hint"))))
            for message in messages:
                sent = await send(context.bot, chat.id, message)
                self.store.remember_message(PLATFORM, chat.id, sent.message_id, paper.versioned_id)
            return
        await self._reply(update, context, self.t("help"))

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._reply(update, context, self.t("help"))

    async def subscribe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = await self._chat_to_change(update, context)
        if chat is None:
            return
        try:
            categories = parse_categories(context.args or [])
        except ConfigError as err:
            await self._reply(update, context, self.t("bad_categories", error=err))
            return
        if not categories:
            existing = self.store.get_subscription(PLATFORM, str(chat.id))
            categories = list(existing.categories if existing else self.options.categories)
        refusal = self.limits.check_subscription(PLATFORM, str(chat.id), categories) if self.limits else None
        if refusal is not None:
            log.info("telegram chat %s: /subscribe refused (%s)", chat.id, refusal.reason)
            await self._reply(update, context, self.t(refusal.reason, limit=refusal.limit))
            return
        self.store.subscribe(PLATFORM, str(chat.id), categories, _chat_title(chat))
        log.info("telegram chat %s (%s) subscribed to %s", chat.id, chat.type, ",".join(categories))
        await self._reply(update, context, self.t("subscribed", what=self._describe(categories)))

    async def unsubscribe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = await self._chat_to_change(update, context)
        if chat is None:
            return
        if self.store.deactivate(PLATFORM, str(chat.id), "unsubscribed with /unsubscribe"):
            log.info("telegram chat %s unsubscribed", chat.id)
            await self._reply(update, context, self.t("unsubscribed"))
        else:
            await self._reply(update, context, self.t("not_subscribed"))

    async def settings(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        if context.args:
            await self._set_max_cards(update, context, context.args)
            return
        subscription = self.store.get_subscription(PLATFORM, str(chat.id))
        if subscription is not None and subscription.active:
            reply = self.t("settings_on", what=self._describe(subscription.categories))
            reply += "\n" + self.t("settings_cards", n=self.service.max_cards(PLATFORM, str(chat.id)))
        else:
            reply = self.t("settings_off", what=self._describe(self.options.categories))
        await self._reply(update, context, reply)

    async def _set_max_cards(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: list[str]
    ) -> None:
        usage = self.t("max_cards_bad", limit=MAX_CARDS_LIMIT)
        if len(args) != 2 or args[0].lower() != "max_cards" or not re.fullmatch(r"\d{1,3}", args[1]):
            await self._reply(update, context, usage)
            return
        count = int(args[1])
        if not 1 <= count <= MAX_CARDS_LIMIT:
            await self._reply(update, context, usage)
            return
        chat = await self._chat_to_change(update, context)
        if chat is None:
            return
        if not self.store.set_max_cards(PLATFORM, str(chat.id), count):
            await self._reply(update, context, self.t("not_subscribed"))
            return
        log.info("telegram chat %s: max_cards %d", chat.id, count)
        await self._reply(update, context, self.t("max_cards_set", n=count))

    # -- interests ----------------------------------------------------------------------------
    async def _terms_to_change(self, update: Update, context: ContextTypes.DEFAULT_TYPE):
        """(chat, terms) for /follow, /unfollow, /mute; None after telling the user why not."""
        try:
            terms = parse_terms(" ".join(context.args or []))
        except InterestError as err:
            await self._reply(update, context, self.t("bad_terms", error=err))
            return None
        chat = await self._chat_to_change(update, context, "interests_admin_only")
        return None if chat is None else (chat, terms)

    async def follow(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._add_terms(update, context, FOLLOW)

    async def mute(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._add_terms(update, context, MUTE)

    async def _add_terms(self, update: Update, context: ContextTypes.DEFAULT_TYPE, kind: str) -> None:
        found = await self._terms_to_change(update, context)
        if found is None:
            return
        chat, terms = found
        try:
            added = self.service.interests.add(PLATFORM, str(chat.id), kind, terms)
        except InterestError as err:
            await self._reply(update, context, self.t("bad_terms", error=err))
            return
        if not added:
            await self._reply(update, context, self.t("nothing_new"))
            return
        log.info("telegram chat %s: %s %d term(s)", chat.id, kind, len(added))
        labels = ", ".join(t.label for t in added)
        reply = self.t("followed" if kind == FOLLOW else "muted", terms=labels)
        await self._reply(update, context, reply[:MAX_REPLY])

    async def unfollow(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        found = await self._terms_to_change(update, context)
        if found is None:
            return
        chat, terms = found
        removed = self.service.interests.remove(PLATFORM, str(chat.id), terms)
        if not removed:
            await self._reply(update, context, self.t("unfollow_none"))
            return
        reply = self.t("unfollowed", terms=", ".join(t.label for t in removed))
        await self._reply(update, context, reply[:MAX_REPLY])

    async def show_interests(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        mine = self.service.interests.for_chat(PLATFORM, str(chat.id))
        none = self.t("none")
        reply = self.t(
            "interests",
            follows=", ".join(t.label for t in mine.follows) or none,
            mutes=", ".join(t.label for t in mine.mutes) or none,
            ratings=mine.ratings,
            liked=len(mine.liked),
            disliked=len(mine.disliked),
            max_cards=self.service.max_cards(PLATFORM, str(chat.id)),
        )
        if len(reply) > MAX_REPLY:
            reply = reply[: MAX_REPLY - 1] + "…"
        await self._reply(update, context, reply)

    async def today(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        if chat.type != ChatType.PRIVATE and not self._today_allowed(chat):
            await self._note_privately(update, context, self.t("today_cooldown", minutes=self._cooldown()))
            return
        subscription = self.store.get_subscription(PLATFORM, str(chat.id))
        categories = list(subscription.categories if subscription else self.options.categories)
        today = self.options.today()
        digest = self.service.latest_digest(categories, on_or_before=today, non_empty=True)
        digest = digest or self.service.latest_digest(categories, on_or_before=today, non_empty=False)
        if digest is None:
            await self._reply(update, context, self.t("no_digest", categories=", ".join(categories)))
            return
        mine = await self.service.chat_digest(digest, PLATFORM, str(chat.id))
        papers = {item.paper.base_id: item.paper.versioned_id for item in digest.items}
        for part, message in render_chat_digest(mine, context.bot.username):
            sent = await send(context.bot, chat.id, message)
            if part in papers:  # a card: a reply to it asks its paper
                self.store.remember_message(PLATFORM, chat.id, sent.message_id, papers[part])

    def _cooldown(self) -> str:
        return f"{self.limits.settings.today_cooldown_minutes:g}" if self.limits else "0"

    def _today_allowed(self, chat: Chat) -> bool:
        """A group or channel gets the digest posted at most once per today_cooldown_minutes."""
        return self.limits is None or self.limits.take_today_post(PLATFORM, str(chat.id))

    async def _note_privately(self, update: Update, context: ContextTypes.DEFAULT_TYPE, note: str) -> None:
        """Tell the asker, not the whole group; a user who never started the bot cannot be told."""
        user = update.effective_user
        if user is None or user.is_bot:
            log.info("telegram: %s", note)
            return
        try:
            await context.bot.send_message(user.id, cut_plain(note))
        except (Forbidden, BadRequest) as err:
            log.info("telegram: could not tell user %s privately (%s)", user.id, err.message)

    # -- the card's buttons --------------------------------------------------------------------
    async def button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        data = query.data if isinstance(query.data, str) else None
        parsed = parse_callback(data)
        message = query.message
        if parsed is not None and not _on_message(message, data):
            log.info("telegram: button %r is not on the message it came with; refused", data)
            parsed = None
        if parsed is not None and parsed[0] in RATINGS and message is not None:
            await self._rate(update, parsed[0], parsed[1], str(message.chat.id))
            return
        if parsed is None or not isinstance(message, TgMessage):
            await query.answer(self.t("stale_button"))
            return
        action, paper_id = parsed
        if action == ASK:
            await self._how_to_ask(update, context, paper_id, message.chat.type)
            return
        if message.chat.type == ChatType.CHANNEL:
            # An edit would change the post for every subscriber: open the reader's private chat instead.
            if self.service.breakdown(paper_id) is None:
                await query.answer(self.t("gone_paper"))
            else:
                await query.answer(url=deep_link(context.bot.username, paper_id))
            return
        found = await self.service.explain(paper_id)
        if found is None:
            await query.answer(self.t("gone_paper"))
            return
        paper, summary = found
        item = DigestItem(paper, summary)
        language = self.options.language
        why = why_of_card(message.text or "")  # the card keeps saying why it ranks where it does
        try:
            if action == HIDE:
                await edit(context.bot, message.chat.id, message.message_id, render_card(item, language, why))
                await query.answer()
                return
            expanded = render_expanded_card(item, language, why)
            if expanded is not None:
                await edit(context.bot, message.chat.id, message.message_id, expanded)
                await query.answer()
                return
            for part in render_breakdown_messages(paper, summary, language):
                sent = await send(context.bot, message.chat.id, part, reply_to=message.message_id)
                self.store.remember_message(PLATFORM, message.chat.id, sent.message_id, paper.versioned_id)
            await query.answer()
        except RetryAfter:
            await query.answer(self.t("busy"))
        except BadRequest as err:
            if "not modified" in err.message:  # a double press: the card already shows it
                await query.answer()
            else:
                log.warning("telegram button in chat %s: %s", message.chat.id, err.message)
                await query.answer(self.t("stale_button"))

    async def _how_to_ask(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, paper_id: str, chat_type: str
    ) -> None:
        """💬: questions are replies (adapters/telegram/asking.py), so the button says how, and never
        edits the card. A channel's reader cannot reply to the post: the private chat opens on the
        paper's breakdown, which takes replies."""
        query = update.callback_query
        assert query is not None
        if not self.options.asking:
            await query.answer(self.t("ask_no_llm"))
        elif self.service.breakdown(paper_id) is None:
            await query.answer(self.t("gone_paper"))
        elif chat_type == ChatType.CHANNEL:
            await query.answer(url=deep_link(context.bot.username, paper_id))
        else:
            await query.answer(self.t("ask_how"), show_alert=True)

    async def _rate(self, update: Update, action: str, paper_id: str, chat_id: str) -> None:
        """👍/👎: recorded for (chat, reader, paper); the same press again takes it back. Answered with a
        toast only, never an edit: in a channel the post is everyone's."""
        query = update.callback_query
        assert query is not None
        paper = self.service.breakdown(paper_id)
        if paper is None:
            await query.answer(self.t("gone_paper"))
            return
        now = self.service.interests.rate(
            PLATFORM, chat_id, str(query.from_user.id), paper[0].base_id, RATINGS[action]
        )
        await query.answer(
            {1: self.t("rated_up"), -1: self.t("rated_down")}.get(now, self.t("rating_removed"))
        )

    # -- membership ---------------------------------------------------------------------------
    async def my_chat_member(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        change = update.my_chat_member
        if change is None:
            return
        chat, status = change.chat, change.new_chat_member.status
        if status in (ChatMember.LEFT, ChatMember.BANNED):
            reason = f"bot removed from the {chat.type} ({status})"
            if self.store.deactivate(PLATFORM, str(chat.id), reason):
                log.warning("telegram chat %s (%s) deactivated: %s", chat.id, _chat_title(chat), reason)
        elif chat.type == ChatType.CHANNEL and status == ChatMember.MEMBER:
            log.warning(
                "telegram: no longer an admin of channel %s (%s): cannot post there", chat.id, chat.title
            )
        elif change.old_chat_member.status in (ChatMember.LEFT, ChatMember.BANNED):
            log.info("telegram: added to %s %s (%s) as %s", chat.type, chat.id, _chat_title(chat), status)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        err = context.error
        if (
            isinstance(err, TelegramError)
            and chat_gone(err)
            and isinstance(update, Update)
            and update.effective_chat is not None
        ):
            chat_id = str(update.effective_chat.id)
            reason = f"{403 if isinstance(err, Forbidden) else 400} on send: {err.message}"
            if self.store.deactivate(PLATFORM, chat_id, reason):
                log.warning("telegram chat %s deactivated: %s", chat_id, reason)
            return
        if isinstance(err, TelegramError):
            log.warning("telegram update failed: %s", err)
            return
        log.error("telegram update failed", exc_info=err)

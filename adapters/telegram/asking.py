"""Ask a paper by replying to the bot, and /search: Telegram's side of digest/questions.py and
digest/search.py.

Which replies are questions: a text message (private chat or group) replying to a message this bot sent
and recorded as being about a paper (a card, a breakdown, an answer; see Store.remember_message).
Anything else is ignored without a word: a reply to another user, to a message the bot never recorded,
or one whose quoted message claims to be the bot's but is not in the record (forged). In a group with
privacy mode on, Telegram delivers exactly the replies to the bot's own messages, so a question must
address the bot. Channel readers cannot reply to a channel post; the breakdown the card's button opens
in their private chat is recorded too, so they ask there.

The answer replies to the message the reader replied to (the card, or the previous answer), quoting
the question, so a thread stays readable in a busy group. A thread is rooted at the card or breakdown:
a reply to an answer continues its thread and the last turns go to the LLM with it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from html import escape

from telegram import Update
from telegram.constants import ChatAction, ChatType
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from adapters.telegram.buttons import deep_link
from adapters.telegram.markdown_html import markdown_to_html
from adapters.telegram.ports import PLATFORM, BotOptions
from adapters.telegram.render import Message, fit, tg_len
from adapters.telegram.sending import send
from adapters.telegram.texts import text
from digest.questions import Answer, QuestionService, mark_unverified
from digest.search import BadQuery, SearchHit
from digest.store import Store

log = logging.getLogger(__name__)

MAX_QUOTED_QUESTION = 300
MAX_RESULT_TITLE = 150
ANSWERED = ("ok", "not_said")

Search = Callable[[str], list[SearchHit]]


def _clip(value: str, limit: int) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def render_answer(answer: Answer, question: str, language: str) -> Message:
    """The answer as Telegram HTML: the question quoted, the answer, the sections it used, and a note on
    numbers the paper does not hold. Everything from the reader or the LLM is escaped."""
    if answer.status not in ANSWERED:
        key = {
            "limit": "ask_limit",
            "too_long": "ask_too_long",
            "off": "ask_off",
            "empty": "ask_empty",
            "gone": "gone_paper",
        }.get(answer.status)
        return Message(escape(text(language, key or "ask_failed", limit=answer.limit)))
    quote = f"<blockquote>{escape(_clip(question, MAX_QUOTED_QUESTION), quote=False)}</blockquote>"
    if answer.status == "not_said":
        return Message(f"{quote}\n{escape(text(language, 'not_said'))}")
    tail: list[str] = []
    # Both lists come from the LLM's reply, so they are clipped: the answer itself must keep the room.
    if answer.sections:
        sections = _clip(" · ".join(answer.sections), 400)
        tail.append(f"<i>{escape(text(language, 'sections_used', sections=sections))}</i>")
    if answer.unverified:
        tail.append(escape(text(language, "unverified", numbers=_clip(", ".join(answer.unverified), 300))))
    footer = ("\n\n" + "\n".join(tail)) if tail else ""
    body = mark_unverified(answer.text, answer.unverified)
    return Message(fit(lambda part: f"{quote}\n{markdown_to_html(part)}{footer}", body))


def render_search(hits: list[SearchHit], query: str, language: str, bot_username: str | None) -> Message:
    """Compact result lines: date, the title linked to arXiv, and a link opening the breakdown in the
    reader's private chat with the bot."""
    lines = [escape(text(language, "search_head", query=_clip(query, 100), count=len(hits)))]
    for number, hit in enumerate(hits, start=1):
        title = escape(_clip(hit.title, MAX_RESULT_TITLE), quote=False)
        line = f'{number}. {escape(hit.day)} · <a href="{escape(hit.abs_url)}">{title}</a>'
        if bot_username:
            with contextlib.suppress(ValueError):  # an id a deep link cannot carry: the title still links
                line += f' · <a href="{escape(deep_link(bot_username, hit.versioned_id))}">📖</a>'
        lines.append(line)
    message = "\n".join(lines)
    while tg_len(message) > 4096 and len(lines) > 2:  # never with these clips; kept as a guard
        lines.pop()
        message = "\n".join(lines)
    return Message(message)


class AskHandlers:
    def __init__(
        self,
        store: Store,
        options: BotOptions,
        questions: QuestionService | None,
        search: Search | None,
    ):
        self.store, self.options = store, options
        self.questions, self.search_papers = questions, search

    def register(self, application: Application) -> None:
        application.add_handler(
            CommandHandler(
                "search",
                self.search,
                filters=filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST,
            )
        )
        application.add_handler(
            MessageHandler(
                filters.UpdateType.MESSAGE & filters.REPLY & filters.TEXT & ~filters.COMMAND, self.reply
            )
        )

    def t(self, key: str, **values: object) -> str:
        return text(self.options.language, key, **values)

    async def reply(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        if message is None or message.text is None or message.chat.type == ChatType.CHANNEL:
            return
        target = message.reply_to_message
        sender = message.from_user
        if target is None or sender is None or (sender.is_bot and message.sender_chat is None):
            return
        if target.from_user is None or target.from_user.id != context.bot.id:
            return  # a reply to someone else: not for us
        chat_id = message.chat.id
        found = self.store.message_paper(PLATFORM, chat_id, target.message_id)
        if found is None:
            log.info("telegram: reply in chat %s to an unrecorded message; ignored", chat_id)
            return
        paper_id, thread = found
        thread = thread or f"{chat_id}:{target.message_id}"
        # An anonymous group admin writes as the group: the group is the asker.
        asker = str(message.sender_chat.id if message.sender_chat is not None else sender.id)
        if self.questions is None:
            await send(
                context.bot, chat_id, Message(escape(self.t("ask_no_llm"))), reply_to=message.message_id
            )
            return
        with contextlib.suppress(TelegramError):
            await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
        try:
            answer = await self.questions.ask(PLATFORM, asker, paper_id, message.text, thread)
        except Exception:  # the reader gets a short note either way; the log gets the reason
            log.exception("telegram: question on %s failed", paper_id)
            answer = Answer("failed")
        rendered = render_answer(answer, message.text, self.options.language)
        if answer.status in ANSWERED:
            sent = await send(context.bot, chat_id, rendered, reply_to=target.message_id)
            self.store.remember_message(PLATFORM, chat_id, sent.message_id, paper_id, thread)
        else:
            await send(context.bot, chat_id, rendered, reply_to=message.message_id)

    async def search(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        query = " ".join(context.args or [])
        if self.search_papers is None or not query.strip():
            await send(context.bot, chat.id, Message(escape(self.t("search_usage"))))
            return
        try:
            hits = self.search_papers(query)
        except BadQuery as err:
            await send(context.bot, chat.id, Message(escape(self.t("search_bad", error=err))))
            return
        if not hits:
            reply = Message(escape(self.t("search_none", query=_clip(query, 100))))
        else:
            reply = render_search(hits, query, self.options.language, context.bot.username)
        await send(context.bot, chat.id, reply)

"""Rendered messages -> Bot API calls."""

from __future__ import annotations

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, ReplyParameters
from telegram import Message as TgMessage
from telegram.constants import ParseMode

from adapters.telegram.render import Message

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def keyboard(message: Message) -> InlineKeyboardMarkup | None:
    if not message.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.text, callback_data=b.callback_data, url=b.url) for b in row]
            for row in message.buttons
        ]
    )


async def send(bot: Bot, chat_id: int | str, message: Message, reply_to: int | None = None) -> TgMessage:
    return await bot.send_message(
        chat_id=chat_id,
        text=message.text,
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard(message),
        link_preview_options=NO_PREVIEW,
        reply_parameters=ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
        if reply_to is not None
        else None,
    )


async def edit(bot: Bot, chat_id: int | str, message_id: int, message: Message) -> None:
    await bot.edit_message_text(
        chat_id=chat_id,
        message_id=message_id,
        text=message.text,
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard(message),
        link_preview_options=NO_PREVIEW,
    )

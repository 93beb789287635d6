"""A fake Telegram Bot API on 127.0.0.1 (aiohttp) for python-telegram-bot to talk to through `base_url`.

It checks what Telegram checks, so that a test passing here means Telegram would accept the same calls:

- HTML parse mode is parsed the way Telegram's server (tdlib's parse_html) does: only Telegram's tags,
  only the named entities &lt; &gt; &amp; &quot; (plus numeric ones), a bare '<' is an error, tags must
  close in order; failures answer 400 "Bad Request: can't parse entities: ...". Nesting that Telegram
  would silently repair (anything inside code/pre, a blockquote in a blockquote) is refused too.
- text at most 4096 UTF-16 code units after parsing, not empty; callback_data 1-64 bytes; button URLs.
- rate limits: per group/channel (20 a minute) and overall (30 a second), as token buckets; past them,
  429 with parameters.retry_after. The limits are parameters, so tests can make them small and fast.
- 403 for chats that blocked or kicked the bot; 400 for unknown chats and messages.
- getUpdates (long polling, offsets) serves updates that tests queue with command(), press(),
  member_change(); getMe, getChatMember, answerCallbackQuery, editMessageText, sendMessage.

Everything the bot did is kept for assertions: `sent`, `edits`, `answers`, `errors`, `chats[id].messages`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from tests.fakes.server import serve_local

BOT_ID = 777000111
BOT_USERNAME = "DigestTestBot"
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64

# -- HTML as Telegram parses it ----------------------------------------------------------------

_TAGS = {
    "a": "text_link",
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "tg-emoji": "custom_emoji",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class EntityParseError(ValueError):
    pass


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _decode_entity(text: str, i: int) -> tuple[str, int] | None:
    match = _ENTITY_RE.match(text, i)
    if not match:
        return None
    if match.group(1):
        return _NAMED[match.group(1)], match.end()
    code = int(match.group(2)) if match.group(2) else int(match.group(3), 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's HTML -> (plain text, entities with UTF-16 offsets); EntityParseError as Telegram would."""
    out: list[str] = []
    offset = 0  # UTF-16 offset of the end of `out`
    stack: list[dict[str, Any]] = []
    entities: list[dict[str, Any]] = []
    n = len(text)
    i = 0

    def where(pos: int) -> int:
        return len(text[:pos].encode())

    while i < n:
        char = text[i]
        if char == "&":
            decoded = _decode_entity(text, i)
            if decoded:
                out.append(decoded[0])
                offset += _utf16(decoded[0])
                i = decoded[1]
                continue
        if char != "<":
            out.append(char)
            offset += _utf16(char)
            i += 1
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":  # an end tag
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {where(begin)}")
            j = i + 1
            while j < n and not text[j].isspace() and text[j] != ">":
                j += 1
            end_name = text[i + 1 : j].lower()
            while j < n and text[j].isspace():
                j += 1
            if j >= n or text[j] != ">":
                raise EntityParseError(f"Unclosed end tag at byte offset {where(begin)}")
            opened = stack.pop()
            if end_name and end_name != opened["tag"]:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {where(begin)}, expected "</{opened["tag"]}>", '
                    f'found "</{end_name}>"'
                )
            i = j + 1
            length = offset - opened["offset"]
            if length > 0 and opened["type"] is not None:
                entity = {"type": opened["type"], "offset": opened["offset"], "length": length}
                entity.update(opened["extra"])
                entities.append(entity)
            continue
        # a start tag
        j = i
        while j < n and not text[j].isspace() and text[j] != ">":
            j += 1
        if j >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {where(begin)}")
        tag = text[i:j].lower()
        if tag not in _TAGS:
            raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {where(begin)}')
        attributes: dict[str, str] = {}
        while True:
            while j < n and text[j].isspace():
                j += 1
            if j >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {where(begin)}")
            if text[j] == ">":
                break
            k = j
            while k < n and not text[k].isspace() and text[k] not in "=>":
                k += 1
            name = text[j:k].lower()
            if not name:
                raise EntityParseError(
                    f'Empty attribute name in the tag "{tag}" at byte offset {where(begin)}'
                )
            while k < n and text[k].isspace():
                k += 1
            if k >= n or text[k] != "=":
                if tag == "blockquote" and name == "expandable":
                    attributes[name] = ""
                    j = k
                    continue
                raise EntityParseError(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"at byte offset {where(begin)}"
                )
            k += 1
            while k < n and text[k].isspace():
                k += 1
            if k >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {where(begin)}")
            if text[k] in "'\"":
                quote = text[k]
                k += 1
                value: list[str] = []
                while k < n and text[k] != quote:
                    if text[k] == "&":
                        decoded = _decode_entity(text, k)
                        if decoded:
                            value.append(decoded[0])
                            k = decoded[1]
                            continue
                    value.append(text[k])
                    k += 1
                if k >= n:
                    raise EntityParseError(f"Unclosed start tag at byte offset {where(begin)}")
                k += 1
                attributes[name] = "".join(value)
            else:
                start = k
                while k < n and (text[k].isalnum() or text[k] in ".-"):
                    k += 1
                if k >= n or not (text[k].isspace() or text[k] == ">"):
                    raise EntityParseError(f"Unexpected end of name token at byte offset {where(k)}")
                attributes[name] = text[start:k].lower()
            j = k
        i = j + 1
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {where(begin)}')
        # nesting Telegram would not keep: a stricter fake catches rendering that would look wrong
        for outer in stack:
            if outer["tag"] in ("code", "pre") and not (outer["tag"] == "pre" and tag == "code"):
                raise EntityParseError(
                    f'Tag "{tag}" can\'t be inside "{outer["tag"]}" at byte offset {where(begin)}'
                )
            if outer["tag"] == "blockquote" and tag == "blockquote":
                raise EntityParseError(f"Blockquotes can't be nested at byte offset {where(begin)}")
        kind: str | None = _TAGS[tag]
        extra: dict[str, Any] = {}
        if tag == "a":
            href = attributes.get("href", "")
            if _valid_url(href):
                extra["url"] = href
            else:
                kind = None  # Telegram drops a link it cannot use and keeps the text
        elif tag == "blockquote" and "expandable" in attributes:
            kind = "expandable_blockquote"
        elif tag == "pre":
            pass
        stack.append({"tag": tag, "type": kind, "offset": offset, "extra": extra})
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1]["tag"]}"')
    return "".join(out), sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def _valid_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return (parts.scheme in ("http", "https") and bool(parts.netloc)) or parts.scheme == "tg"


# -- rate limits ------------------------------------------------------------------------------


@dataclass
class Limits:
    """Telegram's documented limits by default. A token bucket per key: `rate` messages per `period`
    seconds, with bursts up to `rate`."""

    overall_rate: float = 30
    overall_period: float = 1.0
    chat_rate: float = 20  # per group / channel (negative chat ids)
    chat_period: float = 60.0
    private_rate: float = 0  # per private chat; 0 = not enforced (Telegram only asks for ~1/s)
    private_period: float = 1.0
    retry_granularity: float = 1.0  # Telegram answers whole seconds; tests may use 0.1


class _Bucket:
    def __init__(self, rate: float, period: float):
        self.rate, self.period = rate, period
        self.level = 0.0
        self.stamp = time.monotonic()

    def wait_needed(self, now: float) -> float:
        self.level = max(0.0, self.level - (now - self.stamp) * self.rate / self.period)
        self.stamp = now
        if self.level + 1 <= self.rate + 1e-9:
            return 0.0
        return (self.level + 1 - self.rate) * self.period / self.rate

    def take(self) -> None:
        self.level += 1


# -- state ------------------------------------------------------------------------------------


@dataclass
class FakeChat:
    id: int
    type: str  # private | group | supergroup | channel
    title: str = ""
    username: str | None = None
    admins: set[int] = field(default_factory=set)
    owner: int | None = None
    blocked: bool = False  # private chat: the user blocked the bot
    kicked: bool = False  # group / channel: the bot was removed
    migrated_to: int | None = None  # a group upgraded to this supergroup
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.type == "private":
            data["first_name"] = self.title or "User"
        else:
            data["title"] = self.title or f"chat {self.id}"
        if self.username:
            data["username"] = self.username
        return data


class ApiError(Exception):
    def __init__(
        self, code: int, description: str, retry_after: float | None = None, migrate_to: int | None = None
    ):
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after
        self.migrate_to = migrate_to


def user_json(user_id: int, name: str = "Reader", username: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": name}
    if username:
        data["username"] = username
    return data


_ADMIN_RIGHTS = {
    name: True
    for name in (
        "can_be_edited",
        "can_manage_chat",
        "can_delete_messages",
        "can_manage_video_chats",
        "can_restrict_members",
        "can_promote_members",
        "can_change_info",
        "can_invite_users",
        "can_post_stories",
        "can_edit_stories",
        "can_delete_stories",
        "can_post_messages",
        "can_edit_messages",
        "can_pin_messages",
    )
}


def member_json(status: str, user: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"status": status, "user": user}
    if status == "creator":
        data["is_anonymous"] = False
    elif status == "administrator":
        data.update(_ADMIN_RIGHTS, is_anonymous=False)
    elif status == "kicked":
        data["until_date"] = 0
    return data


_JSON_FIELDS = {
    "reply_markup",
    "allowed_updates",
    "entities",
    "link_preview_options",
    "reply_parameters",
}


class FakeTelegram:
    """Run with `async with FakeTelegram(token) as fake:`; point PTB at `fake.base_url`."""

    def __init__(self, token: str = "123456:TEST-token", limits: Limits | None = None, latency: float = 0.0):
        self.token = token
        self.limits = limits or Limits()
        self.latency = latency  # seconds added to each send/edit, like a real network round trip
        self.chats: dict[int, FakeChat] = {}
        self.sent: list[dict[str, Any]] = []  # every message the bot sent, in order
        self.edits: list[dict[str, Any]] = []
        self.answers: dict[str, dict[str, Any]] = {}  # callback query id -> answerCallbackQuery params
        self.errors: list[tuple[str, int, str]] = []  # (method, code, description) of refused calls
        self.calls: list[str] = []  # method names, in order
        self.rate_limited = 0  # 429s answered
        self.proxy_errors: dict[str, int] = {}  # method -> status answered by a 'proxy' echoing the URL
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count] = {}
        self._query_ids = itertools.count(1)
        self._open_queries: set[str] = set()
        self._new_update = asyncio.Event()
        self._overall: _Bucket | None = None
        self._per_chat: dict[int, _Bucket] = {}
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._serving = False
        self.port = 0

    # -- lifecycle ----------------------------------------------------------------------------
    def app(self) -> web.Application:
        """The aiohttp app, e.g. for tests.fakes.server.BackgroundServer (a thread of its own)."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)

        async def started(_app: web.Application) -> None:
            self._loop = asyncio.get_running_loop()
            self._serving = True

        async def stopping(_app: web.Application) -> None:
            self._serving = False
            self._new_update.set()

        app.on_startup.append(started)
        app.on_shutdown.append(stopping)
        return app

    def use_port(self, port: int) -> None:
        """When served by someone else (BackgroundServer): the port, for base_url."""
        self.port = port

    async def start(self) -> FakeTelegram:
        """Serve on the running loop (in-process tests, the benchmark)."""
        self._runner, self.port = await serve_local(self.app())
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """For PTB's base_url / telegram.api_base_url: the token is appended to it."""
        return f"http://127.0.0.1:{self.port}/bot"

    # -- the test's side ----------------------------------------------------------------------
    def add_chat(
        self,
        chat_id: int,
        type: str,
        title: str = "",
        admins: set[int] | None = None,
        owner: int | None = None,
        username: str | None = None,
    ) -> FakeChat:
        chat = FakeChat(chat_id, type, title, username, set(admins or ()), owner)
        self.chats[chat_id] = chat
        return chat

    def messages_to(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["chat"]["id"] == chat_id]

    def _next_message_id(self, chat_id: int) -> int:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)

    def _queue(self, update: dict[str, Any]) -> dict[str, Any]:
        update["update_id"] = next(self._update_ids)
        self._updates.append(update)
        self._wake()
        return update

    def _wake(self) -> None:
        """Wake a waiting getUpdates; tests may call from another thread than the server's."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            same = asyncio.get_running_loop() is loop
        except RuntimeError:
            same = False
        if same:
            self._new_update.set()
        else:
            loop.call_soon_threadsafe(self._new_update.set)

    def command(
        self, chat_id: int, text: str, user: dict[str, Any] | None = None, anonymous: bool = False
    ) -> dict[str, Any]:
        """A user (or, in a channel, the channel itself) posts `text` (e.g. '/subscribe cs.CL');
        anonymous=True: a group admin posting as the group, as Telegram lets them."""
        chat = self.chats[chat_id]
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": chat.as_json(),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16(command)}]
        if chat.type == "channel":
            message["sender_chat"] = chat.as_json()
            return self._queue({"channel_post": message})
        if anonymous:
            message["sender_chat"] = chat.as_json()
            message["from"] = {
                "id": 1087968824,
                "is_bot": True,
                "first_name": "Group",
                "username": "GroupAnonymousBot",
            }
        else:
            message["from"] = user or user_json(chat_id)
        return self._queue({"message": message})

    def reply(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        user: dict[str, Any] | None = None,
        quoted: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A user replies to message `message_id` of the chat (the bot's, or anyone's) with `text`. As
        Telegram does, the update carries the replied-to message; `quoted` replaces it (a forged one)."""
        chat = self.chats[chat_id]
        if quoted is None:
            quoted = {k: v for k, v in chat.messages[message_id].items() if k != "reply_to_message"}
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": chat.as_json(),
            "from": user or user_json(chat_id),
            "text": text,
            "reply_to_message": quoted,
        }
        chat.messages[message["message_id"]] = message
        self._queue({"message": message})
        return message

    def user_message(self, chat_id: int, text: str, user: dict[str, Any] | None = None) -> dict[str, Any]:
        """A user's own message in the chat (for others to reply to); not sent to the bot."""
        chat = self.chats[chat_id]
        message = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": chat.as_json(),
            "from": user or user_json(chat_id),
            "text": text,
        }
        chat.messages[message["message_id"]] = message
        return message

    def press(
        self, chat_id: int, message_id: int, data: str | None = None, user: dict[str, Any] | None = None
    ) -> str:
        """A reader presses a button of the bot's message; returns the callback query id. `data`
        defaults to the message's first button's callback data (pass any string to forge one)."""
        message = self.chats[chat_id].messages[message_id]
        if data is None:
            data = message["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        query_id = f"q{next(self._query_ids)}"
        self._open_queries.add(query_id)
        self._queue(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user or user_json(5550001),
                    "message": message,
                    "chat_instance": f"ci{chat_id}",
                    "data": data,
                }
            }
        )
        return query_id

    def member_change(self, chat_id: int, old: str, new: str, by: dict[str, Any] | None = None) -> None:
        """The bot's own status in a chat changes (my_chat_member), e.g. 'administrator' -> 'kicked'."""
        chat = self.chats[chat_id]
        if new in ("kicked", "left"):
            if chat.type == "private":
                chat.blocked = True
            else:
                chat.kicked = True
        else:
            chat.blocked = chat.kicked = False
        bot = self.bot_user()
        self._queue(
            {
                "my_chat_member": {
                    "chat": chat.as_json(),
                    "from": by or user_json(chat.owner or 1, "Admin"),
                    "date": int(time.time()),
                    "old_chat_member": member_json(old, bot),
                    "new_chat_member": member_json(new, bot),
                }
            }
        )

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError("the fake Bot API did not see what the test waited for")
            await asyncio.sleep(0.02)

    def wait_until(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """wait_for() for synchronous tests, with the fake served from a BackgroundServer thread."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError("the fake Bot API did not see what the test waited for")
            time.sleep(0.02)

    def bot_user(self) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "arXiv Digest", "username": BOT_USERNAME}

    # -- HTTP ---------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method in self.proxy_errors:
            # A proxy (or a local Bot API server) in front of Telegram refusing the call with its own
            # page, which echoes the request line and headers: the token is in the path.
            self.calls.append(method)
            self.errors.append((method, self.proxy_errors[method], "proxy page"))
            headers = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
            page = (
                f"<html><body><h1>{self.proxy_errors[method]} Forbidden by proxy</h1>"
                f"<p>{request.method} {request.path_qs}</p><pre>{headers}</pre></body></html>"
            )
            return web.Response(text=page, status=self.proxy_errors[method], content_type="text/html")
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        params = await self._params(request)
        self.calls.append(method)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        try:
            result = await handler(params)
        except ApiError as err:
            self.errors.append((method, err.code, err.description))
            body: dict[str, Any] = {"ok": False, "error_code": err.code, "description": err.description}
            if err.retry_after is not None:
                body["parameters"] = {"retry_after": err.retry_after}
            if err.migrate_to is not None:
                body["parameters"] = {"migrate_to_chat_id": err.migrate_to}
            return web.json_response(body, status=err.code)
        return web.json_response({"ok": True, "result": result})

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        for key in _JSON_FIELDS & params.keys():
            if isinstance(params[key], str):
                try:
                    params[key] = json.loads(params[key])
                except ValueError:
                    raise_bad = params[key]
                    params[key] = {"__invalid__": raise_bad}
        return params

    def _chat(self, params: dict[str, Any]) -> FakeChat:
        raw = params.get("chat_id")
        try:
            chat = self.chats.get(int(raw)) if raw is not None else None
        except (TypeError, ValueError):
            chat = None
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _check_sendable(self, chat: FakeChat) -> None:
        if chat.migrated_to is not None:
            raise ApiError(
                400, "Bad Request: group chat was upgraded to a supergroup chat", migrate_to=chat.migrated_to
            )
        if chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat.kicked:
            kind = (
                "channel"
                if chat.type == "channel"
                else ("supergroup" if chat.type == "supergroup" else "group")
            )
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")

    def _rate(self, chat: FakeChat) -> None:
        limits, now = self.limits, time.monotonic()
        buckets: list[_Bucket] = []
        if limits.overall_rate:
            if self._overall is None:
                self._overall = _Bucket(limits.overall_rate, limits.overall_period)
            buckets.append(self._overall)
        rate, period = (
            (limits.private_rate, limits.private_period)
            if chat.id > 0
            else (limits.chat_rate, limits.chat_period)
        )
        if rate:
            if chat.id not in self._per_chat:
                self._per_chat[chat.id] = _Bucket(rate, period)
            buckets.append(self._per_chat[chat.id])
        wait = max((b.wait_needed(now) for b in buckets), default=0.0)
        if wait > 0:
            self.rate_limited += 1
            step = limits.retry_granularity
            retry = max(step, math.ceil(wait / step) * step)
            retry_after: float = int(retry) if float(retry).is_integer() else round(retry, 3)
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)
        for bucket in buckets:
            bucket.take()

    def _text(self, params: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        raw = params.get("text")
        if not isinstance(raw, str) or not raw:
            raise ApiError(400, "Bad Request: message text is empty")
        mode = str(params.get("parse_mode") or "").lower()
        if mode == "html":
            try:
                text, entities = parse_html(raw)
            except EntityParseError as err:
                raise ApiError(400, f"Bad Request: can't parse entities: {err}") from None
        elif mode:
            raise ApiError(400, f"Bad Request: unsupported parse_mode {mode!r} in this fake")
        else:
            text, entities = raw, []
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _utf16(text) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        return text, entities

    def _markup(self, params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict) or "__invalid__" in markup:
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if not isinstance(rows, list):
            raise ApiError(
                400, 'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array'
            )
        for row in rows:
            for button in row:
                if not button.get("text"):
                    raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
                if "callback_data" in button:
                    size = len(str(button["callback_data"]).encode())
                    if not 1 <= size <= MAX_CALLBACK_DATA:
                        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                elif "url" in button:
                    if not _valid_url(str(button["url"])):
                        raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
                else:
                    raise ApiError(400, "Bad Request: inline keyboard button must have one optional field")
        return {"inline_keyboard": rows}

    def _message_json(
        self,
        chat: FakeChat,
        message_id: int,
        text: str,
        entities: list,
        markup: dict | None,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat.as_json(),
            "text": text,
        }
        if chat.type == "channel":
            message["sender_chat"] = chat.as_json()
        else:
            message["from"] = self.bot_user()
        if entities:
            message["entities"] = entities
        if markup:
            message["reply_markup"] = markup
        if reply_to is not None and reply_to in chat.messages:
            message["reply_to_message"] = {
                k: v for k, v in chat.messages[reply_to].items() if k != "reply_to_message"
            }
        return message

    # -- Bot API methods ----------------------------------------------------------------------
    async def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        return True

    async def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        return True

    async def _api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        allowed = params.get("allowed_updates")
        deadline = time.monotonic() + timeout
        while True:
            ready = [u for u in self._updates if not allowed or any(k in u for k in allowed)]
            if ready or time.monotonic() >= deadline or not self._serving:
                return ready[:limit]
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), deadline - time.monotonic())

    async def _api_getChatMember(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        user_id = int(params.get("user_id") or 0)
        if user_id == BOT_ID:
            status = "kicked" if chat.kicked else "administrator"
            return member_json(status, self.bot_user())
        if chat.owner == user_id:
            status = "creator"
        elif user_id in chat.admins:
            status = "administrator"
        else:
            status = "member"
        return member_json(status, user_json(user_id))

    async def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        self._check_sendable(chat)
        text, entities = self._text(params)
        markup = self._markup(params)
        self._rate(chat)
        if self.latency:
            await asyncio.sleep(self.latency)
        reply = params.get("reply_parameters") or {}
        reply_to = reply.get("message_id") if isinstance(reply, dict) else None
        message_id = self._next_message_id(chat.id)
        message = self._message_json(chat, message_id, text, entities, markup, reply_to)
        chat.messages[message_id] = message
        self.sent.append({**message, "html": params["text"]})
        return message

    async def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        self._check_sendable(chat)
        message_id = int(params.get("message_id") or 0)
        old = chat.messages.get(message_id)
        if old is None or old.get("from", {}).get("id", BOT_ID) != BOT_ID:
            raise ApiError(400, "Bad Request: message to edit not found")
        text, entities = self._text(params)
        markup = self._markup(params)
        if text == old["text"] and entities == old.get("entities", []) and markup == old.get("reply_markup"):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message",
            )
        self._rate(chat)
        message = self._message_json(chat, message_id, text, entities, markup)
        message["edit_date"] = int(time.time())
        chat.messages[message_id] = message
        self.edits.append({**message, "html": params["text"]})
        return message

    async def _api_sendChatAction(self, params: dict[str, Any]) -> bool:
        chat = self._chat(params)
        self._check_sendable(chat)
        if params.get("action") not in {"typing", "upload_document", "upload_photo", "choose_sticker"}:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        self.calls.append(f"chat_action:{chat.id}")
        return True

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_queries:
            raise ApiError(
                400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
            )
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        url = params.get("url")
        if url is not None and not re.fullmatch(
            rf"https://t\.me/{BOT_USERNAME}\?start=[A-Za-z0-9_-]{{1,64}}", url
        ):
            raise ApiError(400, "Bad Request: URL_INVALID")
        self._open_queries.discard(query_id)
        self.answers[query_id] = params
        return True

"""A small fake of Discord on 127.0.0.1: the REST API routes discord.py uses plus the gateway websocket.

Point discord.py at it with `discord.http.Route.BASE = fake.api_base_url` and
`DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)` (or the config keys
discord.api_base_url / discord.gateway_url). It checks what Discord checks and answers as Discord does
(400 with code 50035 for a bad message, 404/403 for missing/forbidden channels, 404 code 10062 for an
interaction acknowledged after 3 s, 429 with retry_after when asked to); every refusal is also kept in
`violations` so a test can assert there were none.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.server import serve_local

API_PREFIX = "/api/v10"

# Permission bits (https://discord.com/developers/docs/topics/permissions)
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_CHANNELS = 1 << 4
USE_APPLICATION_COMMANDS = 1 << 31
EMBED_LINKS = 1 << 14
MEMBER = VIEW_CHANNEL | SEND_MESSAGES | USE_APPLICATION_COMMANDS
BOT = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS  # what the README's invite link grants
MANAGER = MEMBER | MANAGE_CHANNELS

EPHEMERAL = 1 << 6
LOADING = 1 << 7
ACK_DEADLINE = 3.0

_ids = itertools.count(1_400_000_000_000_000_000)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # Exactly "application/json", as Discord sends it: discord.py compares the header literally.
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={**(headers or {}), "Content-Type": "application/json"},
    )


def snowflake() -> str:
    return str(next(_ids))


def _now() -> str:
    return datetime.now(UTC).isoformat()


# -- what Discord checks ------------------------------------------------------------------------------

_EMBED_LIMITS = {"title": 256, "description": 4096}
_COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")


def embed_chars(embed: dict) -> int:
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    for f in embed.get("fields") or []:
        total += len(f.get("name") or "") + len(f.get("value") or "")
    return total


def check_message(payload: dict) -> list[str]:
    """Discord's message limits; a non-empty list means Discord would answer 400 (50035)."""
    problems: list[str] = []
    content = payload.get("content") or ""
    embeds = payload.get("embeds") or []
    components = payload.get("components") or []
    if len(content) > 2000:
        problems.append(f"content longer than 2000 ({len(content)})")
    if not content and not embeds and not components and not payload.get("attachments"):
        problems.append("empty message")
    if len(embeds) > 10:
        problems.append(f"{len(embeds)} embeds (max 10)")
    total = 0
    for i, embed in enumerate(embeds):
        for key, limit in _EMBED_LIMITS.items():
            if len(embed.get(key) or "") > limit:
                problems.append(f"embed {i} {key} longer than {limit}")
        url = embed.get("url")
        if url is not None and not re.fullmatch(r"https?://\S+", url):
            problems.append(f"embed {i} url {url!r} is not a URL")
        fields = embed.get("fields") or []
        if len(fields) > 25:
            problems.append(f"embed {i} has {len(fields)} fields (max 25)")
        for j, f in enumerate(fields):
            name, value = f.get("name") or "", f.get("value") or ""
            if not name or len(name) > 256:
                problems.append(f"embed {i} field {j} name empty or longer than 256")
            if not value or len(value) > 1024:
                problems.append(f"embed {i} field {j} value empty or longer than 1024")
        if len((embed.get("footer") or {}).get("text") or "") > 2048:
            problems.append(f"embed {i} footer longer than 2048")
        if len((embed.get("author") or {}).get("name") or "") > 256:
            problems.append(f"embed {i} author name longer than 256")
        total += embed_chars(embed)
    if total > 6000:
        problems.append(f"embeds total {total} characters (max 6000)")
    if len(components) > 5:
        problems.append(f"{len(components)} action rows (max 5)")
    custom_ids: list[str] = []
    for row in components:
        children = row.get("components") or []
        if row.get("type") != 1:
            problems.append("top-level component is not an action row")
        if len(children) > 5:
            problems.append(f"action row with {len(children)} components (max 5)")
        if any(child.get("type") == 3 for child in children) and len(children) > 1:
            problems.append("a select menu must be alone in its action row")
        for child in children:
            if child.get("type") == 3:
                options = child.get("options") or []
                if not 1 <= len(options) <= 25:
                    problems.append(f"select menu with {len(options)} options (1-25)")
                for option in options:
                    if not 1 <= len(option.get("label") or "") <= 100:
                        problems.append("select option label empty or longer than 100")
                    if not 1 <= len(option.get("value") or "") <= 100:
                        problems.append("select option value empty or longer than 100")
                if len({o.get("value") for o in options}) != len(options):
                    problems.append("duplicate select option values")
                if len(child.get("placeholder") or "") > 150:
                    problems.append("select placeholder longer than 150")
            custom_id = child.get("custom_id")
            if child.get("type") == 2 and child.get("style") != 5 and not custom_id:
                problems.append("button without custom_id")
            if custom_id is not None:
                if len(custom_id) > 100:
                    problems.append(f"custom_id longer than 100 ({len(custom_id)})")
                custom_ids.append(custom_id)
            if len(child.get("label") or "") > 80:
                problems.append("button label longer than 80")
    if len(custom_ids) != len(set(custom_ids)):
        problems.append("duplicate custom_id in one message")
    return problems


def check_modal(data: dict) -> list[str]:
    """A MODAL interaction response (type 9), as Discord validates it."""
    problems: list[str] = []
    if not 1 <= len(data.get("custom_id") or "") <= 100:
        problems.append("modal custom_id empty or longer than 100")
    if not 1 <= len(data.get("title") or "") <= 45:
        problems.append("modal title empty or longer than 45")
    components = data.get("components") or []
    if not 1 <= len(components) <= 5:
        problems.append(f"modal with {len(components)} components (1 to 5)")
    inputs: list[dict] = []
    for component in components:
        kind = component.get("type")
        if kind == 1:  # the older form: an action row holding one text input, labelled itself
            children = component.get("components") or []
            if len(children) != 1 or children[0].get("type") != 4:
                problems.append("a modal action row must hold exactly one text input")
                continue
            if not 1 <= len(children[0].get("label") or "") <= 45:
                problems.append("text input label empty or longer than 45")
            inputs.append(children[0])
        elif kind == 18:  # a label component wrapping the text input
            if not 1 <= len(component.get("label") or "") <= 45:
                problems.append("label component text empty or longer than 45")
            child = component.get("component") or {}
            if child.get("type") != 4:
                problems.append("a label in this modal must wrap a text input")
                continue
            if child.get("label"):  # null, as discord.py sends it, is no label
                problems.append("a text input inside a label component cannot have its own label")
            inputs.append(child)
        elif kind != 10:
            problems.append(f"component type {kind!r} is not allowed in a modal")
    for field_ in inputs:
        if not 1 <= len(field_.get("custom_id") or "") <= 100:
            problems.append("text input custom_id empty or longer than 100")
        if field_.get("style") not in (1, 2):
            problems.append(f"text input style {field_.get('style')!r}")
        low, high = field_.get("min_length", 0), field_.get("max_length", 4000)
        if not (0 <= low <= 4000 and 1 <= high <= 4000 and low <= high):
            problems.append(f"text input lengths {low}..{high}")
        if len(field_.get("placeholder") or "") > 100:
            problems.append("text input placeholder longer than 100")
    ids = [f.get("custom_id") for f in inputs]
    if len(ids) != len(set(ids)):
        problems.append("duplicate custom_id in the modal")
    return problems


def modal_inputs(modal: dict) -> list[dict]:
    out = []
    for component in modal.get("components") or []:
        if component.get("type") == 1:
            out.extend(c for c in component.get("components") or [] if c.get("type") == 4)
        elif component.get("type") == 18 and (component.get("component") or {}).get("type") == 4:
            out.append(component["component"])
    return out


# -- state ----------------------------------------------------------------------------------------------


@dataclass
class Interaction:
    id: str
    token: str
    payload: dict
    created: float
    acked_at: float | None = None
    callback_type: int | None = None
    callback_flags: int = 0
    original: dict | None = None
    modal: dict | None = None  # the modal this interaction was answered with (type 9)
    followups: list[dict] = field(default_factory=list)  # message dicts, with "ephemeral": bool
    first_followup_done: bool = False

    @property
    def ack_seconds(self) -> float | None:
        return None if self.acked_at is None else self.acked_at - self.created

    def messages(self) -> list[dict]:
        """What the user sees, in order: the original response (unless only a loading state), then follow-ups."""
        out = []
        if self.original is not None and not (self.original.get("flags", 0) & LOADING):
            out.append(self.original)
        out.extend(self.followups)
        return out


class FakeDiscord:
    def __init__(self, token: str = "fake-discord-token") -> None:
        self.token = token
        self.application_id = snowflake()
        self.bot_user = {
            "id": self.application_id,
            "username": "arxiv-digest",
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
            "bot": True,
            "flags": 0,
            "public_flags": 0,
            "mfa_enabled": False,
            "verified": True,
        }
        self.guild_id = snowflake()
        self.guild_name = "Audio Lab"
        self.channels: dict[str, dict] = {}
        self.forbidden: set[str] = set()
        self.messages: dict[str, list[dict]] = {}
        self.commands: list[dict] = []
        self.command_puts = 0
        self.interactions: dict[str, Interaction] = {}
        self.violations: list[str] = []
        self.proxy_errors: dict[str, int] = {}  # path prefix (after /api/v10) -> status, e.g. "/webhooks"
        self.automod_words: set[str] = set()  # a server's AutoMod blocks channel posts holding these
        self.edits: list[dict] = []  # channel message edits: channel_id, message_id, payload
        self.requests: list[tuple[str, str]] = []
        self.identified = 0
        self.app_permissions = BOT  # the bot's permissions in every channel, as interactions report them
        self.rate_limit_posts = 0  # answer this many channel posts with 429 first
        self.retry_after = 0.3
        self.rate_limited = 0
        self._sockets: list[web.WebSocketResponse] = []
        self._seq = 0
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._changed = asyncio.Event()

    # -- set-up -------------------------------------------------------------------------------------
    def add_channel(self, name: str, *, forbidden: bool = False) -> str:
        channel_id = snowflake()
        self.channels[channel_id] = {
            "id": channel_id,
            "type": 0,
            "guild_id": self.guild_id,
            "name": name,
            "position": len(self.channels),
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
        }
        self.messages[channel_id] = []
        if forbidden:
            self.forbidden.add(channel_id)
        return channel_id

    @property
    def api_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    async def start(self) -> FakeDiscord:
        app = web.Application(middlewares=[self._middleware])
        r = app.router
        p = API_PREFIX
        r.add_get("/gateway", self._gateway)
        r.add_get(p + "/users/@me", self._me)
        r.add_get(p + "/oauth2/applications/@me", self._application)
        r.add_get(p + "/applications/@me", self._application)
        r.add_get(p + "/gateway", self._gateway_info)
        r.add_get(p + "/gateway/bot", self._gateway_info)
        r.add_get(p + "/applications/{app}/commands", self._list_commands)
        r.add_put(p + "/applications/{app}/commands", self._put_commands)
        r.add_post(p + "/interactions/{id}/{token}/callback", self._callback)
        r.add_post(p + "/webhooks/{app}/{token}", self._followup)
        r.add_get(p + "/webhooks/{app}/{token}/messages/{mid}", self._get_webhook_message)
        r.add_patch(p + "/webhooks/{app}/{token}/messages/{mid}", self._edit_webhook_message)
        r.add_delete(p + "/webhooks/{app}/{token}/messages/{mid}", self._delete_webhook_message)
        r.add_get(p + "/channels/{cid}", self._get_channel)
        r.add_post(p + "/channels/{cid}/messages", self._post_message)
        r.add_get(p + "/channels/{cid}/messages", self._list_messages)
        r.add_patch(p + "/channels/{cid}/messages/{mid}", self._edit_message)
        self._runner, self.port = await serve_local(app)
        return self

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def close_gateways(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        self._sockets.clear()

    # -- helpers --------------------------------------------------------------------------------------
    def _touch(self) -> None:
        self._changed.set()

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until predicate() is truthy (checked whenever the fake's state changes)."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("fake Discord: condition not met in time")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.2))

    def _error(self, status: int, code: int, message: str, violation: str | None = None) -> web.Response:
        if violation:
            self.violations.append(violation)
        self._touch()
        return _json({"code": code, "message": message}, status=status)

    def _message(self, channel_id: str, payload: dict, flags: int = 0, webhook_id: str | None = None) -> dict:
        message = {
            "id": snowflake(),
            "channel_id": channel_id,
            "guild_id": self.guild_id,
            "type": 0,
            "content": payload.get("content") or "",
            "author": self.bot_user,
            "attachments": [],
            "embeds": payload.get("embeds") or [],
            "components": payload.get("components") or [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": _now(),
            "edited_timestamp": None,
            "flags": flags | int(payload.get("flags") or 0),
            "allowed_mentions": payload.get("allowed_mentions"),
        }
        if webhook_id:
            message["webhook_id"] = webhook_id
            message["application_id"] = self.application_id
        return message

    @staticmethod
    async def _payload(request: web.Request) -> dict:
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            raw = form.get("payload_json")
            return json.loads(raw) if isinstance(raw, str) else {}
        if not request.can_read_body:
            return {}
        return await request.json()

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        for prefix, status in self.proxy_errors.items():
            if request.method != "GET" and request.path.startswith(API_PREFIX + prefix):
                # A proxy refusing the call with a page that echoes the request line and headers
                # (the bot token in Authorization, an interaction token in a webhook path).
                headers = "; ".join(f"{k}: {v}" for k, v in request.headers.items())
                self._touch()
                return web.Response(
                    text=f"{status} denied by proxy: {request.method} {request.path} ({headers})",
                    status=status,
                    content_type="text/plain",
                )
        needs_auth = request.path.startswith(API_PREFIX) and not (
            request.path.startswith(API_PREFIX + "/interactions/")
            or request.path.startswith(API_PREFIX + "/webhooks/")
        )
        if needs_auth and request.headers.get("Authorization") != f"Bot {self.token}":
            return self._error(401, 0, "401: Unauthorized", f"unauthorized {request.method} {request.path}")
        return await handler(request)

    # -- REST -------------------------------------------------------------------------------------------
    async def _me(self, request: web.Request) -> web.Response:
        return _json(self.bot_user)

    async def _application(self, request: web.Request) -> web.Response:
        return _json(
            {
                "id": self.application_id,
                "name": "arxiv-digest",
                "icon": None,
                "description": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": {**self.bot_user, "id": snowflake(), "bot": False, "username": "owner"},
                "verify_key": "0" * 64,
                "team": None,
                "flags": 0,
                "interactions_endpoint_url": None,
                "summary": "",
            }
        )

    async def _gateway_info(self, request: web.Request) -> web.Response:
        return _json(
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    async def _list_commands(self, request: web.Request) -> web.Response:
        return _json(self.commands)

    async def _put_commands(self, request: web.Request) -> web.Response:
        if request.match_info["app"] != self.application_id:
            return self._error(403, 50001, "Missing Access", "commands put for another application")
        payload = await self._payload(request)
        problems = []
        for command in payload:
            if not _COMMAND_NAME.match(command.get("name", "")) or command["name"] != command["name"].lower():
                problems.append(f"bad command name {command.get('name')!r}")
            if not 1 <= len(command.get("description", "")) <= 100:
                problems.append(f"bad description of {command.get('name')!r}")
            if len(command.get("options") or []) > 25:
                problems.append(f"{command.get('name')!r} has more than 25 options")
        if problems:
            return self._error(400, 50035, "Invalid Form Body", "; ".join(problems))
        self.command_puts += 1
        self.commands = [
            {
                **command,
                "id": snowflake(),
                "application_id": self.application_id,
                "version": snowflake(),
                "type": command.get("type", 1),
                "default_member_permissions": command.get("default_member_permissions"),
                "dm_permission": command.get("dm_permission", True),
                "nsfw": command.get("nsfw", False),
            }
            for command in payload
        ]
        self._touch()
        return _json(self.commands)

    async def _callback(self, request: web.Request) -> web.Response:
        record = self.interactions.get(request.match_info["id"])
        if record is None or record.token != request.match_info["token"]:
            return self._error(404, 10062, "Unknown interaction", "callback for an unknown interaction")
        now = time.monotonic()
        if record.acked_at is not None:
            return self._error(
                400,
                40060,
                "Interaction has already been acknowledged.",
                f"interaction {record.id} acked twice",
            )
        if now - record.created > ACK_DEADLINE:
            return self._error(
                404,
                10062,
                "Unknown interaction",
                f"interaction {record.id} acked after {now - record.created:.2f}s",
            )
        payload = await self._payload(request)
        kind = payload.get("type")
        data = payload.get("data") or {}
        flags = int(data.get("flags") or 0)
        if kind in (4, 7):
            problems = check_message(data)
            if problems:
                return self._error(400, 50035, "Invalid Form Body", "; ".join(problems))
        elif kind == 9:
            # A modal answers a command or a component only (not a modal submit), and only at once.
            problems = check_modal(data)
            if record.payload["type"] not in (2, 3):
                problems.append(f"a modal cannot answer an interaction of type {record.payload['type']}")
            if problems:
                return self._error(400, 50035, "Invalid Form Body", "; ".join(problems))
            record.modal = data
        elif kind not in (1, 5, 6):
            return self._error(400, 50035, "Invalid Form Body", f"bad callback type {kind!r}")
        record.acked_at = now
        record.callback_type = kind
        record.callback_flags = flags
        channel_id = record.payload.get("channel_id", "")
        resource: dict[str, Any] = {"type": kind}
        if kind == 4:
            record.original = self._message(channel_id, data, flags, webhook_id=self.application_id)
            record.original["ephemeral"] = bool(flags & EPHEMERAL)
            resource["message"] = record.original
        elif kind == 5:
            record.original = self._message(channel_id, {}, flags | LOADING, webhook_id=self.application_id)
            record.original["ephemeral"] = bool(flags & EPHEMERAL)
            resource["message"] = record.original
        self._touch()
        body = {
            "interaction": {
                "id": record.id,
                "type": record.payload["type"],
                "response_message_id": record.original["id"] if record.original else None,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(flags & EPHEMERAL),
            },
            "resource": resource,
        }
        return _json(body)

    def _by_token(self, request: web.Request) -> Interaction | None:
        if request.match_info["app"] != self.application_id:
            return None
        token = request.match_info["token"]
        return next((i for i in self.interactions.values() if i.token == token), None)

    async def _followup(self, request: web.Request) -> web.Response:
        record = self._by_token(request)
        if record is None or record.acked_at is None:
            return self._error(404, 10015, "Unknown Webhook", "follow-up without an acknowledged interaction")
        payload = await self._payload(request)
        problems = check_message(payload)
        if problems:
            return self._error(400, 50035, "Invalid Form Body", "; ".join(problems))
        flags = int(payload.get("flags") or 0)
        channel_id = record.payload.get("channel_id", "")
        if record.callback_type == 5 and not record.first_followup_done and record.original is not None:
            # The first follow-up after a deferred response replaces the 'thinking' message and keeps its
            # visibility (Discord's documented behaviour).
            ephemeral = bool(record.callback_flags & EPHEMERAL)
            message = self._message(channel_id, payload, flags, webhook_id=self.application_id)
            message["id"] = record.original["id"]
            message["ephemeral"] = ephemeral
            record.original = None
        else:
            message = self._message(channel_id, payload, flags, webhook_id=self.application_id)
            message["ephemeral"] = bool(flags & EPHEMERAL)
        record.first_followup_done = True
        record.followups.append(message)
        self._touch()
        return _json(message)

    async def _get_webhook_message(self, request: web.Request) -> web.Response:
        record = self._by_token(request)
        if record is None:
            return self._error(404, 10015, "Unknown Webhook")
        for message in record.messages() + ([record.original] if record.original else []):
            if request.match_info["mid"] in ("@original", message["id"]):
                return _json(message)
        return self._error(404, 10008, "Unknown Message")

    async def _edit_webhook_message(self, request: web.Request) -> web.Response:
        record = self._by_token(request)
        if record is None:
            return self._error(404, 10015, "Unknown Webhook")
        payload = await self._payload(request)
        problems = check_message({**payload, "content": payload.get("content") or "x"})
        if problems:
            return self._error(400, 50035, "Invalid Form Body", "; ".join(problems))
        target = record.original
        if request.match_info["mid"] != "@original":
            target = next((m for m in record.followups if m["id"] == request.match_info["mid"]), None)
        if target is None:
            return self._error(404, 10008, "Unknown Message")
        for key in ("content", "embeds", "components"):
            if key in payload:
                target[key] = payload[key]
        target["flags"] = target.get("flags", 0) & ~LOADING
        self._touch()
        return _json(target)

    async def _delete_webhook_message(self, request: web.Request) -> web.Response:
        return web.Response(status=204)

    def _channel_error(self, channel_id: str) -> web.Response | None:
        if channel_id not in self.channels:
            return self._error(404, 10003, "Unknown Channel")
        if channel_id in self.forbidden:
            return self._error(403, 50001, "Missing Access")
        return None

    async def _get_channel(self, request: web.Request) -> web.Response:
        channel_id = request.match_info["cid"]
        return self._channel_error(channel_id) or _json(self.channels[channel_id])

    async def _list_messages(self, request: web.Request) -> web.Response:
        channel_id = request.match_info["cid"]
        return self._channel_error(channel_id) or _json(self.messages[channel_id][::-1])

    async def _post_message(self, request: web.Request) -> web.Response:
        channel_id = request.match_info["cid"]
        refused = self._channel_error(channel_id)
        if refused is not None:
            return refused
        if self.rate_limit_posts > 0:
            self.rate_limit_posts -= 1
            self.rate_limited += 1
            headers = {
                "Via": "1.1 google",  # discord.py treats a 429 without it as a Cloudflare ban
                "Retry-After": str(self.retry_after),
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset-After": str(self.retry_after),
                "X-RateLimit-Bucket": "fake-channel-bucket",
                "X-RateLimit-Scope": "user",
            }
            body = {
                "message": "You are being rate limited.",
                "retry_after": self.retry_after,
                "global": False,
            }
            return _json(body, status=429, headers=headers)
        payload = await self._payload(request)
        problems = check_message(payload)
        if problems:
            return self._error(400, 50035, "Invalid Form Body", "; ".join(problems))
        text = json.dumps(payload, ensure_ascii=False)
        if any(word in text for word in self.automod_words):
            self._touch()
            return _json({"code": 200000, "message": "Message was blocked by AutoMod"}, status=400)
        message = self._message(channel_id, payload)
        self.messages[channel_id].append(message)
        self._touch()
        return _json(message)

    async def _edit_message(self, request: web.Request) -> web.Response:
        """PATCH a channel message as Discord does: only the bot's own, only what the payload names,
        checked against the same limits as a new message."""
        channel_id = request.match_info["cid"]
        refused = self._channel_error(channel_id)
        if refused is not None:
            return refused
        target = next((m for m in self.messages[channel_id] if m["id"] == request.match_info["mid"]), None)
        if target is None:
            return self._error(404, 10008, "Unknown Message")
        if target["author"]["id"] != self.bot_user["id"]:
            return self._error(403, 50005, "Cannot edit a message authored by another user")
        payload = await self._payload(request)
        merged = {key: payload.get(key, target.get(key)) for key in ("content", "embeds", "components")}
        problems = check_message(merged)
        if problems:
            return self._error(400, 50035, "Invalid Form Body", "; ".join(problems))
        if any(word in json.dumps(payload, ensure_ascii=False) for word in self.automod_words):
            self._touch()
            return _json({"code": 200000, "message": "Message was blocked by AutoMod"}, status=400)
        for key in ("content", "embeds", "components"):
            if key in payload:
                target[key] = payload[key] if payload[key] is not None else ([] if key != "content" else "")
        target["edited_timestamp"] = _now()
        self.edits.append({"channel_id": channel_id, "message_id": target["id"], "payload": payload})
        self._touch()
        return _json(target)

    # -- gateway ------------------------------------------------------------------------------------------
    def _guild_payload(self) -> dict:
        return {
            "id": self.guild_id,
            "name": self.guild_name,
            "icon": None,
            "owner_id": snowflake(),
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "system_channel_flags": 0,
            "features": [],
            "roles": [
                {
                    "id": self.guild_id,
                    "name": "@everyone",
                    "permissions": str(MEMBER),
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                }
            ],
            "emojis": [],
            "stickers": [],
            "channels": list(self.channels.values()),
            "threads": [],
            "members": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "member_count": 3,
            "large": False,
            "unavailable": False,
            "joined_at": _now(),
        }

    async def _send_event(self, ws: web.WebSocketResponse, name: str, data: dict) -> None:
        self._seq += 1
        await ws.send_json({"op": 0, "t": name, "s": self._seq, "d": data})

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                op = data.get("op")
                if op == 1:
                    await ws.send_json({"op": 11, "d": None, "s": None, "t": None})
                elif op == 2:
                    if data["d"].get("token") != self.token:
                        await ws.close(code=4004, message=b"Authentication failed.")
                        break
                    self.identified += 1
                    await self._send_event(
                        ws,
                        "READY",
                        {
                            "v": 10,
                            "user": self.bot_user,
                            "guilds": [{"id": self.guild_id, "unavailable": True}],
                            "session_id": f"session-{self.identified}",
                            "resume_gateway_url": self.gateway_url,
                            "application": {"id": self.application_id, "flags": 0},
                            "shard": [0, 1],
                        },
                    )
                    await self._send_event(ws, "GUILD_CREATE", self._guild_payload())
                    self._touch()
                elif op == 6:  # RESUME: this fake keeps no sessions, so ask for a fresh IDENTIFY
                    await ws.send_json({"op": 9, "d": False, "s": None, "t": None})
        finally:
            if ws in self._sockets:
                self._sockets.remove(ws)
            self._touch()
        return ws

    @property
    def connected(self) -> bool:
        return bool(self._sockets) and self.identified > 0

    # -- interactions ------------------------------------------------------------------------------------
    def _member(self, permissions: int, user_id: str | None = None) -> dict:
        return {
            "user": {
                "id": user_id or snowflake(),
                "username": "reader",
                "discriminator": "0",
                "global_name": "Reader",
                "avatar": None,
                "public_flags": 0,
            },
            "roles": [],
            "joined_at": _now(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "nick": None,
            "avatar": None,
            "premium_since": None,
            "communication_disabled_until": None,
            "permissions": str(permissions),
        }

    async def _dispatch_interaction(self, payload: dict) -> Interaction:
        if not self._sockets:
            raise RuntimeError("no gateway connection to push the interaction to")
        record = Interaction(
            id=payload["id"], token=payload["token"], payload=payload, created=time.monotonic()
        )
        self.interactions[record.id] = record
        for ws in list(self._sockets):
            await self._send_event(ws, "INTERACTION_CREATE", payload)
        return record

    def _base_interaction(self, kind: int, channel_id: str, permissions: int) -> dict:
        channel = self.channels[channel_id]
        return {
            "id": snowflake(),
            "application_id": self.application_id,
            "type": kind,
            "token": "itoken-" + snowflake(),
            "version": 1,
            "guild_id": self.guild_id,
            "guild": {"id": self.guild_id, "locale": "en-US", "features": []},
            "channel_id": channel_id,
            "channel": {**channel, "permissions": str(permissions)},
            "member": self._member(permissions),
            "app_permissions": str(self.app_permissions),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": self.guild_id},
            "context": 0,
            "attachment_size_limit": 10485760,
        }

    async def slash(
        self, channel_id: str, *path: str, permissions: int = MEMBER, **options: str | int
    ) -> Interaction:
        """Invoke a registered slash command, e.g. slash(ch, "digest", "date", day="2026-02-18"); an int
        value is sent as an INTEGER option (type 4), a str as a STRING one (type 3)."""
        root = next((c for c in self.commands if c["name"] == path[0]), None)
        if root is None:
            raise LookupError(f"/{path[0]} is not registered")
        opts = [{"type": 4 if isinstance(v, int) else 3, "name": k, "value": v} for k, v in options.items()]
        for name in reversed(path[1:]):
            opts = [{"type": 1, "name": name, "options": opts}]
        payload = self._base_interaction(2, channel_id, permissions)
        payload["data"] = {"id": root["id"], "name": root["name"], "type": 1, "options": opts}
        return await self._dispatch_interaction(payload)

    async def press(
        self,
        message: dict,
        custom_id: str,
        permissions: int = MEMBER,
        channel_id: str | None = None,
        user_id: str | None = None,
    ) -> Interaction:
        """Press a button (any custom_id, so forged ones too) on a message; by a new member unless
        `user_id` names one."""
        channel_id = channel_id or message["channel_id"]
        payload = self._base_interaction(3, channel_id, permissions)
        if user_id is not None:
            payload["member"] = self._member(permissions, user_id)
        payload["message"] = {k: v for k, v in message.items() if k != "ephemeral"}
        payload["data"] = {"custom_id": custom_id, "component_type": 2}
        return await self._dispatch_interaction(payload)

    async def submit_modal(self, opened: Interaction, values: dict[str, str]) -> Interaction:
        """The member who got `opened`'s modal fills it in and submits it: a MODAL_SUBMIT interaction
        (type 5) from the same member, carrying each text input's value. Discord's client enforces the
        inputs' required flag and lengths, so values breaking them are refused here, not sent."""
        modal = opened.modal
        if modal is None:
            raise LookupError("that interaction was not answered with a modal")
        rows = []
        for field_ in modal_inputs(modal):
            value = values.get(field_["custom_id"], "")
            if field_.get("required", True) and not value:
                raise ValueError(f"{field_['custom_id']} is required")
            if value and not field_.get("min_length", 0) <= len(value) <= field_.get("max_length", 4000):
                raise ValueError(f"{field_['custom_id']} is outside {field_.get('min_length', 0)}..")
            text_input = {"type": 4, "custom_id": field_["custom_id"], "value": value}
            rows.append(
                {"type": 18, "component": text_input}
                if not field_.get("label")
                else {"type": 1, "components": [text_input]}
            )
        source = opened.payload
        payload = self._base_interaction(5, source["channel_id"], int(source["member"]["permissions"]))
        payload["member"] = source["member"]
        if "message" in source:
            payload["message"] = source["message"]
        payload["data"] = {"custom_id": modal["custom_id"], "components": rows}
        return await self._dispatch_interaction(payload)

    async def choose(
        self, message: dict, custom_id: str, value: str, permissions: int = MEMBER
    ) -> Interaction:
        """Choose an option (any value, so forged ones too) of a select menu on a message."""
        payload = self._base_interaction(3, message["channel_id"], permissions)
        payload["message"] = {k: v for k, v in message.items() if k != "ephemeral"}
        payload["data"] = {"custom_id": custom_id, "component_type": 3, "values": [value]}
        return await self._dispatch_interaction(payload)


def selects(message: dict) -> list[dict]:
    return [
        c
        for row in message.get("components") or []
        for c in row.get("components") or []
        if c.get("type") == 3
    ]


def buttons(message: dict) -> list[dict]:
    return [c for row in message.get("components") or [] for c in row.get("components") or []]

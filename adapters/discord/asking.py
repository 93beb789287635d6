"""Ask a paper and search the papers, on Discord: the card's Ask button, its modal, the ephemeral answer,
and the `/digest search` results. Discord's side of digest/questions.py and digest/search.py.

The Ask button is a DynamicItem like the breakdown button: the paper id is in its custom_id, so cards of
any day work after a restart. Pressing it answers with a modal (interaction response type 9) holding one
paragraph text input capped at `limits.question_max_chars`; Discord allows a modal only as the first
answer to a button or command, so nothing is deferred before it. The submission (a MODAL_SUBMIT
interaction) is deferred as ephemeral at once, since the LLM takes longer than Discord's 3 seconds, and
the answer follows as an ephemeral embed: only the asker sees it. A member's questions on one paper form
one thread, so asking again keeps the last turns.

The submission is answered from what it carries, not from the modal object discord.py keeps: that store
is keyed by custom_id alone (two members asking the same paper would share one entry, and the second
submission found none) and is empty after a restart. Its `message` is the card the Ask button was on,
as Discord sends it, so a submission naming a paper that card does not ask about is refused.

Everything shown comes from outside (the question, the LLM's answer written from a hostile paper): it is
cleaned, defused (no mentions, no masked links) and cut to Discord's limits by `render`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any, Protocol, cast

import discord

from adapters.discord import render
from digest.ports import DigestSource
from digest.questions import Answer, QuestionService, mark_unverified
from digest.search import SearchHit

log = logging.getLogger(__name__)

PLATFORM = "discord"
NO_MENTIONS = discord.AllowedMentions.none()
MODAL_TITLE_MAX = 45
LABEL_MAX = 45
# Within an embed's 4096 and, with the title (256) and the fields below, a message's 6000 in all.
ANSWER_MAX = 3500
QUESTION_SHOWN = 600
LIST_SHOWN = 400
QUESTION_FIELD = "question"

Search = Callable[[str], list[SearchHit]]


class AskHost(Protocol):
    """What the Ask button needs of the bot (adapters.discord.app.DigestBot)."""

    questions: QuestionService | None
    service: DigestSource
    max_question_chars: int

    def text(self, key: str, **values: Any) -> str: ...


# -- rendering ------------------------------------------------------------------------------------


def answer_embed(answer: Answer, question: str, texts: Callable[..., str]) -> discord.Embed:
    """The ephemeral answer: the paper as title, the answer, the question, the sections it used and the
    numbers the paper does not hold."""
    paper = answer.paper
    assert paper is not None
    title = render.cut(render.escape(render.one_line(paper.title)) or paper.versioned_id, render.TITLE_MAX)
    if answer.status == "ok":
        body = render.defuse(render.clean(mark_unverified(answer.text, answer.unverified)))
    else:
        body = texts("not_said")
    embed = discord.Embed(
        title=title,
        url=render._safe_url(paper.abs_url),
        description=render.cut(body, ANSWER_MAX) or "—",
        color=render.COLOR,
    )
    embed.add_field(
        name=texts("question"),
        value=render.cut(render.escape(render.one_line(question)), QUESTION_SHOWN) or "—",
        inline=False,
    )
    if answer.sections:
        value = " · ".join(render.escape(render.one_line(s)) for s in answer.sections)
        embed.add_field(name=texts("sections_used"), value=render.cut(value, LIST_SHOWN), inline=False)
    if answer.unverified:
        numbers = ", ".join(render.escape(n) for n in answer.unverified)
        embed.add_field(
            name=texts("unverified"),
            value=render.cut(texts("unverified_value", numbers=numbers), LIST_SHOWN),
            inline=False,
        )
    embed.set_footer(text=f"arXiv:{paper.versioned_id}")
    return embed


def _link_text(text: str) -> str:
    # escape_markdown leaves ']' alone, and a title holding '](https://…)' would end the link early.
    return render.escape(render.one_line(text)).replace("]", "\\]")


def search_message(hits: list[SearchHit], query: str, texts: Callable[..., str]) -> render.OutMessage:
    """Compact lines (number, date, title linked to arXiv) and one breakdown button per result."""
    lines = []
    buttons = []
    for number, hit in enumerate(hits, start=1):
        url = render._safe_url(hit.abs_url)
        title = render.cut(_link_text(hit.title), 200)
        shown = f"[{title}]({url})" if url else title
        lines.append(f"`{number}.` {hit.day} · {shown}")
        custom_id = render.BREAKDOWN_PREFIX + hit.versioned_id
        if len(custom_id) <= render.CUSTOM_ID_MAX and re.fullmatch(render.BREAKDOWN_TEMPLATE, custom_id):
            buttons.append(render.Button(label=f"📖 {number}", custom_id=custom_id))
    embed = discord.Embed(
        title=render.cut(
            texts("search_title", query=render.escape(render.one_line(query))), render.TITLE_MAX
        ),
        description=render.cut("\n".join(lines), render.DESCRIPTION_MAX),
        color=render.COLOR,
    )
    embed.set_footer(text=texts("search_footer", count=len(hits)))
    return render.OutMessage(parts=[], embeds=[embed], buttons=buttons[: render.BUTTONS_PER_MESSAGE])


# -- the button and its modal -------------------------------------------------------------------


class AskModal(discord.ui.Modal):
    """One paragraph field. Kept in discord.py's modal store until submitted or timed out."""

    def __init__(self, paper_id: str, host: AskHost) -> None:
        super().__init__(
            title=host.text("ask_title")[:MODAL_TITLE_MAX],
            custom_id=render.ASK_MODAL_PREFIX + paper_id,
            timeout=30 * 60,
        )
        self.paper_id = paper_id
        self.question: discord.ui.TextInput[AskModal] = discord.ui.TextInput(
            style=discord.TextStyle.paragraph,
            custom_id=QUESTION_FIELD,
            placeholder=host.text("ask_placeholder")[:100],
            min_length=1,
            max_length=host.max_question_chars,
            required=True,
        )
        self.add_item(discord.ui.Label(text=host.text("ask_label")[:LABEL_MAX], component=self.question))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Nothing: `answer_submission` answers every submission (see the module's docstring)."""


class AskButton(discord.ui.DynamicItem[discord.ui.Button], template=render.ASK_TEMPLATE):
    def __init__(self, paper_id: str, label: str | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=(label or "Ask")[:80],
                style=discord.ButtonStyle.secondary,
                custom_id=render.ASK_PREFIX + paper_id,
            )
        )
        self.paper_id = paper_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> AskButton:
        label = item.label if isinstance(item, discord.ui.Button) else None
        return cls(match["paper_id"], label)

    async def callback(self, interaction: discord.Interaction) -> None:
        host = cast(AskHost, interaction.client)
        if host.questions is None:
            await _say(interaction, host.text("ask_no_llm"))
            return
        if host.questions.per_day <= 0:  # asking switched off: say so before the member types a question
            await _say(interaction, host.text("ask_off"))
            return
        if host.service.breakdown(self.paper_id) is None:
            await _say(interaction, host.text("unknown_button"))
            return
        await interaction.response.send_modal(AskModal(self.paper_id, host))


async def _say(interaction: discord.Interaction, message: str) -> None:
    message = render.cut(render.one_line(message), 2000)
    if interaction.response.is_done():
        await interaction.followup.send(message, ephemeral=True, allowed_mentions=NO_MENTIONS)
    else:
        await interaction.response.send_message(message, ephemeral=True, allowed_mentions=NO_MENTIONS)


ASK_MODAL = re.compile(re.escape(render.ASK_MODAL_PREFIX) + r"(?P<paper_id>[A-Za-z0-9./-]{1,80})")


def submitted_text(data: dict[str, Any], custom_id: str) -> str:
    """The value of the text input `custom_id` in a MODAL_SUBMIT's data (a label component wrapping it,
    or the older action row)."""
    for component in data.get("components") or []:
        if not isinstance(component, dict):
            continue
        inner = [component.get("component"), *(component.get("components") or [])]
        for child in inner:
            if isinstance(child, dict) and child.get("custom_id") == custom_id:
                return str(child.get("value") or "")
    return ""


def _asks_about(message: discord.Message | None, paper_id: str) -> bool:
    wanted = render.ASK_PREFIX + paper_id
    stack: list[Any] = list(message.components) if message is not None else []
    while stack:
        component = stack.pop()
        if getattr(component, "custom_id", None) == wanted:
            return True
        stack.extend(getattr(component, "children", []) or [])
    return False


async def answer_submission(host: AskHost, interaction: discord.Interaction) -> bool:
    """Answer an Ask modal's submission; False if the interaction is not one (someone else's modal)."""
    data: dict[str, Any] = dict(interaction.data or {})
    match = ASK_MODAL.fullmatch(str(data.get("custom_id", "")))
    if match is None:
        return False
    paper_id = match["paper_id"]
    if not _asks_about(interaction.message, paper_id):
        log.info("discord: a question on %r from a message without its Ask button; refused", paper_id)
        await _say(interaction, host.text("unknown_button"))
        return True
    try:
        await answer_question(host, interaction, paper_id, submitted_text(data, QUESTION_FIELD))
    except Exception:  # the member gets a short note either way; the log gets the reason
        log.exception("discord: question on %s failed", paper_id)
        await _say(interaction, host.text("ask_failed"))
    return True


async def answer_question(
    host: AskHost, interaction: discord.Interaction, paper_id: str, question: str
) -> None:
    questions = host.questions
    if questions is None:
        await _say(interaction, host.text("ask_no_llm"))
        return
    await interaction.response.defer(ephemeral=True, thinking=True)
    user = str(interaction.user.id)
    answer = await questions.ask(PLATFORM, user, paper_id, question, thread=f"{PLATFORM}:{user}:{paper_id}")
    if answer.status in ("ok", "not_said"):
        embed = answer_embed(answer, question, host.text)
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)
        return
    key = {
        "limit": "ask_limit",
        "too_long": "ask_too_long",
        "empty": "ask_empty",
        "off": "ask_off",
        "gone": "unknown_button",
    }.get(answer.status, "ask_failed")
    limit = answer.limit or questions.per_day
    await _say(interaction, host.text(key, limit=limit))

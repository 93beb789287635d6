"""Ask a paper: a reader's question answered from that paper's full text, with the sections it used.

What comes in, and why each rule exists:
- The question is hostile input (any length, any text, instructions to the model); it is trimmed,
  capped at `limits.question_max_chars` and only ever sent as data. The paper text is hostile too
  (prompt injection hides in PDFs): the instructions say so, and every adapter escapes the answer.
- The text is the paper's full text as the breakdown reads it (arXiv HTML, else PDF, cached in the
  database by the full-text fetcher, so a paper is downloaded once for all its questions), trimmed to
  `llm.paper_token_budget`; the abstract when there is none.
- Readers have learnt to distrust chat-with-paper tools that cite sections or papers that do not exist,
  so the sections the LLM names are kept only when they are headings of the text it was given, and every
  number of the answer is checked against that text (digest/numbers.py); what is not found is returned
  as `unverified` for the adapters to mark. When the LLM says the text does not answer, the reader gets
  "the paper does not say" in the digest's language rather than the LLM's guess.
- Each question is one LLM request, counted against `limits.questions_per_user_per_day` per platform
  user and the configured timezone's day, and recorded with its tokens in the `questions` table, which
  is also where a follow-up finds the last few turns of its thread.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo

import openai
from openai import AsyncOpenAI

from digest.budget import trim_to_budget
from digest.latexml import section_title
from digest.models import FullText, Paper, split_version
from digest.numbers import unsupported_numbers
from digest.store import Store
from digest.summarize import without_lone_surrogates

log = logging.getLogger(__name__)

MAX_TURNS = 3  # earlier question/answer pairs a follow-up keeps as context
MAX_SECTIONS = 5
ANSWER_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "paper_answer",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {
                "answer": {"type": "string"},
                "sections": {"type": "array", "items": {"type": "string"}},
                "answered": {"type": "boolean"},
            },
            "required": ["answer", "sections", "answered"],
            "additionalProperties": False,
        },
    },
}
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)
_HEADING = re.compile(r"^## (.+?)\s*$", re.MULTILINE)
_NUMBERED = re.compile(r"^(?:[A-Z](?:\.\d+)+\.?|[A-Z]\.|[IVX]+\.|\d+(?:\.\d+)*\.?)\s")
_CITED = re.compile(r"§\s*((?:[A-Z]|[IVX]+|\d+)(?:\.\d+)*)")
_NOT_SAID = re.compile(
    r"does not say|doesn't say|does not (?:mention|state|report)|没有提到|未提及|没有说明", re.I
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


class FullTextSource(Protocol):
    async def fetch_async(self, paper: Paper) -> FullText: ...


@dataclass(frozen=True)
class Answer:
    """What a question got. status: ok | not_said (the paper does not say) | limit (daily limit reached) |
    too_long | empty | gone (unknown paper) | off (asking is switched off) | failed (the LLM failed)."""

    status: str
    paper: Paper | None = None
    text: str = ""  # Markdown from the LLM (status ok)
    sections: tuple[str, ...] = ()  # "§4 Experiments", only headings of the text it was given
    unverified: tuple[str, ...] = ()  # numbers of the answer the text does not hold
    thread: str | None = None
    limit: int = 0  # the daily limit, for the note


def clean_question(text: str) -> str:
    return re.sub(r"[ \t]+", " ", _CONTROL.sub("", text or "")).strip()


def section_label(title: str) -> str:
    """'4 Experiments' -> '§4 Experiments'; an unnumbered heading ('Abstract') stays as it is."""
    title = " ".join(title.split())
    return f"§{title}" if _NUMBERED.match(title + " ") else title


def _norm(text: str) -> str:
    return " ".join(text.replace("§", " ").lower().split()).rstrip(".")


def check_sections(cited: list[Any], headings: list[str]) -> tuple[str, ...]:
    """The cited sections that are headings of the text, as their labels; others (invented) are dropped.
    '§4', '4' and 'Experiments' all name '§4 Experiments'."""
    labels = [section_label(h) for h in headings]
    by_norm = {_norm(label): label for label in labels}
    kept: list[str] = []
    for item in cited:
        if not isinstance(item, str) or not item.strip():
            continue
        wanted = _norm(item)
        label = by_norm.get(wanted)
        if label is None:
            for candidate in labels:
                plain = candidate.removeprefix("§")
                number = plain.split(" ", 1)[0].rstrip(".") if _NUMBERED.match(plain + " ") else None
                if wanted == _norm(section_title(plain)) or (number and wanted == number.lower()):
                    label = candidate
                    break
        if label is not None and label not in kept:
            kept.append(label)
    return tuple(kept[:MAX_SECTIONS])


def parse_answer(content: str | None) -> tuple[str, list[Any], bool]:
    """(answer, cited sections, answered); ValueError when the reply is unusable.

    Some local servers ignore the JSON schema and reply in prose: prose is taken as the answer, with
    the sections it cites ('§4', '§4 Experiments') and "does not say" read from the text itself."""
    if not content or not content.strip():
        raise ValueError("the reply was empty")
    fenced = _FENCE.match(content)
    try:
        data = json.loads(fenced.group(1) if fenced else content)
    except json.JSONDecodeError:
        prose = without_lone_surrogates(content.strip())
        cited = [m.group(1) for m in _CITED.finditer(prose)]
        return prose, cited, not _NOT_SAID.search(prose)
    if not isinstance(data, dict) or not isinstance(data.get("answer"), str):
        raise ValueError("the reply has no string field 'answer'")
    sections = data.get("sections")
    answered = data.get("answered")
    return (
        without_lone_surrogates(data["answer"]).strip(),
        sections if isinstance(sections, list) else [],
        answered if isinstance(answered, bool) else True,
    )


def mark_unverified(text: str, numbers: tuple[str, ...] | list[str], marker: str = " (?)") -> str:
    """The answer with `marker` after each occurrence of a number the paper does not hold."""
    for number in numbers:
        text = re.sub(rf"(?<![\d.]){re.escape(number)}(?!\.?\d)", lambda m: m.group(0) + marker, text)
    return text


def load_instructions(language: str) -> str:
    return resources.files("config").joinpath(f"prompts/ask_{language}.txt").read_text(encoding="utf-8")


class QuestionService:
    def __init__(
        self,
        store: Store,
        client: AsyncOpenAI,
        model: str,
        language: str,
        fulltext: FullTextSource | None,
        *,
        per_day: int,
        max_chars: int,
        paper_token_budget: int,
        timezone: str,
        temperature: float | None = None,
        now: Callable[[], datetime] | None = None,
    ):
        self.store = store
        self.client = client
        self.model = model
        self.language = language
        self.fulltext = fulltext
        self.per_day = per_day
        self.max_chars = max_chars
        self.paper_token_budget = paper_token_budget
        self.zone = ZoneInfo(timezone)
        self.temperature = temperature
        self.instructions = load_instructions(language)
        self._now = now or (lambda: datetime.now(UTC))

    def today(self) -> date:
        return self._now().astimezone(self.zone).date()

    def asked_today(self, platform: str, user_id: str) -> int:
        row = self.store.db.conn.execute(
            "select count(*) from questions where platform = ? and user_id = ? and day = ? "
            "and status != 'failed'",
            [platform, str(user_id), self.today().isoformat()],
        ).fetchone()
        return int(row[0])

    def _paper(self, paper_id: str) -> Paper | None:
        base_id, version = split_version(paper_id)
        paper = self.store.get_paper(base_id)
        if paper is None:
            return None
        # The version the card showed: its full text is the one cached for it.
        return replace(paper, version=version) if re.search(r"v\d+$", paper_id) else paper

    async def ask(
        self, platform: str, user_id: str | int, paper_id: str, question: str, thread: str | None = None
    ) -> Answer:
        question = clean_question(question)
        if not question:
            return Answer("empty")
        if len(question) > self.max_chars:
            return Answer("too_long", limit=self.max_chars)
        paper = self._paper(paper_id)
        if paper is None:
            return Answer("gone")
        if self.per_day <= 0:
            return Answer("off", paper)
        user = str(user_id)
        # Checked and reserved with no await in between: concurrent questions of one user cannot both
        # take the last one.
        if self.asked_today(platform, user) >= self.per_day:
            return Answer("limit", paper, limit=self.per_day)
        turns = self._turns(platform, user, thread)
        row_id = self._reserve(platform, user, paper.versioned_id, thread, question)
        try:
            return await self._answer(row_id, paper, question, thread, turns)
        except Exception:
            self._finish(row_id, status="failed")
            raise

    async def _answer(
        self, row_id: int, paper: Paper, question: str, thread: str | None, turns: list[dict[str, Any]]
    ) -> Answer:
        fulltext = await self._fulltext(paper)
        if fulltext.source == "abstract":
            text = f"## Abstract\n\n{paper.abstract}"
        else:
            text = trim_to_budget(fulltext, self.paper_token_budget)
        headings = _HEADING.findall(text)
        messages: list[dict[str, str]] = [
            {"role": "system", "content": self.instructions},
            {"role": "user", "content": _paper_message(paper, text)},
        ]
        for turn in turns:
            messages.append({"role": "user", "content": f"Question: {turn['question']}"})
            messages.append(
                {
                    "role": "assistant",
                    "content": json.dumps(
                        {
                            "answer": turn["answer"] or "",
                            "sections": json.loads(turn["sections"] or "[]"),
                            "answered": turn["status"] == "ok",
                        },
                        ensure_ascii=False,
                    ),
                }
            )
        messages.append({"role": "user", "content": f"Question: {question}"})
        prompt_tokens = completion_tokens = 0
        try:
            content, prompt_tokens, completion_tokens = await self._ask(messages)
            answer, cited, answered = parse_answer(content)
        except (openai.OpenAIError, ValueError) as err:
            reason = f"LLM HTTP {err.status_code}" if isinstance(err, openai.APIStatusError) else str(err)
            log.warning("question on %s failed: %s", paper.versioned_id, reason[:200])
            self._finish(
                row_id,
                status="failed",
                source=fulltext.source,
                prompt_tokens=prompt_tokens,  # a malformed reply was paid for too
                completion_tokens=completion_tokens,
            )
            return Answer("failed", paper, thread=thread)
        sections = check_sections(cited, headings)
        status = "ok" if answered and answer else "not_said"
        source = "\n".join([paper.title, paper.abstract, text])
        unverified = tuple(unsupported_numbers([answer], source)) if status == "ok" else ()
        self._finish(
            row_id,
            status=status,
            answer=answer,
            sections=sections,
            unverified=unverified,
            source=fulltext.source,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )
        if status == "not_said":
            return Answer("not_said", paper, thread=thread)
        return Answer("ok", paper, answer, sections, unverified, thread)

    async def _fulltext(self, paper: Paper) -> FullText:
        if self.fulltext is None:
            return FullText("abstract", (("Abstract", paper.abstract),))
        return await self.fulltext.fetch_async(paper)

    async def _ask(self, messages: list[dict[str, str]]) -> tuple[str | None, int, int]:
        response = await self.client.chat.completions.create(
            model=self.model,
            messages=cast(Any, messages),
            response_format=cast(Any, ANSWER_FORMAT),
            temperature=openai.omit if self.temperature is None else self.temperature,
        )
        usage = response.usage
        prompt_tokens = (usage.prompt_tokens or 0) if usage else 0
        completion_tokens = (usage.completion_tokens or 0) if usage else 0
        content = response.choices[0].message.content if response.choices else None
        return content, prompt_tokens, completion_tokens

    # -- the questions table ------------------------------------------------------------------
    def _turns(self, platform: str, user: str, thread: str | None) -> list[dict[str, Any]]:
        if not thread:
            return []
        rows = self.store.db.conn.execute(
            "select question, answer, sections, status from questions where platform = ? and user_id = ? "
            "and thread = ? and status in ('ok', 'not_said') order by id desc limit ?",
            [platform, user, thread, MAX_TURNS],
        ).fetchall()
        keys = ("question", "answer", "sections", "status")
        return [dict(zip(keys, row, strict=True)) for row in reversed(rows)]

    def _reserve(self, platform: str, user: str, paper_id: str, thread: str | None, question: str) -> int:
        with self.store.db.conn:
            cursor = self.store.db.conn.execute(
                "insert into questions (platform, user_id, paper_id, thread, day, question, status, model, "
                "prompt_tokens, completion_tokens, asked_at) values (?, ?, ?, ?, ?, ?, 'pending', ?, 0, 0, ?)",
                [
                    platform,
                    user,
                    paper_id,
                    thread,
                    self.today().isoformat(),
                    question,
                    self.model,
                    datetime.now(UTC).isoformat(timespec="seconds"),
                ],
            )
        return int(cursor.lastrowid or 0)

    def _finish(
        self,
        row_id: int,
        *,
        status: str,
        answer: str = "",
        sections: tuple[str, ...] = (),
        unverified: tuple[str, ...] = (),
        source: str = "",
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
    ) -> None:
        with self.store.db.conn:
            self.store.db.conn.execute(
                "update questions set status = ?, answer = ?, sections = ?, unverified = ?, source = ?, "
                "prompt_tokens = ?, completion_tokens = ? where id = ?",
                [
                    status,
                    answer or None,
                    json.dumps(list(sections), ensure_ascii=False),
                    json.dumps(list(unverified)) if unverified else None,
                    source or None,
                    prompt_tokens,
                    completion_tokens,
                    row_id,
                ],
            )


def _paper_message(paper: Paper, text: str) -> str:
    """The paper first, so providers' prompt caches reuse it across a thread's questions."""
    return "\n".join(
        [
            f"arXiv ID: {paper.versioned_id}",
            f"Title: {paper.title}",
            f"Authors: {', '.join(paper.authors)}",
            "",
            "Paper text:",
            "",
            text,
        ]
    )

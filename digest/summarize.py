"""The LLM through the `openai` package (Chat Completions, so any OpenAI-compatible server works).

One call per paper asks for a JSON object with the fields `translation`, `background`, `method` and
`results`. The client retries 429 and 5xx itself, with backoff; a reply that is not such an object is
re-asked once, naming what was wrong; a paper that still fails is recorded as failed, with the reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from contextvars import ContextVar
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any, cast

import openai
from openai import AsyncOpenAI

from digest.models import SUMMARY_FIELDS, Paper, Summary, SummaryRecord
from digest.numbers import unsupported_numbers

log = logging.getLogger(__name__)

# Bump when the message layout below changes in a way that should invalidate cached summaries.
PROMPT_REVISION = "2"

RESPONSE_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "paper_digest",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {name: {"type": "string"} for name in SUMMARY_FIELDS},
            "required": list(SUMMARY_FIELDS),
            "additionalProperties": False,
        },
    },
}

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


class MalformedReply(ValueError):
    pass


class LLMUnusable(RuntimeError):
    """The LLM cannot be used at all (not one paper's bad luck): the build stops asking it. The message
    names the endpoint, quotes the provider and says which setting to check."""

    user_fixable = False

    def __init__(self, problem: str, fix: str):
        super().__init__(f"{problem}; {fix}")
        self.problem, self.fix = problem, fix
        # What the papers that ended in this error spent (requests answered, tokens), for the build's
        # record: a refused request was still sent.
        self.calls = self.prompt_tokens = self.completion_tokens = 0


class LLMRefused(LLMUnusable):
    """401/403 or a model the server does not have: every further request would be refused the same way."""

    user_fixable = True


class LLMKeyRefused(LLMRefused):
    """401: the server refused the key itself, so every endpoint of that server (completions, embeddings,
    the model list) would refuse it too."""


class LLMUnreachable(LLMUnusable):
    """No connection to the LLM server, after the client's retries."""


class LLMNotAnswering(LLMUnusable):
    """The LLM server kept timing out or failing (the breaker below tripped): for a push's summaries on
    the spot, the next chats go out with their abstracts at once rather than each waiting it out."""


# The circuit breaker: after this many papers in a row failed at the transport (a timeout, or a 5xx
# after the client's retries; a refused connection is LLMUnreachable at once), with no answer in between,
# the rest of the build is not sent to the LLM: recorded as failed, for the next build to ask. A whole
# wave of `concurrency` requests in flight can fail together on one blip (a server restart), so it takes
# two waves; and at least 8, so that a low concurrency does not give up after a few unlucky papers. A
# hanging server then costs about two rounds of timeouts, not one per paper.
MIN_FAILURES_TO_GIVE_UP = 8
PREFLIGHT_TIMEOUT_SECONDS = 30.0


def failures_to_give_up(concurrency: int) -> int:
    return max(2 * concurrency, MIN_FAILURES_TO_GIVE_UP)


def transport_failure(err: openai.OpenAIError) -> bool:
    """A failure of the server or the way to it, not of this paper: a timeout, no connection, a 5xx."""
    if isinstance(err, openai.APIStatusError):
        return err.status_code >= 500
    return isinstance(err, openai.APIConnectionError)  # timeouts included


# What the client sends when no OPENAI_API_KEY is set (a local server needs none, the client insists on
# one): a 401 then means the server wants a key, not that the key is wrong.
NO_API_KEY = "not-needed"

_MODEL_MISSING = re.compile(r"model.{0,80}(does not exist|not found|not exist|invalid|unknown)", re.I)
_PROVIDER_MESSAGE_CHARS = 300


def provider_message(err: openai.APIStatusError, secret: str | None = None) -> str:
    """The provider's own words (e.g. 'Incorrect API key provided: sk-ab***yz'), on one short line, with
    the key masked in case a server echoes it whole."""
    error = _error_object(err)
    text = str(error.get("message") or "") if isinstance(error, dict) else str(error or "")
    if not text:
        text = err.response.text if err.response is not None else str(err)
    text = " ".join(text.split())
    if secret and len(secret) >= 6:
        text = text.replace(secret, "***")
    if len(text) > _PROVIDER_MESSAGE_CHARS:
        text = text[: _PROVIDER_MESSAGE_CHARS - 1] + "…"
    return text


def _error_object(err: openai.APIStatusError) -> object:
    """OpenAI answers {"error": {"message", "code", ...}}; Ollama {"error": "..."}; FastAPI servers
    {"detail": ...}; anything else is taken whole."""
    body = err.body
    if isinstance(body, dict):
        return body.get("error") or body.get("detail") or body.get("message") or body
    return body


def _model_missing(err: openai.APIStatusError, message: str) -> bool:
    if isinstance(err, openai.NotFoundError):
        return True
    error = _error_object(err)
    code = error.get("code") if isinstance(error, dict) else None
    return isinstance(err, openai.BadRequestError) and (
        code == "model_not_found" or bool(_MODEL_MISSING.search(message))
    )


_NO_QUOTA = re.compile(r"exceeded your current quota|insufficient[_ ]quota", re.I)


def _out_of_quota(err: openai.APIStatusError, message: str) -> bool:
    """OpenAI's 429 `insufficient_quota`: not a rate limit to wait out, but an account without credit,
    which every request meets until someone pays."""
    error = _error_object(err)
    code = error.get("code") if isinstance(error, dict) else None
    return isinstance(err, openai.RateLimitError) and (
        code == "insufficient_quota" or bool(_NO_QUOTA.search(message))
    )


def classify_failure(
    err: openai.OpenAIError, base_url: str, model: str, secret: str | None
) -> LLMUnusable | None:
    """An LLMUnusable when `err` means every request would fail the same way; None for one paper's
    failure (a 429 or 5xx after retries, a timeout, a bad reply)."""
    where = f"the LLM at {base_url}"
    if isinstance(err, openai.APIStatusError):
        said = provider_message(err, secret)
        if isinstance(err, openai.AuthenticationError):
            if secret in (None, NO_API_KEY):
                return LLMKeyRefused(
                    f"{where} wants an API key and OPENAI_API_KEY is not set (HTTP 401)",
                    "set OPENAI_API_KEY to a key for that server "
                    "(and OPENAI_BASE_URL or [llm] base_url if it is not the server you meant)",
                )
            return LLMKeyRefused(
                f"{where} refused the API key (HTTP 401: {said})",
                "set OPENAI_API_KEY to a valid key for that server "
                "(and OPENAI_BASE_URL or [llm] base_url if it is not OpenAI)",
            )
        if isinstance(err, openai.PermissionDeniedError):
            return LLMRefused(
                f"{where} refused access (HTTP 403: {said})",
                f"check that OPENAI_API_KEY may use model {model!r} ([llm] model) from this place",
            )
        if _out_of_quota(err, said):
            return LLMRefused(
                f"{where} refused for quota (HTTP 429: {said})",
                "the account of OPENAI_API_KEY has no credit left: check its plan and billing, "
                "or set another key",
            )
        if _model_missing(err, said):
            return LLMRefused(
                f"{where} has no model {model!r} (HTTP {err.status_code}: {said})",
                "set [llm] model to a model that server offers (`arxiv-digest doctor` lists them), and "
                "check OPENAI_BASE_URL or [llm] base_url (it usually ends in /v1)",
            )
        return None
    if isinstance(err, openai.APIConnectionError) and not isinstance(err, openai.APITimeoutError):
        cause = err.__cause__
        detail = f" ({type(cause).__name__}: {cause})" if cause else ""
        return LLMUnreachable(
            f"LLM unreachable at {base_url}{detail}",
            "check OPENAI_BASE_URL or [llm] base_url, that the server is running, the network, "
            "or a proxy (HTTPS_PROXY)",
        )
    return None


def load_instructions(language: str) -> str:
    return resources.files("config").joinpath(f"prompts/{language}.txt").read_text(encoding="utf-8")


def paper_message(paper: Paper, source_text: str | None) -> str:
    """The paper goes last and the instructions first, so providers' prompt caches reuse the prefix."""
    parts = [
        f"arXiv ID: {paper.versioned_id}",
        f"Title: {paper.title}",
        f"Authors: {', '.join(paper.authors)}",
        f"Categories: {', '.join(paper.categories)}",
        "",
        "Abstract:",
        paper.abstract,
    ]
    if source_text:
        parts += ["", "Full text (for background, method and results):", source_text]
    return "\n".join(parts)


# Half of a UTF-16 pair: JSON may escape one alone ("\ud83d", an emoji cut at a token limit) and
# json.loads keeps it, but it is no character: UTF-8 (SQLite, the archive file, the chat APIs) refuses it.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def without_lone_surrogates(text: str) -> str:
    return _LONE_SURROGATE.sub("", text)


def parse_reply(content: str | None) -> Summary:
    """The reply's JSON object as a Summary; MalformedReply says what is wrong, for the re-ask."""
    if not content or not content.strip():
        raise MalformedReply("the reply was empty")
    fenced = _FENCE.match(content)  # some local servers wrap JSON in a Markdown fence
    text = fenced.group(1) if fenced else content
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise MalformedReply(f"the reply was not valid JSON ({err.msg} at position {err.pos})") from None
    if not isinstance(data, dict):
        raise MalformedReply("the reply was JSON but not an object")
    missing = [
        name for name in SUMMARY_FIELDS if not isinstance(data.get(name), str) or not data[name].strip()
    ]
    if missing:
        raise MalformedReply(f"these fields were missing, empty or not strings: {', '.join(missing)}")
    # Keep trailing double spaces: they are Markdown line breaks.
    fields: dict[str, Any] = {
        name: without_lone_surrogates(data[name]).strip("\r\n") for name in SUMMARY_FIELDS
    }
    return Summary(**fields)


@dataclass
class _Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0  # returned by the SDK, or raised with the server's status
    answers: int = 0  # seen by count_answer: the SDK's own retries too (0 on a client without the hook)

    @property
    def calls(self) -> int:
        """Requests the server answered: the hook's count where it is installed, else ours."""
        return max(self.requests, self.answers)


def _failed_record(paper: Paper, reason: str, usage: _Usage) -> SummaryRecord:
    """A paper without a summary this time, with why and what it cost: the next build asks again."""
    return SummaryRecord(
        paper_id=paper.versioned_id,
        status="failed",
        summary=None,
        error=reason,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        calls=usage.calls,
    )


# The paper being summarized in this task, for the LLM client's response hook (below).
_answering: ContextVar[_Usage | None] = ContextVar("llm_usage", default=None)


async def count_answer(response: object) -> None:
    """httpx response hook of the LLM client: every answer the server gave counts as one call of the paper
    being summarized, the openai client's own retries (429, 5xx) included, so that "LLM calls" is what
    the server saw. A request that never connected gets no answer and is no call."""
    usage = _answering.get()
    if usage is not None:
        usage.answers += 1


def counting_http_client() -> openai.DefaultAsyncHttpxClient:
    """The HTTP client for the LLM's AsyncOpenAI, with count_answer installed."""
    return openai.DefaultAsyncHttpxClient(event_hooks={"response": [count_answer]})


class Summarizer:
    def __init__(
        self,
        client: AsyncOpenAI,
        model: str,
        language: str,
        concurrency: int = 8,
        temperature: float | None = None,
    ):
        self.client = client
        self.model = model
        self.language = language
        self.temperature = temperature
        self.instructions = load_instructions(language)
        self._concurrency = concurrency
        self._semaphore: asyncio.Semaphore | None = None
        # Set by the first answer that means the LLM cannot be used at all; no request follows it.
        self.unusable: LLMUnusable | None = None
        self.failures_to_give_up = failures_to_give_up(concurrency)
        # Transport failures since the last answer (see failures_to_give_up), and the last one's reason.
        self.failures_in_a_row = 0
        self._last_failure = ""
        self._in_flight: set[asyncio.Future[SummaryRecord]] = set()  # requests of summarize(), running
        digest = hashlib.sha256(
            (PROMPT_REVISION + self.instructions + json.dumps(RESPONSE_FORMAT, sort_keys=True)).encode()
        ).hexdigest()
        self.prompt_version = digest[:12]

    def reset(self) -> None:
        """A new build asks afresh: a server down or hanging at the last build may be back."""
        self.unusable = None
        self.failures_in_a_row = 0
        self._last_failure = ""

    @property
    def not_answering(self) -> bool:
        """The breaker tripped: so many transport failures in a row that no more papers are sent."""
        return self.failures_in_a_row >= self.failures_to_give_up

    def not_answering_error(self) -> LLMNotAnswering:
        return LLMNotAnswering(
            f"the LLM at {self.base_url} failed {self.failures_in_a_row} requests in a row "
            f"(last: {self._last_failure})",
            "check that the server is up and answering, and [llm] timeout_seconds",
        )

    def _note_transport(self, err: openai.OpenAIError, reason: str) -> None:
        if not transport_failure(err):
            return
        was_answering = not self.not_answering
        self.failures_in_a_row += 1
        self._last_failure = reason
        if was_answering and self.not_answering:
            log.warning(
                "%s: the remaining papers are not sent to it in this build; they keep their abstracts "
                "and the next build retries them",
                self.not_answering_error(),
            )
            # The requests still waiting would most likely wait out their timeouts (and the client's
            # retries) for nothing, and the build with them: they are given up too.
            for request in self._in_flight:
                if request is not asyncio.current_task():
                    request.cancel()

    def _not_sent(self, paper: Paper, usage: _Usage | None = None, what: str = "not sent") -> SummaryRecord:
        """A paper the tripped breaker kept from the LLM (or whose request it gave up): failed, as when
        the LLM is down, so that the next build asks for it (no warning per paper: the breaker said it
        once)."""
        reason = f"{what}: {self.failures_in_a_row} LLM requests in a row failed ({self._last_failure})"
        return _failed_record(paper, reason, usage or _Usage())

    async def summarize(
        self, paper: Paper, source_text: str | None = None, source_kind: str = "abstract"
    ) -> SummaryRecord:
        """Summarize one paper; `source_text` is its (trimmed) full text, `source_kind` where it came from."""
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self._concurrency)
        async with self._semaphore:
            if self.unusable is not None:  # papers waiting for a slot are never sent
                raise self.unusable
            if self.not_answering:
                return self._not_sent(paper)
            usage = _Usage()
            answering = _answering.set(usage)  # for count_answer, in the request's context (copied)
            try:
                request = asyncio.ensure_future(self._summarize(paper, source_text, source_kind, usage))
            finally:
                _answering.reset(answering)
            self._in_flight.add(request)
            try:
                return await request
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if request.cancelled() and self.not_answering and not (task and task.cancelling()):
                    return self._not_sent(paper, usage, "given up")  # cut short by the breaker
                raise  # the build itself was cancelled
            finally:
                self._in_flight.discard(request)

    async def preflight(self) -> None:
        """Before any full text is fetched: a free request (the model list) that a wrong key or an
        unreachable server fails at once. Raises LLMUnusable then; anything else (a server without a
        model list, a timeout) is left for the real requests to meet."""
        # A hanging server would hold the build here for timeout_seconds x (retries + 1) before the
        # first paper: the model list, a small reply, gets at most PREFLIGHT_TIMEOUT_SECONDS a try.
        timeout = self.client.timeout
        client = self.client
        if isinstance(timeout, int | float) and timeout > PREFLIGHT_TIMEOUT_SECONDS:
            client = self.client.with_options(timeout=PREFLIGHT_TIMEOUT_SECONDS)
        try:
            await client.models.list()
        except (openai.AuthenticationError, openai.APIConnectionError) as err:
            unusable = self.note_failure(err)
            if unusable is not None:
                raise unusable from None
            self._note_transport(err, "the model list timed out")  # a hanging server counts from here
        except openai.OpenAIError:
            # 404: many local servers list no models; 403: a key restricted to completions may not read
            # the model list. Neither says the completions will fail: they will tell.
            pass

    @property
    def base_url(self) -> str:
        return str(self.client.base_url).rstrip("/")

    def _secret(self) -> str | None:
        return self.client.api_key if isinstance(self.client.api_key, str) else None

    def classify(self, err: openai.OpenAIError) -> LLMUnusable | None:
        """What `err` (from any endpoint of this server) means for every request, without keeping it."""
        return classify_failure(err, self.base_url, self.model, self._secret())

    def note_failure(self, err: openai.OpenAIError) -> LLMUnusable | None:
        """`err` from any endpoint of this server (completions, the model list, embeddings): when it means
        no request can succeed, that LLMUnusable, kept in `unusable` so that no paper is sent after it."""
        problem = classify_failure(err, self.base_url, self.model, self._secret())
        if problem is not None and self.unusable is None:
            self.unusable = problem
        return self.unusable if problem is not None else None

    async def _summarize(
        self, paper: Paper, source_text: str | None, source_kind: str, usage: _Usage
    ) -> SummaryRecord:
        messages: list[dict[str, str]] = [
            {"role": "system", "content": self.instructions},
            {"role": "user", "content": paper_message(paper, source_text)},
        ]
        # Everything the LLM was shown counts as support for a number. The check needs the paper: with
        # the abstract alone there is nothing to hold a breakdown's numbers against but the abstract, and
        # every figure from the paper's body (the breakdown's point) would be re-asked for nothing.
        source = "\n".join([paper.title, paper.abstract, source_text or ""])
        try:
            summary, content = await self._ask_parsed(messages, usage, paper)
            unsupported = unsupported_numbers(summary.fields, source) if source_text else []
            if unsupported:
                summary = await self._reask_numbers(
                    messages, content, summary, unsupported, source, usage, paper
                )
        except MalformedReply as problem:
            return self._failed(paper, f"malformed reply: {problem}", usage)
        except openai.OpenAIError as err:
            unusable = self.note_failure(err)
            if unusable is not None:
                unusable.calls += usage.calls
                unusable.prompt_tokens += usage.prompt_tokens
                unusable.completion_tokens += usage.completion_tokens
                raise unusable from None
            if isinstance(err, openai.APIStatusError):
                # The provider's own words (quota, overload) tell the operator what to fix; the store
                # redacts them, since a gateway's error page may echo the request's key.
                detail = provider_message(err, self._secret())
                reason = f"LLM HTTP {err.status_code}: {detail}"
            elif isinstance(err, openai.APITimeoutError):
                reason = "LLM request timed out"
            else:
                reason = f"LLM error: {type(err).__name__}"
            self._note_transport(err, reason)
            return self._failed(paper, reason, usage)
        if summary.unverified:
            log.warning(
                "%s: numbers not found in the paper after a re-ask: %s",
                paper.versioned_id,
                ", ".join(summary.unverified),
            )
        return SummaryRecord(
            paper_id=paper.versioned_id,
            status="unverified" if summary.unverified else "ok",
            summary=summary,
            error=f"unverified numbers: {', '.join(summary.unverified)}" if summary.unverified else None,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            calls=usage.calls,
            source=source_kind,
        )

    async def _ask_parsed(
        self, messages: list[dict[str, str]], usage: _Usage, paper: Paper
    ) -> tuple[Summary, str | None]:
        """Ask, and re-ask once with the problem named when the reply is not the JSON object we need."""
        content = await self._ask(messages, usage)
        try:
            return parse_reply(content), content
        except MalformedReply as problem:
            log.warning("%s: malformed LLM reply (%s); asking once more", paper.versioned_id, problem)
            messages = [
                *messages,
                {"role": "assistant", "content": content or ""},
                {
                    "role": "user",
                    "content": f"Your reply could not be used: {problem}. Reply again with only the "
                    f"JSON object with the string fields {', '.join(SUMMARY_FIELDS)}.",
                },
            ]
            content = await self._ask(messages, usage)
            return parse_reply(content), content

    async def _reask_numbers(
        self,
        messages: list[dict[str, str]],
        content: str | None,
        summary: Summary,
        unsupported: list[str],
        source: str,
        usage: _Usage,
        paper: Paper,
    ) -> Summary:
        """One more ask naming the numbers the text does not hold; what is still unsupported is flagged."""
        log.info(
            "%s: numbers not in the paper: %s; asking once more", paper.versioned_id, ", ".join(unsupported)
        )
        messages = [
            *messages,
            {"role": "assistant", "content": content or ""},
            {
                "role": "user",
                "content": "These numbers in your reply occur nowhere in the paper text you were given: "
                f"{', '.join(unsupported)}. Use only numbers that the text states; correct or remove "
                "these, and reply again with the complete JSON object.",
            },
        ]
        try:
            second = parse_reply(await self._ask(messages, usage))
        except MalformedReply:
            return replace(summary, unverified=tuple(unsupported))  # keep the first reply, flagged
        return replace(second, unverified=tuple(unsupported_numbers(second.fields, source)))

    async def _ask(self, messages: list[dict[str, str]], usage: _Usage) -> str | None:
        try:
            response = await self.client.chat.completions.create(
                model=self.model,
                # plain dicts are what the API takes; the SDK's TypedDicts add nothing here
                messages=cast(Any, messages),
                response_format=cast(Any, RESPONSE_FORMAT),
                # Sent only when configured: reasoning models refuse any temperature but their default.
                temperature=openai.omit if self.temperature is None else self.temperature,
            )
        except openai.APIStatusError:
            usage.requests += 1  # the server answered, if only with an error
            raise
        # Counted once answered: a request that never connected is no call (and costs nothing).
        usage.requests += 1
        self.failures_in_a_row = 0  # the server answers: the breaker closes
        if response.usage is not None:
            usage.prompt_tokens += response.usage.prompt_tokens or 0
            usage.completion_tokens += response.usage.completion_tokens or 0
        if not response.choices:
            return None
        return response.choices[0].message.content

    def _failed(self, paper: Paper, reason: str, usage: _Usage) -> SummaryRecord:
        log.warning("%s: summary failed: %s", paper.versioned_id, reason)
        return _failed_record(paper, reason, usage)

"""Composition root: settings -> store -> arXiv source, LLM client -> service. The one place that picks
concrete classes; tests pass settings that point every endpoint at a local fake."""

from __future__ import annotations

from openai import AsyncOpenAI

from adapters.discord.app import DEFAULT_MAX_CARDS as DISCORD_MAX_CARDS
from adapters.telegram.ports import PLATFORM as TELEGRAM
from adapters.telegram.ports import default_max_cards as telegram_max_cards
from config.settings import Settings
from digest.arxiv_source import ArxivSource
from digest.embeddings import Embedder
from digest.fulltext import FullTextFetcher
from digest.questions import QuestionService
from digest.service import DigestService
from digest.store import Store
from digest.summarize import NO_API_KEY, Summarizer, counting_http_client


def make_llm_client(
    settings: Settings, timeout: float | None = None, retries: int | None = None
) -> AsyncOpenAI:
    key = settings.secrets.openai_api_key
    return AsyncOpenAI(
        # A local server (vLLM, Ollama, llama.cpp) needs no key, but the client insists on one.
        api_key=key.get_secret_value() if key else NO_API_KEY,
        base_url=settings.llm_base_url,
        max_retries=settings.llm.retries if retries is None else retries,
        timeout=settings.llm.timeout_seconds if timeout is None else timeout,
        http_client=counting_http_client(),  # "LLM calls" counts what the server answered, retries too
    )


def make_summarizer(settings: Settings, client: AsyncOpenAI | None = None) -> Summarizer | None:
    if not settings.llm_configured:
        return None
    return Summarizer(
        client or make_llm_client(settings),
        model=settings.llm.model,
        language=settings.digest.language,
        concurrency=settings.llm.concurrency,
        temperature=settings.llm.temperature,
    )


def make_embedder(settings: Settings, store: Store, client: AsyncOpenAI | None) -> Embedder | None:
    if client is None or not settings.llm.embedding_model.strip():
        return None
    return Embedder(client, settings.llm.embedding_model.strip(), store)


def default_max_cards(platform: str, chat_id: str) -> int:
    """Cards a chat gets unless it chose a number: each platform knows its kinds of chat."""
    return telegram_max_cards(chat_id) if platform == TELEGRAM else DISCORD_MAX_CARDS


def make_service(settings: Settings, store: Store | None = None) -> DigestService:
    store = store or Store.open(settings.database_path)
    source = ArxivSource(
        settings.arxiv.api_url,
        delay_seconds=settings.arxiv.delay_seconds,
        timeout_seconds=settings.arxiv.timeout_seconds,
        retries=settings.arxiv.retries,
        page_size=settings.arxiv.page_size,
        # Backoff scales with arXiv's own politeness delay, so tests (delay 0) retry at once.
        backoff_seconds=max(settings.arxiv.delay_seconds, 0.05),
    )
    arxiv = settings.arxiv
    fulltext = (
        FullTextFetcher(
            arxiv.html_url,
            arxiv.pdf_url,
            delay_seconds=arxiv.delay_seconds,
            timeout_seconds=arxiv.timeout_seconds,
            retries=arxiv.retries,
            store=store,
            backoff_seconds=max(arxiv.delay_seconds, 0.05),
        )
        if arxiv.fulltext
        else None
    )
    # One client (one connection pool) for summaries and embeddings; none without an LLM configured.
    client = make_llm_client(settings) if settings.llm_configured else None
    return DigestService(
        settings,
        store,
        source,
        make_summarizer(settings, client),
        fulltext,
        embedder=make_embedder(settings, store, client),
        default_max_cards=default_max_cards,
    )


def make_questions(settings: Settings, service: DigestService) -> QuestionService | None:
    """Questions to papers share the summarizer's LLM client and the service's full-text fetcher (and
    so its cache and arXiv politeness); without an LLM there is no asking."""
    if service.summarizer is None:
        return None
    return QuestionService(
        service.store,
        service.summarizer.client,
        model=settings.llm.model,
        language=settings.digest.language,
        fulltext=service.fulltext,
        per_day=settings.limits.questions_per_user_per_day,
        max_chars=settings.limits.question_max_chars,
        paper_token_budget=settings.llm.paper_token_budget,
        timezone=settings.digest.timezone,
        temperature=settings.llm.temperature,
    )

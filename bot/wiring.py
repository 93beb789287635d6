"""Composition root: settings -> store -> arXiv source, LLM client -> service. The one place that picks
concrete classes; tests pass settings that point every endpoint at a local fake."""

from __future__ import annotations

from openai import AsyncOpenAI

from config.settings import Settings
from digest.arxiv_source import ArxivSource
from digest.fulltext import FullTextFetcher
from digest.questions import QuestionService
from digest.service import DigestService
from digest.store import Store
from digest.summarize import Summarizer


def make_llm_client(
    settings: Settings, timeout: float | None = None, retries: int | None = None
) -> AsyncOpenAI:
    key = settings.secrets.openai_api_key
    return AsyncOpenAI(
        # A local server (vLLM, Ollama, llama.cpp) needs no key, but the client insists on one.
        api_key=key.get_secret_value() if key else "not-needed",
        base_url=settings.llm_base_url,
        max_retries=settings.llm.retries if retries is None else retries,
        timeout=settings.llm.timeout_seconds if timeout is None else timeout,
    )


def make_summarizer(settings: Settings) -> Summarizer | None:
    if not settings.llm_configured:
        return None
    return Summarizer(
        make_llm_client(settings),
        model=settings.llm.model,
        language=settings.digest.language,
        concurrency=settings.llm.concurrency,
        temperature=settings.llm.temperature,
    )


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
    return DigestService(settings, store, source, make_summarizer(settings), fulltext)


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

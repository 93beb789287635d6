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
from digest.service import DigestService
from digest.store import Store
from digest.summarize import Summarizer


def make_llm_client(settings: Settings) -> AsyncOpenAI | None:
    secrets = settings.secrets
    if not secrets.llm_configured:
        return None
    return AsyncOpenAI(
        # A local server (vLLM, Ollama, llama.cpp) needs no key, but the client insists on one.
        api_key=secrets.openai_api_key.get_secret_value() if secrets.openai_api_key else "not-needed",
        base_url=secrets.openai_base_url,
        max_retries=settings.llm.retries,
        timeout=settings.llm.timeout_seconds,
    )


def make_summarizer(settings: Settings, client: AsyncOpenAI | None = None) -> Summarizer | None:
    client = client or make_llm_client(settings)
    if client is None:
        return None
    return Summarizer(
        client,
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
    client = make_llm_client(settings)
    return DigestService(
        settings,
        store,
        source,
        make_summarizer(settings, client),
        fulltext,
        embedder=make_embedder(settings, store, client),
        default_max_cards=default_max_cards,
    )

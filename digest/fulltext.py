"""A paper's full text: arXiv's HTML rendering, else its PDF, else the abstract; fetched once, cached.

arXiv asks robots for one request at a time with a pause between them, and answers overload with 429
or 503 and a Retry-After. So the fetcher holds a lock around every request (it may be shared by
threads), waits `delay_seconds` after the previous request ends, and retries transient failures with
exponential backoff, honouring Retry-After. A 404 is an answer, not a failure: arXiv has no HTML for
papers whose LaTeX it could not convert, and none of either for withdrawn ones.

A fetch that ends in the abstract because arXiv has neither rendering is cached like any other; one that
ends there because arXiv kept failing is not, so the next build tries again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from digest.latexml import parse_latexml
from digest.models import FullText, Paper
from digest.pdftext import parse_pdf

__all__ = ["FetchFailed", "FullText", "FullTextCache", "FullTextFetcher"]

log = logging.getLogger(__name__)

_TRANSIENT_STATUS = {429, 500, 502, 503, 504}
# LaTeXML sometimes renders a page that holds little more than the abstract and error boxes; such a
# page is worse than the PDF, so it counts as "no HTML".
MIN_BODY_CHARS = 2000


class FullTextCache(Protocol):
    """What the fetcher needs from the store (digest.store.Store has it)."""

    def get_fulltext(self, paper_id: str) -> FullText | None: ...

    def put_fulltext(self, paper_id: str, fulltext: FullText) -> None: ...


class FetchFailed(Exception):
    """A request that did not get an answer worth retrying further (or ran out of retries)."""


class _Transient(FetchFailed):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


class FullTextFetcher:
    """Fetches and caches papers' full texts; share one instance so its politeness is global."""

    def __init__(
        self,
        html_url: str,
        pdf_url: str,
        delay_seconds: float = 3.0,
        timeout_seconds: float = 30.0,
        retries: int = 4,
        store: FullTextCache | None = None,
        *,
        backoff_seconds: float = 2.0,
        max_wait_seconds: float = 120.0,
        max_bytes: int = 50_000_000,
        user_agent: str = "arxiv-digest/0.1 (daily digest bot)",
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.html_url = html_url
        self.pdf_url = pdf_url
        self.delay_seconds = delay_seconds
        self.timeout_seconds = timeout_seconds
        self.retries = retries
        self.store = store
        self.backoff_seconds = backoff_seconds
        self.max_wait_seconds = max_wait_seconds
        self.max_bytes = max_bytes
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", user_agent)
        self._sleep = sleep
        self._lock = threading.Lock()
        self._last_request_end: float | None = None
        self.requests_made = 0  # for tests and the benchmark
        self.failed_fetches = 0  # papers whose text arXiv kept failing to serve (not 404s)

    def note_request(self) -> None:
        """Another client just asked arXiv (the API search): keep the pause after it too."""
        with self._lock:
            self._last_request_end = time.monotonic()

    def close(self) -> None:
        self.session.close()

    # -- public operations ----------------------------------------------------------------------
    def fetch(self, paper: Paper) -> FullText:
        """The paper's full text: from the cache, else HTML, else PDF, else its abstract."""
        cached = self.cached(paper)
        if cached is not None:
            return cached
        fulltext, final = self.download(paper)
        if final:
            self._remember(paper.versioned_id, fulltext)
        return fulltext

    async def fetch_async(self, paper: Paper) -> FullText:
        """fetch() for asyncio code: the download runs in a worker thread, the cache on this one.

        sqlite3 connections refuse use from another thread, so the store is only touched here; the
        fetcher's lock still keeps concurrent downloads to one request at a time.
        """
        cached = self.cached(paper)
        if cached is not None:
            return cached
        fulltext, final = await asyncio.to_thread(self.download, paper)
        if final:
            self._remember(paper.versioned_id, fulltext)
        else:
            self.failed_fetches += 1
        return fulltext

    def cached(self, paper: Paper) -> FullText | None:
        return self.store.get_fulltext(paper.versioned_id) if self.store is not None else None

    def download(self, paper: Paper) -> tuple[FullText, bool]:
        """(full text, final) without the cache; final is False when a fallback came from failures."""
        paper_id = paper.versioned_id
        failures: list[str] = []
        for source, template, parse in (
            ("html", self.html_url, self._parse_html),
            ("pdf", self.pdf_url, self._parse_pdf),
        ):
            url = template.format(id=paper_id)
            try:
                body = self._get(url)
            except FetchFailed as exc:
                log.warning("full text of %s: %s failed: %s", paper_id, source, exc)
                failures.append(source)
                continue
            if body is None:
                continue  # 404: arXiv has no such rendering
            try:
                sections = parse(body)
            except Exception as exc:  # a malformed document must not take the digest down
                log.warning("full text of %s: cannot read the %s: %s", paper_id, source, exc)
                continue
            if sections:
                return FullText(source=source, sections=tuple(sections)), True
        fulltext = FullText(source="abstract", sections=(("Abstract", paper.abstract),))
        return fulltext, not failures

    def _remember(self, paper_id: str, fulltext: FullText) -> None:
        if self.store is not None:
            self.store.put_fulltext(paper_id, fulltext)

    @staticmethod
    def _parse_html(body: bytes) -> list[tuple[str, str]]:
        sections = parse_latexml(body)
        body_chars = sum(len(text) for title, text in sections if title.lower() != "abstract")
        return sections if body_chars >= MIN_BODY_CHARS else []

    @staticmethod
    def _parse_pdf(body: bytes) -> list[tuple[str, str]]:
        return parse_pdf(body)

    # -- HTTP, politely ---------------------------------------------------------------------------
    def _get(self, url: str) -> bytes | None:
        """The body of a 200, None for a 404, FetchFailed for anything else (after retries)."""
        retrying = Retrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            sleep=self._sleep,
            reraise=True,
        )
        return retrying(self._get_once, url)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            return min(exc.retry_after, self.max_wait_seconds)
        return min(self.backoff_seconds * 2 ** (state.attempt_number - 1), self.max_wait_seconds)

    def _get_once(self, url: str) -> bytes | None:
        with self._lock:
            if self._last_request_end is not None:
                pause = self.delay_seconds - (time.monotonic() - self._last_request_end)
                if pause > 0:
                    self._sleep(pause)
            try:
                self.requests_made += 1
                return self._request(url)
            finally:
                self._last_request_end = time.monotonic()

    def _request(self, url: str) -> bytes | None:
        try:
            with self.session.get(url, timeout=self.timeout_seconds, stream=True) as response:
                if response.status_code == 404:
                    return None
                if response.status_code in _TRANSIENT_STATUS:
                    raise _Transient(
                        f"HTTP {response.status_code} from {url}",
                        _retry_after(response.headers.get("Retry-After")),
                    )
                if response.status_code != 200:
                    raise FetchFailed(f"HTTP {response.status_code} from {url}")
                chunks = []
                size = 0
                for chunk in response.iter_content(chunk_size=65536):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise FetchFailed(f"{url} is larger than {self.max_bytes} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            raise _Transient(f"{type(exc).__name__} for {url}") from exc

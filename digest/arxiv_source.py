"""The arXiv API through the `arxiv` package: one OR-ed category query over a lastUpdatedDate range.

The package pages and keeps arXiv's delay between requests, but sets no timeout and retries at once
without backoff. So we give its session a default timeout, switch its own retries off, and retry here
with exponential backoff, resuming at the offset already read rather than from the first page.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import arxiv
import requests
from requests.adapters import HTTPAdapter
from tenacity import RetryError, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from digest.models import Paper, split_version

log = logging.getLogger(__name__)

RETRY_STATUSES = {429, 500, 502, 503, 504}


class SourceError(RuntimeError):
    """arXiv could not be read, after retries. The message is fit for a user."""


class NotAFeed(requests.RequestException):
    """A 200 answer that is not an Atom feed: a wrong api_url, a proxy's or a captive portal's page. The
    arxiv package would read it as a feed of no papers, and the day would be built empty."""


def _refuse_non_feeds(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    if response.status_code == 200 and b"<feed" not in response.content[:4000]:
        kind = response.headers.get("Content-Type", "no content type").split(";")[0]
        raise NotAFeed(f"answered with {kind}, not an Atom feed", response=response)


class _TimeoutAdapter(HTTPAdapter):
    def __init__(self, timeout: float):
        super().__init__()
        self.timeout = timeout

    def send(  # type: ignore[override]  # same parameters; the stubs spell their types differently
        self, request: requests.PreparedRequest, timeout: Any = None, **kwargs: Any
    ) -> requests.Response:
        return super().send(request, timeout=self.timeout if timeout is None else timeout, **kwargs)


def _retryable(err: BaseException) -> bool:
    if isinstance(err, arxiv.HTTPError):
        return err.status in RETRY_STATUSES
    return isinstance(err, arxiv.UnexpectedEmptyPageError | requests.ConnectionError | requests.Timeout)


def _clean(text: str) -> str:
    # The API wraps titles and abstracts over several indented lines.
    return " ".join(text.split())


def to_paper(result: arxiv.Result) -> Paper:
    base_id, version = split_version(result.get_short_id())
    categories = list(result.categories)
    if result.primary_category and result.primary_category in categories:
        categories.remove(result.primary_category)
        categories.insert(0, result.primary_category)
    elif result.primary_category:
        categories.insert(0, result.primary_category)
    return Paper(
        base_id=base_id,
        version=version,
        title=_clean(result.title),
        authors=tuple(author.name for author in result.authors),
        categories=tuple(categories),
        published=result.published.astimezone(UTC),
        updated=result.updated.astimezone(UTC),
        abstract=_clean(result.summary),
    )


def build_query(categories: list[str] | tuple[str, ...], since: datetime, until: datetime) -> str:
    cats = " OR ".join(f"cat:{c}" for c in categories)
    # lastUpdatedDate is minute-precise and inclusive at both ends; the exact window is applied later.
    start = since.astimezone(UTC).strftime("%Y%m%d%H%M")
    end = until.astimezone(UTC).strftime("%Y%m%d%H%M")
    return f"({cats}) AND lastUpdatedDate:[{start} TO {end}]"


class ArxivSource:
    def __init__(
        self,
        api_url: str,
        delay_seconds: float = 3.0,
        timeout_seconds: float = 30.0,
        retries: int = 4,
        page_size: int = 200,
        backoff_seconds: float = 2.0,
        sleep: Callable[[float], None] | None = None,
    ):
        self.api_url = api_url
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self._sleep = sleep
        self.client = arxiv.Client(page_size=page_size, delay_seconds=delay_seconds, num_retries=0)
        self.client.query_url_format = api_url + ("&{}" if "?" in api_url else "?{}")
        # The package exposes no timeout setting; its session is the one place to give it one.
        adapter = _TimeoutAdapter(timeout_seconds)
        self.client._session.mount("http://", adapter)
        self.client._session.mount("https://", adapter)
        self.client._session.hooks["response"].append(_refuse_non_feeds)

    def close(self) -> None:
        self.client._session.close()

    def fetch(self, categories: list[str] | tuple[str, ...], since: datetime, until: datetime) -> list[Paper]:
        search = arxiv.Search(
            query=build_query(categories, since, until),
            max_results=None,
            sort_by=arxiv.SortCriterion.LastUpdatedDate,
            sort_order=arxiv.SortOrder.Descending,
        )
        papers: list[Paper] = []
        retrying = Retrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=wait_exponential(multiplier=self.backoff_seconds, max=60),
            retry=retry_if_exception(_retryable),
            before_sleep=lambda state: log.warning(
                "arXiv request failed (%s); retrying in %.0fs",
                _describe(state.outcome.exception() if state.outcome else None),
                state.next_action.sleep if state.next_action else 0,
            ),
            sleep=self._sleep or time.sleep,
        )
        try:
            for attempt in retrying:
                with attempt:
                    # Resume where the last attempt stopped: pages already read are not asked again.
                    for result in self.client.results(search, offset=len(papers)):
                        papers.append(to_paper(result))
        except RetryError as err:
            cause = err.last_attempt.exception()
            raise SourceError(
                f"arXiv API unreachable at {self.api_url}: {_describe(cause)}{_hint(cause)}"
            ) from None
        except (arxiv.ArxivError, requests.RequestException) as err:
            raise SourceError(f"arXiv API error at {self.api_url}: {_describe(err)}{_hint(err)}") from None
        log.info("arXiv: %d entries for %s", len(papers), ", ".join(categories))
        return papers


def _describe(err: BaseException | None) -> str:
    if isinstance(err, arxiv.HTTPError):
        return f"HTTP {err.status}"
    if isinstance(err, NotAFeed):
        return str(err)
    if isinstance(err, requests.Timeout):
        return "timed out"
    if isinstance(err, requests.ConnectionError):
        return "connection failed"
    return type(err).__name__ if err else "unknown error"


def _hint(err: BaseException | None) -> str:
    """What the user can do about it: offline and refused look alike from here, so name both."""
    if (isinstance(err, arxiv.HTTPError) and err.status not in RETRY_STATUSES) or isinstance(err, NotAFeed):
        return "; check [arxiv] api_url (arXiv's is https://export.arxiv.org/api/query)"
    if isinstance(err, arxiv.HTTPError):
        return "; arXiv is busy or down: try again later (the daily job retries by itself)"
    return "; check the network connection, a proxy (HTTPS_PROXY) or [arxiv] api_url"

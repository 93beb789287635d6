"""build_digest(date): the one use case that ties fetch, selection, summaries, store and archive together.

A digest is built once and stored: its membership is fixed when it is first built, summaries are cached
by paper version, model, language and prompt, and every platform and the archive render from the store.
Building again only finishes what is missing (failed summaries) and rewrites the same archive file.

Each chat then gets the stored digest ranked and cut for it (chat_digest(): its interests and ratings
from digest/interests.py, embeddings from digest/embeddings.py, the ranking itself in
digest/ranking.py). Papers of a digest that is not archived and that no subscribed chat shows as a card
are summarized on a reader's first request (explain()), not by the build.

A build works for the push: once the membership is fixed, it summarizes first the papers some chat will
receive as cards (digest/priority.py), fetching full texts one request at a time in that order while the
LLM summarizes the papers already fetched, and it reports each paper as done (digest/readiness.py), so a
chat's push can start as soon as its own cards are ready. The archive is written when everything is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol

from config.settings import ConfigError, Settings, check_categories
from digest.archive_file import write_atomically
from digest.arxiv_source import ArxivSource
from digest.budget import trim_to_budget
from digest.embeddings import Embedder, Vector
from digest.fulltext import FullText, FullTextFetcher
from digest.interests import ChatInterests, Interests
from digest.leases import LeaseSet
from digest.markdown import render_post
from digest.models import Digest, Paper, Summary, SummaryRecord, Window, category_key, split_version
from digest.priority import cards_first
from digest.ranking import ChatDigest, keep_order, rank_for_chat
from digest.readiness import BuildProgress
from digest.storage import StorageError, check_archive_dir
from digest.store import Store, Subscription
from digest.summarize import LLMKeyRefused, LLMNotAnswering, LLMRefused, LLMUnusable, Summarizer
from digest.window import late_since, select_papers, window_for

log = logging.getLogger(__name__)

_VERSIONED = re.compile(r"v\d+$")
FULLTEXT_FAILURES_TO_GIVE_UP = 2
DEFAULT_MAX_CARDS = 10
RATED_PAPERS_USED = 200  # the most recent liked (and disliked) papers a chat's taste is computed from

# (platform, chat id) -> how many cards a chat gets when it chose no number; the wiring knows the kinds
# of chat (a Telegram private chat reads more than a channel).
MaxCardsDefault = Callable[[str, str], int]


# How often an on-the-spot summary looks whether this process's build is done with a paper it has in
# flight.
LAZY_POLL_SECONDS = 0.1

# After the LLM was found down or refusing on a request, how long later requests take that answer as is.
LAZY_RETRY_SECONDS = 60.0

# How long a chat's order of a pushed digest is kept: longer than a failed summary waits for the build
# that heals its card (the next day's at the latest) and than any push of that day can come.
PUSH_ORDER_KEPT_DAYS = 14


def _order_key(chat_id: str, digest_key: str) -> str:
    return f"push-order|{chat_id}|{digest_key}"


class Progress(Protocol):
    def start(self, total: int, label: str) -> None: ...
    def advance(self, done: int = 1) -> None: ...
    def close(self) -> None: ...


def build_lease(digest_key: str) -> str:
    return f"build:{digest_key}"


def summary_lease(versioned_id: str) -> str:
    """The lease of one paper's summary: held by a build while the paper is in flight, and by a process
    summarizing it on the spot, so that two processes never pay for the same paper."""
    return f"summary|{versioned_id}"


def _say_waiting(name: str) -> None:
    log.warning("%s is being built by another process; waiting for it", name.removeprefix("build:"))


class _NoProgress:
    def start(self, total: int, label: str) -> None:
        pass

    def advance(self, done: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class BuildReport:
    """What one build did, for the summary line."""

    day: date
    digests: list[Digest] = field(default_factory=list)
    archive_files: list[Path] = field(default_factory=list)
    fetched_entries: int = 0  # entries the arXiv API returned for the whole range
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    summarized: int = 0
    failures: int = 0
    unverified: int = 0  # summaries kept with numbers not found in the paper
    abstract_only: int = 0  # breakdowns read from the abstract (no full text, or over the token budget)
    cost_usd: float | None = None  # None: no price configured or known for the model
    already_built: bool = False  # every digest asked for existed before this build
    missing_summaries: int = 0  # papers shown with their original abstract
    deferred: int = 0  # papers no chat shows as a card, summarized when a reader asks (explain())
    seconds: float = 0.0

    @property
    def digest(self) -> Digest:
        return self.digests[0]


def check_buildable(settings: Settings, day: date) -> None:
    """A digest of a future day would freeze an empty window; refuse it as a user error."""
    today = settings.digest.today()
    if day > today:
        raise ConfigError(f"{day} is in the future (today is {today} in {settings.digest.timezone})")


class DigestService:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        source: ArxivSource,
        summarizer: Summarizer | None,
        fulltext: FullTextFetcher | None = None,
        embedder: Embedder | None = None,
        default_max_cards: MaxCardsDefault | None = None,
    ):
        self.settings = settings
        self.store = store
        self.source = source
        self.summarizer = summarizer
        self.fulltext = fulltext
        self.embedder = embedder
        self.interests = Interests(store)
        self.default_max_cards: MaxCardsDefault = default_max_cards or (lambda _p, _c: DEFAULT_MAX_CARDS)
        self.lazy = BuildReport(day=date.min)  # what summaries made on a reader's request cost
        self._build_lock = asyncio.Lock()
        self._building: set[str] = set()  # lease names of the build running in this process
        self._lazy_inflight: dict[str, asyncio.Future[None]] = {}
        # The per-paper leases of the builds running in this process: the papers they have in flight.
        self._build_leases: list[LeaseSet] = []
        # The LLM found down or refusing on a reader's (or a push's) request, and when: the next chats of
        # a push do not each wait out the client's retries again.
        self._lazy_unusable: tuple[float, LLMUnusable] | None = None
        # Papers whose failed summary this process retried on the spot, and when (monotonic).
        self._failed_retried: dict[str, float] = {}
        # What a build's first look at the LLM found wrong, while that build runs.
        self._llm_unusable: LLMUnusable | None = None
        self._warned_no_llm = False
        self._progress: dict[date, BuildProgress] = {}  # builds of this process, by day
        self._ensuring: dict[str, asyncio.Future[BuildReport]] = {}  # on-demand builds, by digest key

    async def aclose(self) -> None:
        """Close the LLM client's connections (shared by the summarizer and the embedder), the HTTP
        sessions and the database."""
        clients = {
            id(c): c
            for c in (getattr(self.summarizer, "client", None), getattr(self.embedder, "client", None))
            if c
        }
        for client in clients.values():
            await client.close()
        if self.fulltext is not None:
            self.fulltext.close()
        self.source.close()
        self.store.close()

    # -- reading ------------------------------------------------------------------------------
    @property
    def default_categories(self) -> tuple[str, ...]:
        return tuple(self.settings.digest.categories)

    def _categories(self, categories: Sequence[str] | None) -> tuple[str, ...]:
        return tuple(check_categories(list(categories))) if categories else self.default_categories

    def _subscribed_set(self, sub: Subscription) -> tuple[str, ...]:
        """The category set a subscription gets: its own, or the configured one when it chose none."""
        return tuple(sub.categories) or self.default_categories

    def get_digest(self, day: date, categories: Sequence[str] | None = None) -> Digest | None:
        return self.store.load_digest(Digest.make_key(day, self._categories(categories)))

    def latest_digest(
        self,
        categories: Sequence[str] | None = None,
        on_or_before: date | None = None,
        non_empty: bool = True,
    ) -> Digest | None:
        key = self.store.latest_digest_key(
            category_key(self._categories(categories)), on_or_before, non_empty=non_empty
        )
        return self.store.load_digest(key) if key else None

    def nearest_digest(self, day: date, categories: Sequence[str] | None = None) -> Digest | None:
        """The built digest closest to `day` (for someone who may not have `day` built); never builds."""
        key = self.store.nearest_digest_key(category_key(self._categories(categories)), day)
        return self.store.load_digest(key) if key else None

    def breakdown(self, paper_id: str) -> tuple[Paper, Summary | None] | None:
        """A paper and its stored texts, for a button press: never calls the LLM."""
        base_id, version = split_version(paper_id)
        paper = self.store.get_paper(base_id)
        if paper is None:
            return None
        versioned = f"{base_id}v{version}" if _VERSIONED.search(paper_id) else paper.versioned_id
        record = None
        if self.summarizer is not None:
            record = self.store.get_summary(
                versioned, self.summarizer.model, self.summarizer.language, self.summarizer.prompt_version
            )
        if record is None or record.summary is None:
            record = self.store.best_summary(versioned, self.settings.digest.language)
        return paper, record.summary if record else None

    async def explain(self, paper_id: str) -> tuple[Paper, Summary | None] | None:
        """Like breakdown(), but a paper left unsummarized (no chat showed it as a card and the archive
        did not need it) is summarized now, once, on the first reader's request."""
        found = self.breakdown(paper_id)
        if found is None or found[1] is not None or self.summarizer is None:
            return found
        paper = found[0]
        if _VERSIONED.search(paper_id):
            paper = replace(paper, version=split_version(paper_id)[1])
        if self.store.has_summary_attempt(paper.versioned_id):
            return found  # tried and failed: the next build retries it, not every button press
        try:
            await self._summarize_lazily([paper])
        except LLMUnusable as err:  # down or refusing: the reader gets the abstract, not a dead button
            log.warning("breakdown of %s asked for, but not summarized: %s", paper.versioned_id, err)
        return self.breakdown(paper_id)

    # -- one chat's digest --------------------------------------------------------------------
    def max_cards(self, platform: str, chat_id: str) -> int:
        subscription = self.store.get_subscription(platform, chat_id)
        if subscription is not None and subscription.max_cards:
            return subscription.max_cards
        return self.default_max_cards(platform, str(chat_id))

    async def chat_digest(
        self,
        digest: Digest,
        platform: str,
        chat_id: str,
        for_push: bool = False,
        retry_failed: bool = False,
    ) -> ChatDigest:
        """The digest as this chat gets it: its mutes left out, ranked by its follows and ratings, its
        top `max_cards` as cards (summarized now if a build left them for later), the rest overview.

        for_push: the order of the chat's first push of this digest is kept (in platform_state), so that
        a push resumed after a crash, or any later push (one that heals untranslated cards, one beside
        `run`'s), continues in that order even if the chat's ratings, follows or max_cards changed
        meanwhile: no paper moves between cards and overview once sent, none is sent twice, and a healed
        card keeps its number and why-line.

        retry_failed: a card whose summary failed before (in a build, or on the spot at an earlier
        push) is asked again, so that this push heals it in place. Not for a push due at
        `publish_at`: the build has just tried, and the digest must not wait for a failing LLM."""
        chat_id = str(chat_id)
        ranked = await self._shaped(digest, platform, chat_id, for_push)
        missing = [r.paper for r in ranked.cards if r.item.summary is None]
        progress = self._progress.get(digest.date)
        if missing and progress is not None and progress.running:
            # A build of that day may be summarizing them right now: wait for it, not pay twice.
            await progress.papers(p.versioned_id for p in missing)
            ranked = await self._shaped(
                self.store.load_digest(digest.key) or digest, platform, chat_id, for_push
            )
            missing = [r.paper for r in ranked.cards if r.item.summary is None]
        if missing and self.summarizer is not None:
            try:
                await self._summarize_lazily(missing, retry_failed=retry_failed)
            except LLMUnusable as err:
                # The LLM is down or refuses: the cards go out with their abstracts, as when a build's
                # LLM failed, and a later push or build heals them; the chat is not left without them.
                log.warning("%s %s: %d cards go out untranslated: %s", platform, chat_id, len(missing), err)
            # Ranking again is cheap (vectors are cached) and reads the new texts from the store.
            ranked = await self._shaped(
                self.store.load_digest(digest.key) or digest, platform, chat_id, for_push
            )
        return ranked

    async def _shaped(self, digest: Digest, platform: str, chat_id: str, for_push: bool) -> ChatDigest:
        """The chat's ranking; for a push, in the order its first push of the digest had (kept then)."""
        ranked = await self._rank(digest, platform, chat_id)
        if not for_push:
            return ranked
        key = _order_key(chat_id, digest.key)
        kept = self.store.get_state(platform, key)
        if kept is not None:
            order = json.loads(kept)
            return keep_order(ranked, order["ids"], order["max_cards"])
        ids = [r.paper.base_id for r in ranked.ranked]
        self.store.set_state(platform, key, json.dumps({"ids": ids, "max_cards": ranked.max_cards}))
        return ranked

    def subscriptions_to_heal(self, platform: str, day: date) -> list[Subscription]:
        """The active subscriptions holding cards of `day`'s digest that went out without their
        translation, and still subscribed to that digest's categories: a healing pass pushes only
        these (a chat that changed its categories since is not sent another digest of an old day)."""
        waiting = self.store.deliveries.chats_to_heal(platform, day)
        found = []
        for sub in self.store.active_subscriptions(platform):
            if sub.chat_id not in waiting:
                continue
            cats = self._subscribed_set(sub)
            if Digest.make_key(day, cats) in waiting[sub.chat_id]:
                found.append(sub)
        return found

    def push_done(self, platform: str, chat_id: str, digest_key: str) -> None:
        """The chat has every part of the digest. Its order stays kept (later pushes heal cards or find
        nothing new in it); those of digests pushed long ago are dropped."""
        before = datetime.now(UTC) - timedelta(days=PUSH_ORDER_KEPT_DAYS)
        self.store.delete_states_before(platform, _order_key(str(chat_id), ""), before)

    async def card_ids_for_chat(self, digest: Digest, platform: str, chat_id: str) -> list[str]:
        """The base ids this chat gets as cards, best first; never calls the LLM."""
        ranked = await self._rank(digest, platform, str(chat_id))
        return [r.paper.base_id for r in ranked.cards]

    async def _rank(self, digest: Digest, platform: str, chat_id: str) -> ChatDigest:
        interests = self.interests.for_chat(platform, chat_id)
        vectors, liked, disliked = await self._taste_vectors(digest, interests)
        return rank_for_chat(digest, interests, self.max_cards(platform, chat_id), vectors, liked, disliked)

    def _embeddings_pointless_lately(self) -> bool:
        """A summary request (a build's or a reader's) had the key refused within LAZY_RETRY_SECONDS, or
        the server kept not answering (the breaker tripped): /embeddings, on the same server, would
        refuse or time out too, and the ranking does without it either way."""
        lazy = self._lazy_unusable
        return (
            lazy is not None
            and isinstance(lazy[1], LLMKeyRefused | LLMNotAnswering)
            and time.monotonic() - lazy[0] < LAZY_RETRY_SECONDS
        )

    async def _taste_vectors(
        self, digest: Digest, interests: ChatInterests
    ) -> tuple[dict[str, Vector], list[Vector], list[Vector]]:
        if (
            self.embedder is None
            or self._llm_unusable
            or self._embeddings_pointless_lately()
            or not (interests.liked or interests.disliked)
        ):
            return {}, [], []  # (the LLM server down or refusing the key now: not asked for embeddings)
        liked = [p for p in map(self.store.get_paper, interests.liked[-RATED_PAPERS_USED:]) if p]
        disliked = [p for p in map(self.store.get_paper, interests.disliked[-RATED_PAPERS_USED:]) if p]
        vectors = await self.embedder.vectors([*(i.paper for i in digest.items), *liked, *disliked])
        refusal = self.embedder.key_refusal
        if refusal is not None and self.summarizer is not None and self._lazy_unusable is None:
            # /embeddings refused the key (a push ranking a chat, outside any build): the cards' lazy
            # summaries would be refused too, so none is asked for (for LAZY_RETRY_SECONDS).
            problem = self.summarizer.classify(refusal)
            if problem is not None:
                self._lazy_unusable = (time.monotonic(), problem)
        return (
            vectors,
            [vectors[p.versioned_id] for p in liked if p.versioned_id in vectors],
            [vectors[p.versioned_id] for p in disliked if p.versioned_id in vectors],
        )

    # -- building -----------------------------------------------------------------------------
    async def ensure_digest(self, day: date, categories: Sequence[str] | None = None) -> Digest:
        """The digest, built first if it never was; while a build of that day runs, once the build has
        fixed its membership (chat_digest() then waits for the cards it shows, not for every paper)."""

        async def no_paper(digest: Digest) -> list[str]:
            return []

        return await self._ready_digest(day, self._categories(categories), no_paper)

    async def ready_digest(self, day: date, subscription: Subscription) -> Digest:
        """The digest a subscribed chat receives, as soon as its own cards are summarized: a chat need
        not wait for papers that only the archive or another chat shows as cards."""
        cats = self._categories(subscription.categories or None)

        async def cards(digest: Digest) -> list[str]:
            versioned = {item.paper.base_id: item.paper.versioned_id for item in digest.items}
            ids = await self.card_ids_for_chat(digest, subscription.platform, subscription.chat_id)
            return [versioned[i] for i in ids if i in versioned]

        return await self._ready_digest(day, cats, cards, (subscription.platform, subscription.chat_id))

    async def wait_membership(self, day: date) -> None:
        """Until a build in this process has fixed the day's membership (the digests and their papers)."""
        await self._progress_of(day).membership()

    def _progress_of(self, day: date) -> BuildProgress:
        if day not in self._progress:
            # A long-running bot builds a day at a time; forget days no push waits for any more.
            for old in [d for d in self._progress if d < day - timedelta(days=7)]:
                del self._progress[old]
            self._progress[day] = BuildProgress()
        return self._progress[day]

    async def _ready_digest(
        self,
        day: date,
        cats: tuple[str, ...],
        needed: Callable[[Digest], Awaitable[Sequence[str]]],
        chat: tuple[str, str] | None = None,
    ) -> Digest:
        key = Digest.make_key(day, cats)
        progress = self._progress.get(day)
        if progress is not None and progress.running:
            await progress.membership_or_end()
            cards = progress.cards.get(chat) if chat is not None else None
            if cards is not None and progress.running:
                # The build ranked this chat already: no need to load and rank the digest again.
                await progress.papers(cards)
            else:
                digest = self.store.load_digest(key)
                if digest is None:
                    return await self._ensure_built(day, cats)
                await progress.papers(await needed(digest))
            digest = self.store.load_digest(key)
            if digest is not None:
                return digest
        return await self._ensure_built(day, cats)

    async def _ensure_built(self, day: date, cats: tuple[str, ...]) -> Digest:
        key = Digest.make_key(day, cats)
        await self.wait_for_build(key)  # another process's build: a push never sends it half-summarized
        existing = self.store.load_digest(key)
        if existing is not None:
            return existing
        if len(cats) > self.settings.limits.max_categories_per_subscription:
            raise ConfigError(f"{len(cats)} categories are past [limits] max_categories_per_subscription")
        if category_key(cats) in self._sets_past_limits():
            raise ConfigError("this category set is past [limits] max_category_sets")
        # One build per digest, however many chats of that category set ask for it at once.
        building = self._ensuring.get(key)
        if building is None:
            building = self._ensuring[key] = asyncio.ensure_future(self.build(day, [cats]))
            building.add_done_callback(lambda _: self._ensuring.pop(key, None))
        try:
            report = await asyncio.shield(building)
        except LLMUnusable as err:
            # Fetched and stored, but the LLM is down or refuses: the digest goes out with its abstracts
            # (healed later) rather than not at all.
            built = self.store.load_digest(key)
            if built is None:
                raise
            log.warning("digest %s built without summaries: %s", key, err)
            return built
        return report.digest

    async def build_all(self, day: date, progress: Progress | None = None) -> BuildReport:
        """The configured set plus every category set an active subscription asks for: one fetch."""
        return await self.build(day, self._sets_within_limits(warn=True), progress)

    def _sets_within_limits(self, warn: bool = False) -> list[tuple[str, ...]]:
        """The configured set, then the sets of active subscriptions as far as [limits] allows.
        Subscriptions made before [limits] (or with limits since lowered) cannot cost more than the
        limits allow: past them, a chat's set is not built (its push logs the missing digest)."""
        sets = [self.default_categories]
        limits = self.settings.limits
        for sub in self.store.active_subscriptions():
            cats = self._subscribed_set(sub)
            if category_key(cats) in {category_key(s) for s in sets}:
                continue
            if len(cats) > limits.max_categories_per_subscription or len(sets) > limits.max_category_sets:
                if warn:
                    log.warning(
                        "%s %s: its %d categories are past [limits]; not built",
                        sub.platform,
                        sub.chat_id,
                        len(cats),
                    )
                continue
            sets.append(cats)
        return sets

    def _sets_past_limits(self) -> set[str]:
        """Category keys of subscribed sets that [limits] leaves unbuilt (see _sets_within_limits)."""
        allowed = {category_key(s) for s in self._sets_within_limits()}
        subscribed = {category_key(self._subscribed_set(sub)) for sub in self.store.active_subscriptions()}
        return subscribed - allowed

    async def build(
        self,
        day: date,
        category_sets: Sequence[Sequence[str]] | None = None,
        progress: Progress | None = None,
        archive_all: bool = False,
    ) -> BuildReport:
        """Build (or finish) the digests of `day` for these category sets (default: the configured one).

        The archive is the configured digest's Jekyll post; other sets (a subscription's) get a post only
        with `archive_all`, as when a user builds one by hand, so the site is not flooded with them.
        """
        self.check_buildable(day)
        sets = [self._categories(s) for s in (category_sets or [self.default_categories])]
        names = [build_lease(Digest.make_key(day, s)) for s in sets]
        async with self._build_lock:
            self._building.update(names)
            tracker = self._progress_of(day)
            tracker.begin()
            try:
                # One builder per digest across processes: a second build waits here, then finds the
                # papers summarized and pays for nothing.
                async with self.store.leases.hold(names, on_wait=_say_waiting):
                    return await self._build(day, sets, progress or _NoProgress(), archive_all, tracker)
            finally:
                tracker.end()
                self._building.difference_update(names)

    async def wait_for_build(self, key: str) -> None:
        """Return once no build of the digest `key` is running, in this process or another."""
        name = build_lease(key)
        if name in self._building:
            async with self._build_lock:
                pass
        await self.store.leases.wait_free(name)

    def check_buildable(self, day: date) -> None:
        check_buildable(self.settings, day)

    def check_storage(self) -> None:
        """The archive folder is usable (the database was checked when the store was opened): before a
        build spends anything, not after the LLM was paid. StorageError otherwise."""
        check_archive_dir(self.settings.archive_dir)

    async def _build(
        self,
        day: date,
        category_sets: Sequence[Sequence[str]] | None,
        progress: Progress,
        archive_all: bool,
        tracker: BuildProgress,
    ) -> BuildReport:
        began = time.monotonic()
        sets = [tuple(s) for s in category_sets or [self.default_categories]]
        report = BuildReport(day=day)
        cfg = self.settings.digest
        window = window_for(day, cfg.timezone, cfg.anchor)
        self.check_storage()  # before any request: a bad archive_dir must not cost an LLM bill first

        error: str | None = None
        try:
            new_sets = [s for s in sets if not self.store.digest_exists(Digest.make_key(day, s))]
            report.already_built = not new_sets
            if new_sets:
                await self._select_new(day, window, new_sets, report)

            digests = [self.store.load_digest(Digest.make_key(day, s)) for s in sets]
            report.digests = [d for d in digests if d is not None]
            default_key = category_key(self.default_categories)
            archived = {
                d.key for d in report.digests if archive_all or category_key(d.categories) == default_key
            }
            # The LLM is asked about the key before the embeddings endpoint is sent it: a wrong key (or a
            # dead server) skips the embeddings, and the summaries stop at it as before (exit 2), with no
            # request paid or refused. Only when an archived digest needs summaries: a finished day's
            # rebuild needs no LLM, and ranks without embeddings if they fail.
            summarizer = self.summarizer
            checked = summarizer is not None and any(
                item.summary is None for d in report.digests if d.key in archived for item in d.items
            )
            if checked and summarizer is not None:
                summarizer.reset()
                if self.embedder is not None:
                    self.embedder.forget_key_refusal()
                with contextlib.suppress(LLMUnusable):  # kept in summarizer.unusable for the summaries
                    await summarizer.preflight()
                self._llm_unusable = summarizer.unusable  # the build ranks without embeddings then
                if self._llm_unusable is None and summarizer.failures_in_a_row:
                    # The model list timed out (a hanging server): the embeddings would wait it out
                    # again, for nothing; the summaries go on, under the breaker.
                    self._llm_unusable = summarizer.not_answering_error()
            for digest in report.digests:
                await self.warm_embeddings(digest, quiet_key_refusal=checked)
            if checked and summarizer is not None and self.embedder is not None:
                # A server with no model list let the key through the preflight, and /embeddings was the
                # first to refuse it: the completions would refuse it too, so that answer stops the build
                # (below, before any paper is sent) with the summaries' own message.
                refusal = self.embedder.key_refusal
                if refusal is not None and summarizer.unusable is None:
                    self._llm_unusable = summarizer.note_failure(refusal)
            await self._summarize_missing(report, progress, archived, tracker, checked)
            report.digests = [self.store.load_digest(d.key) or d for d in report.digests]
            for digest in report.digests:
                if digest.key in archived:
                    report.archive_files.append(self._write_archive(digest))
            # Papers left for a reader to ask about are not missing; failed or never-made ones are.
            report.missing_summaries = sum(
                1
                for digest in report.digests
                for item in digest.items
                if item.summary is None
                and (digest.key in archived or self.store.has_summary_attempt(item.paper.versioned_id))
            )
            report.deferred = sum(
                1
                for digest in report.digests
                for item in digest.items
                if item.summary is None
                and digest.key not in archived
                and not self.store.has_summary_attempt(item.paper.versioned_id)
            )
        except BaseException as err:
            error = f"{type(err).__name__}: {err}"[:500]
            if isinstance(err, LLMRefused):
                # Until the next build, no request goes to a server that refused the key or the model:
                # not a push's lazy summaries right after, nor (for the key) its embeddings.
                self._lazy_unusable = (time.monotonic(), err)
                if isinstance(err, LLMKeyRefused) and self.embedder is not None:
                    self.embedder.refuse_key(err.problem)
            raise
        finally:
            self._llm_unusable = None
            # Recorded whatever happened after the tokens were spent: the run's cost is never lost.
            report.seconds = time.monotonic() - began
            self._record(report, error)
        return report

    def _record(self, report: BuildReport, error: str | None) -> None:
        report.cost_usd = self.settings.llm.cost(
            report.prompt_tokens, report.completion_tokens, self.settings.llm_base_url
        )
        row = {
            "date": report.day.isoformat(),
            "digest_keys": json.dumps([d.key for d in report.digests]),
            "llm_calls": report.llm_calls,
            "prompt_tokens": report.prompt_tokens,
            "completion_tokens": report.completion_tokens,
            "cost_usd": report.cost_usd,
            "summarized": report.summarized,
            "failures": report.failures,
            "unverified": report.unverified,
            "seconds": round(report.seconds, 3),
            "error": error,
        }
        try:
            self.store.record_build(row)
        except Exception:  # the store itself failing must not hide the error that stopped the build
            log.exception("could not record the build run")

    async def _select_new(
        self, day: date, window: Window, new_sets: list[tuple[str, ...]], report: BuildReport
    ) -> None:
        lookback = self.settings.arxiv.lookback_days
        since_by_set = {
            s: late_since(window, lookback, self.store.earliest_window_start(category_key(s), day))
            for s in new_sets
        }
        range_start = min([window.start, *[v for v in since_by_set.values() if v is not None]])
        union = list(dict.fromkeys(c for s in new_sets for c in s))
        # The arxiv package is synchronous; keep the event loop (and the bots on it) responsive.
        fetched = await asyncio.to_thread(self.source.fetch, union, range_start, window.end)
        if self.fulltext is not None:
            self.fulltext.note_request()  # arXiv's pause between requests spans both clients
        report.fetched_entries = len(fetched)
        model = self.summarizer.model if self.summarizer else ""
        prompt_version = self.summarizer.prompt_version if self.summarizer else ""
        for cats in new_sets:
            cat_key = category_key(cats)
            selection = select_papers(
                fetched,
                window,
                cats,
                self.store.shown_ids(cat_key),
                since_by_set[cats],
                self.settings.digest.include_replacements,
            )
            digest = Digest(
                key=Digest.make_key(day, cats),
                date=day,
                categories=cats,
                window=window,
                fetched=selection.fetched,
                language=self.settings.digest.language,
            )
            self.store.upsert_papers(selection.papers)
            try:
                self.store.create_digest(digest, selection.papers, model, prompt_version)
            except sqlite3.IntegrityError:
                # Another process built it meanwhile; its membership stands.
                log.info("digest %s was built concurrently; using the stored one", digest.key)
            log.info(
                "digest %s: %d candidates, %d shown", digest.key, selection.fetched, len(selection.papers)
            )

    async def _summarize_missing(
        self,
        report: BuildReport,
        progress: Progress,
        full_keys: set[str] | None = None,
        tracker: BuildProgress | None = None,
        checked: bool = False,
    ) -> None:
        """Summarize what the digests lack: every paper of an archived digest (`full_keys`; None: all),
        and of any other digest only the papers some subscribed chat gets as a card (or that were tried
        before and failed); the rest wait for a reader to ask (explain()).

        The papers some chat gets as cards go first (digest/priority.py), so that pushes can start on
        them while the build goes on; `tracker` tells waiting pushes which papers are still to come."""
        papers: dict[str, Paper] = {}
        chats_cards: dict[tuple[str, str], list[str]] = {}  # versioned ids, per subscribed chat, best first
        for digest in report.digests:
            cards_here = await self._card_ids_of_subscribers(digest)
            versioned = {item.paper.base_id: item.paper.versioned_id for item in digest.items}
            for chat, cards in cards_here.items():
                chats_cards[chat] = [versioned[i] for i in cards if i in versioned]
            wanted: set[str] | None = None
            if full_keys is not None and digest.key not in full_keys:
                wanted = {paper_id for cards in cards_here.values() for paper_id in cards}
            for item in digest.items:
                if item.summary is not None:
                    continue
                paper = item.paper
                if (
                    wanted is None
                    or paper.base_id in wanted
                    or self.store.has_summary_attempt(paper.versioned_id)
                ):
                    papers.setdefault(paper.versioned_id, paper)
        order = cards_first(chats_cards.values(), report.digests)
        rank = {paper_id: i for i, paper_id in enumerate(order)}
        ordered = dict(sorted(papers.items(), key=lambda kv: rank.get(kv[0], len(rank))))
        if tracker is not None:
            tracker.select(ordered if self.summarizer is not None else (), chats_cards)
        await self._summarize_papers(ordered, report, progress, tracker, checked)

    def _subscribers(self, digest: Digest) -> list[tuple[str, str]]:
        cat_key = category_key(digest.categories)
        return [
            (sub.platform, sub.chat_id)
            for sub in self.store.active_subscriptions()
            if category_key(self._subscribed_set(sub)) == cat_key
        ]

    async def _card_ids_of_subscribers(self, digest: Digest) -> dict[tuple[str, str], list[str]]:
        """Each subscribed chat's cards in this digest (base ids, best first), by (platform, chat id)."""
        return {
            (platform, chat_id): await self.card_ids_for_chat(digest, platform, chat_id)
            for platform, chat_id in self._subscribers(digest)
        }

    async def warm_embeddings(self, digest: Digest, quiet_key_refusal: bool = False) -> None:
        """Embed the day's papers and every paper its subscribers rated in one batched pass, rather than
        one request per chat when each is ranked. quiet_key_refusal: a refused key is the build's to
        report (it stops on it), not a warning here."""
        if self.embedder is None or self._llm_unusable or not digest.items:
            return
        rated: set[str] = set()
        for platform, chat_id in self._subscribers(digest):
            taste = self.interests.for_chat(platform, chat_id)
            rated.update(taste.liked[-RATED_PAPERS_USED:])
            rated.update(taste.disliked[-RATED_PAPERS_USED:])
        if rated:
            papers = [p for p in map(self.store.get_paper, sorted(rated)) if p]
            await self.embedder.vectors(
                [*(i.paper for i in digest.items), *papers], quiet_key_refusal=quiet_key_refusal
            )

    async def _summarize_papers(
        self,
        papers: dict[str, Paper],
        report: BuildReport,
        progress: Progress,
        tracker: BuildProgress | None = None,
        checked: bool = False,
    ) -> None:
        """Summarize `papers` in their order (the most wanted first); `checked`: this build already asked
        the LLM about its key (preflight)."""
        if not papers:
            return
        summarizer = self.summarizer
        if summarizer is None:
            if not self._warned_no_llm:
                log.warning(
                    "no LLM configured (set OPENAI_API_KEY and/or OPENAI_BASE_URL): "
                    "archiving the original abstracts"
                )
                self._warned_no_llm = True
            return
        if not checked:
            # A new build asks afresh: in `run`, a server that was down at the last build may be back.
            summarizer.reset()
            await summarizer.preflight()  # a wrong key or a dead server: found before any full text
        elif summarizer.unusable is not None:  # as the build's own preflight found it
            raise summarizer.unusable
        ordered = list(papers.values())
        progress.start(len(ordered), "summaries")
        llm = self.settings.llm
        spent = 0  # tokens of this build so far, against llm.digest_token_budget

        def over_budget() -> bool:
            return bool(llm.digest_token_budget) and spent >= llm.digest_token_budget

        fetcher = self.fulltext
        failed_before = fetcher.failed_fetches if fetcher else 0

        def fulltext_down() -> bool:
            # After retries failed for two papers, arXiv's full-text host is down (or unreachable from
            # here): the rest of the build uses abstracts rather than wait out every paper's retries.
            return (
                fetcher is not None and fetcher.failed_fetches - failed_before >= FULLTEXT_FAILURES_TO_GIVE_UP
            )

        # A pipeline: arXiv wants one request at a time, so one reader fetches full texts in priority
        # order while `llm.concurrency` workers summarize the papers already read. The queue lets the
        # reader run a little ahead of the LLM, not hold every full text of a big day in memory.
        # Failures are collected, not raised at once: after an LLMUnusable the reader fetches nothing
        # more and the workers skip what is queued, and what the papers in flight spent is still counted.
        workers = llm.concurrency
        queue: asyncio.Queue[tuple[Paper, str | None, str] | None] = asyncio.Queue(maxsize=2 * workers)
        records: list[SummaryRecord] = []
        problems: list[BaseException] = []

        def done_meanwhile(paper: Paper) -> bool:
            # A reader asked for this paper while the build was busy with others (explain()).
            record = self.store.get_summary(
                paper.versioned_id, summarizer.model, summarizer.language, summarizer.prompt_version
            )
            return record is not None and record.status != "failed" and record.summary is not None

        async def take_paper(paper: Paper, held: LeaseSet) -> None:
            """Hold the paper's lease for this build, after any reader who is summarizing it on the spot:
            another process (a /today, a button, a push) or this one. Held until stored, so that they
            wait for ours."""
            name = summary_lease(paper.versioned_id)
            while True:
                lazy = self._lazy_inflight.get(paper.versioned_id)
                if lazy is not None:
                    await asyncio.shield(lazy)
                await held.take(name)
                if paper.versioned_id not in self._lazy_inflight:
                    return
                # A reader of this process started on it while we waited for another process: the lease
                # row is this process's either way, and that reader releases it.
                held.forget(name)

        async def read_papers(held: LeaseSet) -> None:
            try:
                for paper in ordered:
                    if summarizer.unusable is not None:  # the LLM refused: fetch no more full texts for it
                        raise summarizer.unusable
                    if tracker is not None:  # a build, not a reader's own request
                        await take_paper(paper, held)
                        if done_meanwhile(paper):
                            held.give_back(summary_lease(paper.versioned_id))
                            tracker.done(paper.versioned_id)
                            progress.advance()
                            continue
                    source_text, kind = None, "abstract"
                    # The LLM is not answering (the breaker tripped): this paper is not sent, so
                    # its full text is not worth arXiv's pause between requests.
                    if fetcher is not None and not over_budget() and not summarizer.not_answering:
                        fulltext = (
                            FullText("abstract", (("Abstract", paper.abstract),))
                            if fulltext_down()
                            else await fetcher.fetch_async(paper)
                        )
                        if fulltext.source != "abstract" and not over_budget():
                            source_text = trim_to_budget(fulltext, llm.paper_token_budget)
                            kind = fulltext.source
                    await queue.put((paper, source_text, kind))
            except Exception as err:
                problems.append(err)
            # Not in a `finally`: when the build is cancelled the workers are too, and nobody would take
            # these from a full queue. Otherwise the workers are alive: they never stop early.
            for _ in range(workers):
                await queue.put(None)

        breaker_noted = False

        async def summarize_papers(held: LeaseSet) -> None:
            nonlocal spent, breaker_noted
            while (item := await queue.get()) is not None:
                paper, source_text, kind = item
                if problems or summarizer.unusable is not None:
                    held.give_back(summary_lease(paper.versioned_id))
                    continue  # the build has failed: drain the queue without paying for more
                try:
                    record = await summarizer.summarize(paper, source_text, kind)
                    if summarizer.not_answering and not breaker_noted:
                        # From now on a reader's tap (which would reset the breaker) waits for nothing.
                        breaker_noted = True
                        self._lazy_unusable = (time.monotonic(), summarizer.not_answering_error())
                    spent += record.prompt_tokens + record.completion_tokens
                    # Stored as each finishes: a crash loses at most the papers in flight.
                    self.store.save_summary(
                        record, summarizer.model, summarizer.language, summarizer.prompt_version
                    )
                except Exception as err:
                    problems.append(err)
                    continue
                finally:
                    held.give_back(summary_lease(paper.versioned_id))
                records.append(record)
                if tracker is not None:
                    tracker.done(paper.versioned_id)
                progress.advance()

        async with self.store.leases.one_by_one() as held:
            if tracker is not None:
                self._build_leases.append(held)
            tasks = [asyncio.ensure_future(read_papers(held))]
            tasks += [asyncio.ensure_future(summarize_papers(held)) for _ in range(workers)]
            try:
                await asyncio.gather(*tasks)
            finally:
                for task in tasks:
                    task.cancel()  # only matters when the build itself is cancelled
                progress.close()
                if held in self._build_leases:
                    self._build_leases.remove(held)
        for record in records:
            report.llm_calls += record.calls
            report.prompt_tokens += record.prompt_tokens
            report.completion_tokens += record.completion_tokens
            report.summarized += record.status != "failed"
            report.failures += record.status == "failed"
            report.unverified += record.status == "unverified"
            report.abstract_only += record.status != "failed" and record.source == "abstract"
        if problems:
            unusable = summarizer.unusable
            if unusable is not None:  # one error shared by every paper it stopped: counted once
                report.llm_calls += unusable.calls
                report.prompt_tokens += unusable.prompt_tokens
                report.completion_tokens += unusable.completion_tokens
                raise unusable
            raise problems[0]
        if summarizer.not_answering:
            # What a push does right after (run's daily job) does not wait the LLM out again for every
            # chat: its cards go out with their abstracts, for LAZY_RETRY_SECONDS.
            self._lazy_unusable = (time.monotonic(), summarizer.not_answering_error())
        if fulltext_down():
            log.warning(
                "arXiv full texts kept failing: the remaining papers' breakdowns used their abstracts"
            )
        if llm.digest_token_budget and spent >= llm.digest_token_budget:
            log.warning(
                "token budget of %d reached (%d used): the remaining papers got abstract-only breakdowns",
                llm.digest_token_budget,
                spent,
            )

    def _wants_summary(self, paper_id: str, retry_failed: bool) -> bool:
        """Never attempted; or, with `retry_failed`, tried and failed, with no usable summary, and not
        retried by this process within LAZY_RETRY_SECONDS (a push's chats sharing a failed card ask
        once, not once each)."""
        if not self.store.has_summary_attempt(paper_id):
            return True
        if not retry_failed or self.store.best_summary(paper_id, self.settings.digest.language):
            return False
        retried = self._failed_retried.get(paper_id)
        return retried is None or time.monotonic() - retried >= LAZY_RETRY_SECONDS

    async def retry_failed(self, day: date, skip: Sequence[str] = ()) -> int:
        """Ask the LLM again for the papers of `day`'s stored digests (but those in `skip`, just built)
        whose summary failed: cards summarized on the spot by a push, or papers a reader asked about.
        A later push heals the cards sent without them. The number still without a summary."""
        papers: dict[str, Paper] = {}
        for key in self.store.digest_keys_for_date(day):
            digest = None if key in skip else self.store.load_digest(key)
            for item in digest.items if digest else ():
                if item.summary is None and self.store.has_summary_attempt(item.paper.versioned_id):
                    papers.setdefault(item.paper.versioned_id, item.paper)
        if not papers or self.summarizer is None:
            return len(papers)
        try:
            await self._summarize_lazily(list(papers.values()), retry_failed=True)
        except LLMUnusable as err:
            log.warning("%d papers of %s still without a summary: %s", len(papers), day, err)
            return len(papers)
        language = self.settings.digest.language
        return sum(self.store.best_summary(paper_id, language) is None for paper_id in papers)

    async def _summarize_lazily(self, papers: list[Paper], retry_failed: bool = False) -> None:
        """Summarize papers a build left for later (never attempted), each once even when several
        readers or chats ask at the same moment; with `retry_failed`, also those whose summary failed."""
        if self.summarizer is None:
            return
        if self._lazy_unusable is not None:
            since, unusable = self._lazy_unusable
            if time.monotonic() - since < LAZY_RETRY_SECONDS:
                raise unusable
        # A build of this process may have some in flight: its per-paper leases are this process's own,
        # so they do not stop us; wait for it to be done with those. (One it has not reached yet is
        # summarized here now, and the build skips it: it waits for _lazy_inflight, then finds it done.)
        names = {summary_lease(p.versioned_id) for p in papers}
        while any(names & held.names for held in self._build_leases):
            await asyncio.sleep(LAZY_POLL_SECONDS)
        waits: list[asyncio.Future[None]] = []
        todo: dict[str, Paper] = {}
        for paper in papers:
            key = paper.versioned_id
            if key in self._lazy_inflight:
                waits.append(self._lazy_inflight[key])
            elif self._wants_summary(key, retry_failed):
                todo[key] = paper
        if todo:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            for key in todo:
                self._lazy_inflight[key] = done
            try:
                # One process summarizes a paper: a push beside this one (or beside `run`) waits here,
                # then finds the paper done and pays for nothing.
                async with self.store.leases.hold([summary_lease(key) for key in todo]):
                    still = {k: p for k, p in todo.items() if self._wants_summary(k, retry_failed)}
                    now = time.monotonic()
                    self._failed_retried.update(dict.fromkeys(still, now))
                    await self._summarize_papers(still, self.lazy, _NoProgress())
            except LLMUnusable as err:
                self._lazy_unusable = (time.monotonic(), err)
                raise
            finally:
                for key in todo:
                    self._lazy_inflight.pop(key, None)
                done.set_result(None)
            log.info("summarized %d paper(s) on request", len(still))
        for wait in waits:
            await wait

    # -- archive ------------------------------------------------------------------------------
    def archive_path(self, digest: Digest) -> Path:
        name = f"{digest.date.isoformat()}-arxiv-daily"
        if category_key(digest.categories) != category_key(self.default_categories):
            name += "-" + "-".join(c.lower().replace(".", "-") for c in sorted(digest.categories))
        return self.settings.archive_dir / f"{name}.md"

    def _write_archive(self, digest: Digest) -> Path:
        path = self.archive_path(digest)
        try:
            write_atomically(path, render_post(digest))
        except OSError as err:
            raise StorageError(
                f"archive file {path} cannot be written ({err.strerror or type(err).__name__}); "
                "check that path, or set [storage] archive_dir to a folder this user may write"
            ) from None
        return path

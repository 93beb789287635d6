"""A digest ranked and cut for one chat: its follows, mutes and 👍/👎 ratings decide the order and which
papers are cards; the rest go to a compact overview. Pure functions over core values: no platform code,
no I/O except an in-memory SQLite, so any caller (the push, a build ordering its work) can reuse them.

The score of a paper for a chat is

    sum over followed terms that match it of  -bm25(term)          (SQLite FTS5 over title, abstract,
                                                                     authors; higher is a better match)
  + SIMILARITY_WEIGHT * (cos(paper, liked centroid) - cos(paper, disliked centroid))

where the centroids are the means of the embeddings of the papers the chat rated 👍 and 👎 (Rocchio's
classic relevance feedback: one dot product per paper, so ranking 400 papers for 50 chats stays cheap).
A paper matching a muted term is left out. Ties, and every paper of a chat without interests, keep the
digest's own order (arXiv id, newest first), so such a chat gets exactly the digest as built.

The FTS5 table is a temporary in-memory one over the day's candidates, built per ranking: BM25's
statistics are then those of the day, and nothing here touches the permanent search index.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from digest.embeddings import Vector, dot, normalise
from digest.interests import ChatInterests, Term
from digest.models import Digest, DigestItem, Paper, id_sort_key

log = logging.getLogger(__name__)

SIMILARITY_WEIGHT = 10.0  # one liked topic weighs about as much as a followed word found in an abstract
SIMILAR_AT = 0.45  # cosine from which a card says it is "similar to" a liked paper (text-embedding-3-*)
# Column weights for BM25: a word in the title says more than one in the abstract.
_BM25 = "bm25(candidates, 3.0, 1.0, 2.0)"


@dataclass(frozen=True)
class Why:
    """Why a paper ranks where it does for a chat: what it matched."""

    follows: tuple[str, ...] = ()  # the followed words, phrases and authors it matches
    liked: int = 0  # liked papers it is similar to

    @property
    def empty(self) -> bool:
        return not (self.follows or self.liked)


@dataclass(frozen=True)
class Ranked:
    item: DigestItem
    score: float
    why: Why = field(default_factory=Why)

    @property
    def paper(self) -> Paper:
        return self.item.paper


@dataclass(frozen=True)
class ChatDigest:
    """What one chat receives: `digest` is the chat's view of the stored digest (its items are the papers
    left after mutes, ranked), so its header counts are the chat's own."""

    digest: Digest
    ranked: tuple[Ranked, ...]
    max_cards: int
    muted: int = 0
    personalised: bool = False  # the chat has interests: cards say why they rank where they do

    @property
    def cards(self) -> tuple[Ranked, ...]:
        return self.ranked[: self.max_cards]

    @property
    def overview(self) -> tuple[Ranked, ...]:
        return self.ranked[self.max_cards :]


def fts_query(term: Term) -> str:
    """A Term as an FTS5 query that is always a quoted string, never syntax: a word matches as a prefix
    (codec finds codecs), a phrase as a phrase, an author in the authors column only."""
    quoted = '"' + term.text.replace('"', '""') + '"'
    if term.kind == "author":
        return f"authors : {quoted}"
    if term.kind == "word" and len(term.text) >= 4:
        return quoted + "*"
    return quoted


def match_terms(papers: Sequence[Paper], terms: Sequence[Term]) -> list[dict[Term, float]]:
    """For each paper (by position), the terms it matches and how well (-bm25, > 0)."""
    found: list[dict[Term, float]] = [{} for _ in papers]
    if not terms or not papers:
        return found
    conn = sqlite3.connect(":memory:")
    try:
        try:
            conn.execute(
                "create virtual table candidates using fts5("
                "title, abstract, authors, tokenize = 'unicode61 remove_diacritics 2')"
            )
        except sqlite3.OperationalError:
            # An SQLite built without FTS5 (rare; Python's and Debian's have it): rank without keywords
            # rather than fail the chat's digest.
            log.warning("SQLite has no FTS5: follows and mutes are not applied")
            return found
        conn.executemany(
            "insert into candidates (rowid, title, abstract, authors) values (?, ?, ?, ?)",
            [(i, p.title, p.abstract, " ; ".join(p.authors)) for i, p in enumerate(papers)],
        )
        for term in terms:
            try:
                rows = conn.execute(
                    f"select rowid, {_BM25} from candidates where candidates match ?", [fts_query(term)]
                ).fetchall()
            except sqlite3.OperationalError:
                continue  # a term FTS5 cannot tokenize into anything (e.g. only symbols): matches nothing
            for rowid, bm25 in rows:
                # bm25() is negative, lower is better; a tiny floor keeps a match in a huge corpus > 0
                found[rowid][term] = max(-bm25, 1e-6)
    finally:
        conn.close()
    return found


def centroid(vectors: Sequence[Vector]) -> Vector:
    usable = [v for v in vectors if v]
    if not usable:
        return ()
    dims = len(usable[0])
    usable = [v for v in usable if len(v) == dims]
    return normalise([math.fsum(v[i] for v in usable) for i in range(dims)])


def rank_for_chat(
    digest: Digest,
    interests: ChatInterests,
    max_cards: int,
    vectors: Mapping[str, Vector] | None = None,
    liked_vectors: Sequence[Vector] = (),
    disliked_vectors: Sequence[Vector] = (),
) -> ChatDigest:
    """The digest ranked for a chat. `vectors` holds embeddings of the digest's papers by versioned id;
    `liked_vectors` / `disliked_vectors` those of the papers the chat rated (any day)."""
    items = list(digest.items)
    papers = [item.paper for item in items]
    mutes = set(interests.mutes)
    matches = match_terms(papers, [*interests.follows, *mutes])
    liked_c, disliked_c = centroid(liked_vectors), centroid(disliked_vectors)
    vectors = vectors or {}
    ranked: list[Ranked] = []
    muted = 0
    for item, matched in zip(items, matches, strict=True):
        if mutes.intersection(matched):
            muted += 1
            continue
        followed = [t for t in interests.follows if t in matched]
        score = math.fsum(matched[t] for t in followed)
        vector = vectors.get(item.paper.versioned_id, ())
        if vector and (liked_c or disliked_c):
            score += SIMILARITY_WEIGHT * (
                (dot(vector, liked_c) if liked_c else 0.0) - (dot(vector, disliked_c) if disliked_c else 0.0)
            )
        ranked.append(Ranked(item, score, Why(follows=tuple(t.short for t in followed))))
    # Newest id first, then by score: a stable sort keeps the id order among equal scores.
    ranked.sort(key=lambda r: id_sort_key(r.paper.base_id), reverse=True)
    ranked.sort(key=lambda r: round(r.score, 9), reverse=True)
    max_cards = max(1, max_cards)
    if liked_vectors:
        # Only cards show a why-line, so only they need the per-liked-paper comparison.
        for i, entry in enumerate(ranked[:max_cards]):
            vector = vectors.get(entry.paper.versioned_id, ())
            close = sum(1 for liked in liked_vectors if vector and dot(vector, liked) >= SIMILAR_AT)
            if close:
                ranked[i] = replace(entry, why=replace(entry.why, liked=close))
    view = replace(digest, items=tuple(r.item for r in ranked))
    return ChatDigest(
        digest=view,
        ranked=tuple(ranked),
        max_cards=max_cards,
        muted=muted,
        personalised=not interests.empty,
    )


def card_ids_for_chat(
    digest: Digest,
    interests: ChatInterests,
    max_cards: int,
    vectors: Mapping[str, Vector] | None = None,
    liked_vectors: Sequence[Vector] = (),
    disliked_vectors: Sequence[Vector] = (),
) -> list[str]:
    """The base ids a chat gets as cards, best first (what a build summarizes up front)."""
    ranked = rank_for_chat(digest, interests, max_cards, vectors, liked_vectors, disliked_vectors)
    return [entry.paper.base_id for entry in ranked.cards]


_WHY = {
    "zh": {"follows": "关注：{terms}", "liked": "与你点赞的 {n} 篇论文相似", "sep": " ｜ "},
    "en": {"follows": "follows: {terms}", "liked": "similar to {n} papers you liked", "sep": "; "},
}


def why_line(why: Why, language: str) -> str:
    """Plain text ("follows: codec · Kamper · similar to 2 papers you liked"); each renderer escapes it."""
    words = _WHY.get(language, _WHY["en"])
    parts = []
    if why.follows:
        parts.append(words["follows"].format(terms=" · ".join(why.follows)))
    if why.liked:
        text = words["liked"].format(n=why.liked)
        parts.append(text.replace("papers", "paper") if why.liked == 1 and language != "zh" else text)
    return words["sep"].join(parts)


def keep_order(chat: ChatDigest, order: Sequence[str], max_cards: int) -> ChatDigest:
    """The chat's digest in an order fixed earlier (base ids, cards first): a push resumed after a crash
    sends the rest of what it started, even if the chat's ratings or the embeddings changed meanwhile,
    so no paper is shown twice or lost. Papers no longer in the ranking (muted since) stay out."""
    by_id = {r.paper.base_id: r for r in chat.ranked}
    ranked = tuple(by_id[base_id] for base_id in order if base_id in by_id)
    return replace(
        chat,
        ranked=ranked,
        max_cards=max(1, max_cards),
        digest=replace(chat.digest, items=tuple(r.item for r in ranked)),
    )

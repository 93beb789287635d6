"""What a chat follows and mutes, and how its readers rated papers: parsing commands and the stored rows.

A follow or mute is typed by a chat user (`/follow codec "speech enhancement" author:Kamper`), so it is
untrusted input: it is parsed into Terms here, bounded in number and length, and only ever reaches SQLite
as a bound parameter or as a quoted FTS5 string (digest/ranking.py), never as query syntax.

Ratings are (chat, reader, paper, +1/-1): pressing the same button again takes the rating back, pressing
the other one changes it. In a channel every reader's press counts toward the channel's taste: a paper
is 'liked' by the chat when its ratings sum above zero, 'disliked' below.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from digest.store import Store

FOLLOW, MUTE = "follow", "mute"
MAX_TERMS_PER_KIND = 50  # per chat: enough for a lab's interests, small enough to rank 400 papers fast
MAX_TERM_CHARS = 80
MAX_TERMS_PER_COMMAND = 20
AUTHOR_PREFIX = "author:"


class InterestError(ValueError):
    """A follow/mute the user can fix; the message is shown as is."""


@dataclass(frozen=True, order=True)
class Term:
    """One followed or muted thing: a word, a "quoted phrase", or an author's name."""

    kind: str  # "word" | "phrase" | "author"
    text: str  # as typed (normalised spaces), matched case-insensitively

    @property
    def label(self) -> str:
        """How it is stored and shown: codec, "speech codec", author:Kamper."""
        if self.kind == "author":
            return AUTHOR_PREFIX + self.text
        if self.kind == "phrase":
            return f'"{self.text}"'
        return self.text

    @property
    def short(self) -> str:
        """How a card's why-line names it: the word, the phrase, or the author's name."""
        return self.text

    @classmethod
    def from_label(cls, label: str) -> Term:
        if label.lower().startswith(AUTHOR_PREFIX):
            return cls("author", label[len(AUTHOR_PREFIX) :])
        if len(label) > 1 and label.startswith('"') and label.endswith('"'):
            return cls("phrase", label[1:-1])
        return cls("word", label)


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# A term must hold at least one letter or digit: FTS5 drops everything else, and a term of punctuation
# would match nothing (or, unquoted, be query syntax).
_WORDISH = re.compile(r"\w")


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    return re.sub(r"\s+", " ", _CONTROL.sub(" ", text)).strip()


_TOKEN = re.compile(r'(?i)author:"([^"]*)"|"([^"]*)"|(\S+)')


def parse_terms(text: str) -> list[Term]:
    """'codec "speech codec" author:Kamper author:"Herman Kamper"' -> Terms, repeats dropped.

    Quotes may be straight or typographic (phones type “ ”); an author with a space needs quotes.
    """
    text = _clean(text.replace("“", '"').replace("”", '"').replace("„", '"'))
    terms: list[Term] = []
    for match in _TOKEN.finditer(text):
        quoted_author, phrase, bare = match.groups()
        if quoted_author is not None:
            term = Term("author", _clean(quoted_author))
        elif phrase is not None:
            phrase = _clean(phrase)
            term = Term("phrase" if " " in phrase else "word", phrase)
        else:
            bare = bare.strip(',;"')
            if bare.lower().startswith(AUTHOR_PREFIX):
                term = Term("author", bare[len(AUTHOR_PREFIX) :].strip('"'))
            else:
                term = Term("word", bare)
        if not term.text and term.kind != "author":
            continue
        if len(term.text) > MAX_TERM_CHARS:
            raise InterestError(f"a term may have at most {MAX_TERM_CHARS} characters")
        if not _WORDISH.search(term.text):
            raise InterestError(f"{term.label!r} has no letters or digits to match")
        if term not in terms:
            terms.append(term)
    if not terms:
        raise InterestError('name at least one word, "quoted phrase" or author:Name')
    if len(terms) > MAX_TERMS_PER_COMMAND:
        raise InterestError(f"at most {MAX_TERMS_PER_COMMAND} terms at a time")
    return terms


@dataclass(frozen=True)
class ChatInterests:
    follows: tuple[Term, ...] = ()
    mutes: tuple[Term, ...] = ()
    liked: tuple[str, ...] = ()  # base ids the chat's ratings sum above zero
    disliked: tuple[str, ...] = ()
    ratings: int = 0  # rows: one per reader and paper

    @property
    def empty(self) -> bool:
        return not (self.follows or self.mutes or self.liked or self.disliked)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Interests:
    """Follows, mutes and ratings per chat, in the shared database (tables from store.py's migrations)."""

    def __init__(self, store: Store):
        self.db = store.db

    # -- follows and mutes ----------------------------------------------------------------------
    def add(self, platform: str, chat_id: str, kind: str, terms: list[Term]) -> list[Term]:
        """Add terms (follow or mute); return those that were new. InterestError past the cap."""
        have = self.terms(platform, chat_id, kind)
        new = [t for t in terms if t.label.casefold() not in {h.label.casefold() for h in have}]
        if len(have) + len(new) > MAX_TERMS_PER_KIND:
            raise InterestError(f"a chat may have at most {MAX_TERMS_PER_KIND} {kind}s")
        with self.db.conn:
            self.db.table("interests").insert_all(
                (
                    {
                        "platform": platform,
                        "chat_id": str(chat_id),
                        "kind": kind,
                        "term": t.label,
                        "created_at": _now(),
                    }
                    for t in new
                ),
                ignore=True,
            )
        return new

    def remove(self, platform: str, chat_id: str, terms: list[Term]) -> list[Term]:
        """Remove terms from both follows and mutes (unfollow undoes either); return those removed."""
        removed: list[Term] = []
        with self.db.conn:
            # Matched as add() matches (casefold) in Python: SQLite's lower() folds ASCII letters only,
            # so `/unfollow author:łukasz` would miss author:Łukasz.
            stored = list(
                self.db.query(
                    "select rowid, term from interests where platform = ? and chat_id = ?",
                    [platform, str(chat_id)],
                )
            )
            for term in terms:
                rowids = [row["rowid"] for row in stored if row["term"].casefold() == term.label.casefold()]
                if rowids:
                    self.db.execute(
                        "delete from interests where rowid in (select value from json_each(?))",
                        [json.dumps(rowids)],
                    )
                    removed.append(term)
        return removed

    def terms(self, platform: str, chat_id: str, kind: str) -> list[Term]:
        return [
            Term.from_label(row["term"])
            for row in self.db.query(
                "select term from interests where platform = ? and chat_id = ? and kind = ? order by rowid",
                [platform, str(chat_id), kind],
            )
        ]

    # -- ratings --------------------------------------------------------------------------------
    def rate(self, platform: str, chat_id: str, user_id: str, base_id: str, value: int) -> int:
        """Record a reader's +1/-1; the same press again takes it back. Return the rating now (0: none)."""
        if value not in (1, -1):
            raise ValueError("a rating is +1 or -1")
        key = [platform, str(chat_id), str(user_id), base_id]
        with self.db.conn:
            rows = list(
                self.db.query(
                    "select value from ratings where platform = ? and chat_id = ? and user_id = ? "
                    "and base_id = ?",
                    key,
                )
            )
            if rows and rows[0]["value"] == value:
                self.db.execute(
                    "delete from ratings where platform = ? and chat_id = ? and user_id = ? and base_id = ?",
                    key,
                )
                return 0
            self.db.table("ratings").upsert(
                {
                    "platform": platform,
                    "chat_id": str(chat_id),
                    "user_id": str(user_id),
                    "base_id": base_id,
                    "value": value,
                    "rated_at": _now(),
                },
                pk=("platform", "chat_id", "user_id", "base_id"),
            )
        return value

    def for_chat(self, platform: str, chat_id: str) -> ChatInterests:
        liked, disliked, count = [], [], 0
        for row in self.db.query(
            "select base_id, sum(value) as total, count(*) as n from ratings "
            "where platform = ? and chat_id = ? group by base_id order by max(rated_at), base_id",
            [platform, str(chat_id)],
        ):
            count += row["n"]
            if row["total"] > 0:
                liked.append(row["base_id"])
            elif row["total"] < 0:
                disliked.append(row["base_id"])
        return ChatInterests(
            follows=tuple(self.terms(platform, chat_id, FOLLOW)),
            mutes=tuple(self.terms(platform, chat_id, MUTE)),
            liked=tuple(liked),
            disliked=tuple(disliked),
            ratings=count,
        )

"""Full-text search over every paper the bot has stored: SQLite FTS5, best match first (bm25).

One row per paper in the permanent table `papers_fts`, under the paper's rowid in `papers` (FTS5 finds
and replaces rows by rowid at once; any other column of an FTS5 table is a full scan): title, authors,
abstract, and the LLM's translation and breakdown (every usable summary of any version, in any
language). The store re-indexes a paper in the same transaction that stores it or its summary, so the
index never lags.

What the input looks like, and why each rule exists:
- Readers type words, "a phrase" and author:Name (or author:"Jane Doe"). FTS5 has its own query
  language (AND, OR, NOT, NEAR, column filters, `*`, `^`, parentheses), in which a stray quote or a
  word like NOT is a syntax error or changes the meaning. So nothing the reader types reaches FTS5 as
  syntax: each term is reduced to its word characters and sent as a quoted phrase; `author:` becomes a
  column filter we write ourselves; a trailing `*` is kept as a prefix search.
- Chinese has no spaces, and FTS5's unicode61 tokenizer would take a whole run of Han characters for
  one word (a search for 语音 would never find 语音合成). Both the indexed text and the query are
  split into one token per CJK character, and a query term becomes a phrase of them, so it matches
  those characters in a row anywhere.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

import sqlite_utils

MAX_QUERY_CHARS = 300
MAX_TERMS = 12
DEFAULT_LIMIT = 10

# Column weights for bm25, in the table's column order: a title match counts most.
_WEIGHTS = "10.0, 6.0, 2.0, 2.0, 1.0"
_CJK = re.compile(
    r"([\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    r"\uac00-\ud7af\uf900-\ufaff])"
)
# author:Name, author:"Jane Doe", "a phrase" (an unclosed quote runs to the end), or a bare word
_TERM = re.compile(r'(?P<author>author:)?(?:"(?P<phrase>[^"]*)"?|(?P<word>[^\s"]+))', re.IGNORECASE)


class BadQuery(ValueError):
    """The reader's query holds nothing to search for, or too much; the message says which."""


@dataclass(frozen=True)
class SearchHit:
    base_id: str
    version: int
    title: str
    authors: tuple[str, ...]
    day: str  # YYYY-MM-DD: the first digest that showed it, else its first arXiv version's date

    @property
    def versioned_id(self) -> str:
        return f"{self.base_id}v{self.version}"

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.versioned_id}"


def segment(text: str) -> str:
    """One token per CJK character, for the unicode61 tokenizer."""
    return _CJK.sub(r" \1 ", text or "")


def _phrase(text: str) -> str | None:
    words = re.findall(r"\w+", segment(text))
    if not words:
        return None
    return '"' + " ".join(words).replace('"', '""') + '"'


def to_fts_query(query: str) -> str:
    """The reader's query as an FTS5 MATCH expression that cannot be a syntax error; BadQuery if empty."""
    query = (query or "").strip()
    if len(query) > MAX_QUERY_CHARS:
        raise BadQuery(f"the query is longer than {MAX_QUERY_CHARS} characters")
    terms: list[str] = []
    for match in _TERM.finditer(query):
        raw = match["phrase"] if match["phrase"] is not None else match["word"] or ""
        prefix = match["word"] is not None and raw.endswith("*")
        phrase = _phrase(raw)
        if phrase is None:
            continue
        term = phrase + (" *" if prefix else "")
        terms.append(f"authors : {term}" if match["author"] else term)
    if not terms:
        raise BadQuery('nothing to search for: give words, a "phrase" or author:Name')
    if len(terms) > MAX_TERMS:
        raise BadQuery(f"at most {MAX_TERMS} words or phrases")
    return " AND ".join(terms)


# -- the index --------------------------------------------------------------------------------


def create_index(db: sqlite_utils.Database) -> None:
    db.execute(
        "create virtual table papers_fts using fts5("
        "title, authors, abstract, translation, breakdown, "
        "tokenize = 'porter unicode61 remove_diacritics 2')"
    )


def index_papers(db: sqlite_utils.Database, base_ids: Iterable[str]) -> None:
    """(Re)write the index rows of these papers from what is stored now. Call inside the transaction
    that stored them."""
    conn = db.conn
    for base_id in dict.fromkeys(base_ids):
        paper = conn.execute(
            "select rowid, title, authors, abstract from papers where base_id = ?", [base_id]
        ).fetchone()
        if paper is None:
            continue
        rowid, title, authors, abstract = paper
        conn.execute("delete from papers_fts where rowid = ?", [rowid])
        # Every usable summary of any version: the range stays on the primary key's index.
        summaries = conn.execute(
            "select translation, background, method, results from summaries "
            "where paper_id > ? and paper_id < ? and status != 'failed' order by updated_at desc",
            [base_id + "v", base_id + "w"],
        ).fetchall()
        translations = dict.fromkeys(row[0] for row in summaries if row[0])
        breakdowns = dict.fromkeys(part for row in summaries for part in row[1:] if part)
        conn.execute(
            "insert into papers_fts (rowid, title, authors, abstract, translation, breakdown) "
            "values (?, ?, ?, ?, ?, ?)",
            [
                rowid,
                segment(title),
                segment(", ".join(json.loads(authors or "[]"))),
                segment(abstract),
                segment("\n".join(translations)),
                segment("\n".join(breakdowns)),
            ],
        )


def index_all(db: sqlite_utils.Database) -> None:
    index_papers(db, [row[0] for row in db.conn.execute("select base_id from papers")])


# -- queries ----------------------------------------------------------------------------------


def search(db: sqlite_utils.Database, query: str, limit: int = DEFAULT_LIMIT) -> list[SearchHit]:
    """Up to `limit` papers matching the reader's query, best first. BadQuery for an unusable query."""
    expression = to_fts_query(query)
    # Rank and cut first; only the few results left are joined and dated.
    sql = (
        "with best as (select rowid, bm25(papers_fts, "
        + _WEIGHTS
        + ") as score from papers_fts where papers_fts match ? order by score limit ?) "
        "select p.base_id, p.version, p.title, p.authors, p.published, "
        "(select min(d.date) from digest_items i join digests d on d.key = i.digest_key "
        " where i.base_id = p.base_id) as shown_on "
        "from best join papers p on p.rowid = best.rowid order by best.score"
    )
    try:
        rows = db.conn.execute(sql, [expression, max(1, min(limit, 50))]).fetchall()
    except sqlite3.OperationalError as err:  # e.g. an FTS5 limit; never the reader's fault to see a trace
        raise BadQuery(f"this query cannot be searched ({err})") from None
    return [
        SearchHit(
            base_id=base_id,
            version=version,
            title=title,
            authors=tuple(json.loads(authors or "[]")),
            day=shown_on or (published or "")[:10],
        )
        for base_id, version, title, authors, published, shown_on in rows
    ]


class PaperSearch:
    """search() bound to a store's database, for the adapters and the CLI."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def __call__(self, query: str, limit: int = DEFAULT_LIMIT) -> list[SearchHit]:
        return search(self.db, query, limit)

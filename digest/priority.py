"""Which papers a build works on first: those some chat will receive as cards, before the rest.

On a big day a build takes longer than the time between arXiv's announcement and `publish_at` allows
for every paper (full texts come one request at a time, with arXiv's pause between them), but a chat
only needs its own cards to be summarized before its push can start; the rest of the digest (the
archive's other papers, a chat's overview of the papers below its cards) can follow. So the build takes
its work in this order: every chat's first card, then every chat's second card, and so on (no chat
waits for another chat's long tail), then every other paper of the day's digests in their own order.

Which papers are a chat's cards, and in what order, is the ranking's business (digest/ranking.py: its
top `max_cards`); a chat without interests gets the digest's first papers, in arXiv order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from digest.models import Digest


def all_ids(digest: Digest) -> list[str]:
    return [item.paper.versioned_id for item in digest.items]


def cards_first(card_lists: Iterable[Sequence[str]], digests: Iterable[Digest]) -> list[str]:
    """Every paper of `digests` once: chats' cards rank by rank across chats, then the others in order."""
    lists = [list(cards) for cards in card_lists]
    order: dict[str, None] = {}
    for rank in range(max((len(cards) for cards in lists), default=0)):
        for cards in lists:
            if rank < len(cards):
                order.setdefault(cards[rank], None)
    for digest in digests:
        for paper_id in all_ids(digest):
            order.setdefault(paper_id, None)
    return list(order)

"""Which papers a build works on first: those some chat will receive as cards, before the rest.

On a big day a build takes longer than the time between arXiv's announcement and `publish_at` allows
for every paper (full texts come one request at a time, with arXiv's pause between them), but a chat
only needs its own cards to be summarized before its push can start; the rest of the digest (the
archive's other papers, a chat's overview of the papers below its cards) can follow. So the build takes
its work in this order: every chat's first card, then every chat's second card, and so on (no chat
waits for another chat's long tail), then every other paper of the day's digests in their own order.

Which papers are a chat's cards is the ranking's business (`CardPicker`); until a chat has interests,
every paper of its digest is a card, in arXiv order, as the push renders it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from digest.models import Digest
from digest.store import Subscription


class CardPicker(Protocol):
    def card_ids(self, digest: Digest, subscription: Subscription) -> Sequence[str]:
        """The versioned ids of the papers this chat receives as cards from this digest, best first."""
        ...


class EveryPaperIsACard:
    """No ranking: a chat receives every paper of its digest as a card, in the digest's order."""

    def card_ids(self, digest: Digest, subscription: Subscription) -> Sequence[str]:
        return all_ids(digest)


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

"""The build's work order (cards first, rank by rank across chats) and how pushes wait on a build."""

from __future__ import annotations

import asyncio

from digest.priority import cards_first
from digest.readiness import BuildProgress
from tests.telegram_support import make_digest, seed_items


def test_every_chats_first_card_comes_before_any_second_then_the_rest_in_order():
    digest = make_digest(seed_items())
    ids = [item.paper.versioned_id for item in digest.items]
    chats = [[ids[7], ids[5]], [ids[6]], [ids[7], ids[2], ids[4]]]
    order = cards_first(chats, [digest])
    assert order[:5] == [ids[7], ids[6], ids[5], ids[2], ids[4]]
    assert order[5:] == [ids[0], ids[1], ids[3]]  # the archive's other papers, in arXiv order
    assert cards_first([], [digest]) == ids


async def test_a_push_waits_for_its_own_papers_only():
    progress = BuildProgress()
    progress.begin()
    waiter = asyncio.create_task(progress.papers(["a", "b"]))
    membership = asyncio.create_task(progress.membership())
    await asyncio.sleep(0)
    assert not membership.done()
    progress.select(["a", "b", "c"])
    await asyncio.sleep(0)
    assert membership.done() and not waiter.done()
    progress.done("a")
    progress.done("c")
    await asyncio.sleep(0)
    assert not waiter.done()
    progress.done("b")
    await asyncio.sleep(0)
    assert waiter.done()


async def test_a_build_that_ends_releases_every_waiter():
    progress = BuildProgress()
    progress.begin()
    progress.select(["a"])
    waiter = asyncio.create_task(progress.papers(["a"]))
    await asyncio.sleep(0)
    progress.end()  # failed, or finished without this paper (it is shown with its abstract)
    await asyncio.wait_for(waiter, timeout=1)

"""Interests, ratings and the per-chat ranking: parsing hostile terms, FTS5 matching, the order, the
cut into cards and overview, and the embeddings client against the fake /embeddings endpoint."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from openai import AsyncOpenAI

from digest.embeddings import Embedder
from digest.interests import FOLLOW, MUTE, ChatInterests, InterestError, Interests, Term, parse_terms
from digest.ranking import card_ids_for_chat, rank_for_chat, why_line
from digest.store import Store
from tests.fakes.openai_api import FakeLLM, embed_text
from tests.fakes.server import BackgroundServer
from tests.ranking_data import topic_items, with_authors
from tests.telegram_support import make_digest, seed_items


def test_terms_are_parsed_into_words_phrases_and_authors() -> None:
    terms = parse_terms('codec, "speech  codec" author:Kamper author:"Herman Kamper" “neural vocoder” codec')
    assert terms == [
        Term("word", "codec"),
        Term("phrase", "speech codec"),
        Term("author", "Kamper"),
        Term("author", "Herman Kamper"),
        Term("phrase", "neural vocoder"),
    ]
    assert [t.label for t in terms][:3] == ["codec", '"speech codec"', "author:Kamper"]
    assert Term.from_label('"speech codec"') == terms[1]
    assert Term.from_label("author:Herman Kamper") == terms[3]


@pytest.mark.parametrize(
    "text", ["", "   ", '""', "!!! ???", "author:", "x" * 81, " ".join(f"w{i}" for i in range(21))]
)
def test_unusable_terms_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(InterestError) as refused:
        parse_terms(text)
    assert len(str(refused.value)) < 120  # a short reason, never the input echoed back at length


def test_a_long_run_of_symbols_is_refused_briefly() -> None:
    with pytest.raises(InterestError, match="at most 80 characters"):
        parse_terms("!" * 4000)


@pytest.mark.parametrize(
    "text", ["NEAR(a b)", "a OR b", "-codec", "title:codec", "codec*", '"un"closed', "^start", "a AND NOT b"]
)
def test_fts5_syntax_in_a_term_is_only_ever_text(text: str) -> None:
    items = topic_items([("codec", 2), ("music", 2)], "2602.1")
    interests = ChatInterests(follows=tuple(parse_terms(text)))
    ranked = rank_for_chat(make_digest(items), interests, max_cards=10)
    assert sorted(r.paper.base_id for r in ranked.ranked) == sorted(i.paper.base_id for i in items)


def test_a_chat_without_interests_gets_the_digest_as_built() -> None:
    digest = make_digest(seed_items())
    ranked = rank_for_chat(digest, ChatInterests(), max_cards=10)
    assert [r.item for r in ranked.cards] == list(digest.items)
    assert ranked.overview == () and ranked.digest.items == digest.items
    assert not ranked.personalised


def test_follows_rank_first_mutes_are_left_out_ties_keep_id_order() -> None:
    items = topic_items([("codec", 3), ("music", 3), ("survey", 2), ("vision", 4)], "2602.1")
    items[-1] = with_authors(items[-1], "Herman Kamper", "Ada Lovelace")
    digest = make_digest(items, fetched=30)
    interests = ChatInterests(
        follows=(Term("word", "codec"), Term("author", "Kamper")), mutes=(Term("word", "survey"),)
    )
    ranked = rank_for_chat(digest, interests, max_cards=4)
    titles = [r.paper.title for r in ranked.ranked]
    assert not any("survey" in t for t in titles) and ranked.muted == 2
    assert ranked.digest.shown == 10 and ranked.digest.fetched == 30  # the chat's own header counts
    top = ranked.cards
    assert {r.paper.title for r in top} == {
        *(f"Neural speech codec {n}" for n in (1, 2, 3)),
        items[-1].paper.title,
    }
    whys = {r.paper.title: r.why.follows for r in top}
    assert whys[items[-1].paper.title] == ("Kamper",) and whys["Neural speech codec 1"] == ("codec",)
    assert all(r.score > 0 for r in top) and all(r.score == 0 for r in ranked.overview)
    rest = ranked.overview
    assert [r.paper.base_id for r in rest] == sorted((r.paper.base_id for r in rest), reverse=True)
    assert why_line(replace(top[0].why, follows=("codec", "Kamper"), liked=1), "en") == (
        "follows: codec · Kamper; similar to 1 paper you liked"
    )
    assert card_ids_for_chat(digest, interests, 4) == [r.paper.base_id for r in top]


def test_an_author_term_matches_authors_only() -> None:
    items = topic_items([("codec", 2)], "2602.1")
    items[0] = replace(items[0], paper=replace(items[0].paper, abstract="Kamper is mentioned here."))
    ranked = rank_for_chat(make_digest(items), ChatInterests(follows=(Term("author", "Kamper"),)), 1)
    assert all(not r.why.follows for r in ranked.ranked)


def test_liked_and_disliked_papers_move_similar_ones() -> None:
    day_one = topic_items([("codec", 2), ("music", 2)], "2601.1")
    vectors = {
        i.paper.versioned_id: tuple(embed_text(f"{i.paper.title}\n\n{i.paper.abstract}")) for i in day_one
    }
    liked = [vectors[i.paper.versioned_id] for i in day_one if "codec" in i.paper.title]
    disliked = [vectors[i.paper.versioned_id] for i in day_one if "music" in i.paper.title]
    today = topic_items([("music", 3), ("vision", 3), ("codec", 3)], "2602.1")
    today_vectors = {
        i.paper.versioned_id: tuple(embed_text(f"{i.paper.title}\n\n{i.paper.abstract}")) for i in today
    }
    interests = ChatInterests(liked=("2601.10004",), disliked=("2601.10002",))
    ranked = rank_for_chat(make_digest(today), interests, 3, today_vectors, liked, disliked)
    assert all("codec" in r.paper.title for r in ranked.cards)
    assert all(r.why.liked == 2 for r in ranked.cards)
    assert all("music" in r.paper.title for r in ranked.ranked[-3:])
    assert why_line(ranked.cards[0].why, "zh") == "与你点赞的 2 篇论文相似"


def test_ratings_toggle_and_sum_per_chat() -> None:
    interests = Interests(Store.memory())
    assert interests.rate("telegram", "-1", "u1", "2602.00001", 1) == 1
    assert interests.rate("telegram", "-1", "u1", "2602.00001", 1) == 0  # pressed again: taken back
    assert interests.rate("telegram", "-1", "u1", "2602.00001", -1) == -1
    assert interests.rate("telegram", "-1", "u2", "2602.00001", 1) == 1
    assert interests.rate("telegram", "-1", "u3", "2602.00001", 1) == 1
    assert interests.rate("telegram", "-1", "u1", "2602.00002", -1) == -1
    mine = interests.for_chat("telegram", "-1")
    assert mine.liked == ("2602.00001",) and mine.disliked == ("2602.00002",) and mine.ratings == 4
    assert interests.for_chat("telegram", "-2").empty
    with pytest.raises(ValueError):
        interests.rate("telegram", "-1", "u1", "2602.00001", 5)


def test_follows_and_mutes_are_stored_capped_and_removed() -> None:
    interests = Interests(Store.memory())
    assert interests.add("discord", "9", FOLLOW, parse_terms('codec "speech codec"')) != []
    assert interests.add("discord", "9", FOLLOW, parse_terms("Codec")) == []  # already there
    interests.add("discord", "9", MUTE, parse_terms("survey"))
    mine = interests.for_chat("discord", "9")
    assert [t.label for t in mine.follows] == ["codec", '"speech codec"'] and mine.mutes == (
        Term("word", "survey"),
    )
    assert interests.remove("discord", "9", parse_terms("survey nothing")) == [Term("word", "survey")]
    # Unfollow matches as follow does, whatever the letters' case (SQLite's lower() folds ASCII only).
    interests.add("discord", "9", FOLLOW, parse_terms("Ångström author:Łukasz"))
    assert interests.remove("discord", "9", parse_terms("ångström author:łukasz")) == [
        Term("word", "ångström"),
        Term("author", "łukasz"),
    ]
    assert [t.label for t in interests.for_chat("discord", "9").follows] == ["codec", '"speech codec"']
    with pytest.raises(InterestError):
        for n in range(3):
            interests.add("discord", "9", FOLLOW, parse_terms(" ".join(f"w{n}x{i}" for i in range(20))))


async def test_embeddings_are_batched_cached_and_survive_a_failing_endpoint(caplog: pytest.LogCaptureFixture):
    fake = FakeLLM()
    items = topic_items([("codec", 60), ("music", 70)], "2602.1")
    papers = [i.paper for i in items]
    with BackgroundServer(fake.app()) as server:
        client = AsyncOpenAI(api_key="sk-test", base_url=f"{server.url}/v1", max_retries=0)
        store = Store.memory()
        embedder = Embedder(client, "text-embedding-3-small", store, batch=50)
        vectors = await embedder.vectors(papers)
        assert len(vectors) == 130 and len(fake.embedding_requests) == 3  # 50 + 50 + 30
        assert await embedder.vectors(papers[:10]) == {
            p.versioned_id: vectors[p.versioned_id] for p in papers[:10]
        }
        assert len(fake.embedding_requests) == 3  # cached: embedded once
        fake.embeddings_status = 500
        other = [replace(p, base_id=p.base_id.replace("2602.1", "2602.2")) for p in papers[:5]]
        with caplog.at_level(logging.WARNING):
            assert await embedder.vectors([*papers[:5], *other]) == {
                p.versioned_id: vectors[p.versioned_id] for p in papers[:5]
            }
        assert "ranking without them" in caplog.text
        assert "sk-test" not in caplog.text
        await client.close()


async def test_embeddings_refused_once_are_not_asked_again_with_that_key(caplog: pytest.LogCaptureFixture):
    """A wrong key (401) is final: ranking fifty chats must not send it fifty more times."""
    fake = FakeLLM(api_keys={"sk-right-key"})
    papers = [i.paper for i in topic_items([("codec", 3)], "2602.1")]
    with BackgroundServer(fake.app()) as server:
        client = AsyncOpenAI(api_key="sk-wrong-key", base_url=f"{server.url}/v1", max_retries=0)
        embedder = Embedder(client, "text-embedding-3-small", Store.memory())
        with caplog.at_level(logging.WARNING):
            for _chat in range(3):
                assert await embedder.vectors(papers) == {}
        assert embedder.requests == 1 and embedder.refused and "401" in embedder.refused
        assert "OPENAI_API_KEY" in caplog.text and "sk-wrong-key" not in caplog.text
        await client.close()

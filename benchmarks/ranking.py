"""Benchmark the per-chat digest (issue 11): a 400-paper day, 50 chats of different interests.

    python benchmarks/ranking.py [--papers N] [--chats C] [--seed S]

Everything runs through the real service (real SQLite file, the real `openai` client) against the fake
OpenAI server (chat completions and /embeddings, in a background thread, no latency). The chats
subscribe to a category set that is not the archived one, so the build summarizes only what some chat
shows as a card; each chat follows a few topic words and an author, mutes one word, and half of them
rated papers of the day before (so the embeddings are used).

It prints, per platform, the messages per chat (today: one card per paper), the LLM calls and tokens of
the build against summarizing every paper, the embedding requests and inputs, and the time to rank the
day for one chat (mean, p95, max).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DAY, YESTERDAY = date(2026, 2, 18), date(2026, 2, 17)
CATEGORIES = ("cs.CL", "cs.LG")

TOPICS = {
    "speech": "speech recognition acoustic model word error rate",
    "codec": "neural audio codec quantization bitrate tokens",
    "translation": "machine translation multilingual low resource languages",
    "reasoning": "chain of thought reasoning mathematical problems",
    "retrieval": "retrieval augmented generation documents passages",
    "alignment": "preference optimization alignment human feedback reward",
    "vision": "vision language model image captioning grounding",
    "agents": "tool use agents planning environments web",
    "efficiency": "quantization pruning inference efficiency memory",
    "safety": "jailbreak attacks safety refusal red teaming",
    "graphs": "graph neural networks message passing molecules",
    "robotics": "robot manipulation policy learning demonstrations",
}
AUTHORS = [f"Author{n}" for n in range(200)]
FILLER = (
    "We propose a method and evaluate it on several public benchmarks, showing consistent gains over "
    "strong baselines while keeping the cost low; we release code and models. "
)


def make_papers(n: int, prefix: str, rng: random.Random):
    from digest.models import Paper

    papers = []
    names = list(TOPICS)
    for i in range(n):
        main, second = rng.sample(names, 2)
        words = TOPICS[main].split()
        title = " ".join(rng.sample(words, 3)).capitalize() + f" via {TOPICS[second].split()[0]}"
        abstract = f"{TOPICS[main]}. {FILLER}{TOPICS[main]} with {TOPICS[second]}. " + FILLER * 4
        moment = datetime(2026, 2, 17, 12, tzinfo=UTC)
        papers.append(
            Paper(
                base_id=f"{prefix}{n - i:04d}",
                version=1,
                title=title,
                authors=tuple(rng.sample(AUTHORS, 4)),
                categories=CATEGORIES,
                published=moment,
                updated=moment,
                abstract=abstract,
            )
        )
    return papers


def store_day(store, day: date, categories, papers, fetched: int) -> None:
    from digest.models import Digest
    from digest.window import window_for

    digest = Digest(
        key=Digest.make_key(day, categories),
        date=day,
        categories=tuple(categories),
        window=window_for(day, "Asia/Shanghai", "08:50"),
        fetched=fetched,
        language="zh",
    )
    store.upsert_papers(papers)
    store.create_digest(digest, papers, "", "")


def config(tmp: Path) -> Path:
    path = tmp / "bench.toml"
    path.write_text(
        """
[digest]
categories = ["cs.SD"]
[arxiv]
api_url = "http://127.0.0.1:9/api/query"
delay_seconds = 0
fulltext = false
[llm]
concurrency = 16
retries = 0
""",
        encoding="utf-8",
    )
    return path


def figures(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return f"mean {statistics.mean(values):.1f}, median {statistics.median(values):.0f}, p95 {p95:.1f}, max {ordered[-1]:.1f}"


async def run(args: argparse.Namespace) -> None:
    from adapters.discord import render as discord_render
    from adapters.telegram.render import render_chat_digest
    from bot.wiring import make_service
    from config.settings import load_settings
    from digest.interests import FOLLOW, MUTE, Term
    from tests.fakes.openai_api import FakeLLM
    from tests.fakes.server import BackgroundServer

    rng = random.Random(args.seed)
    llm = FakeLLM()
    with tempfile.TemporaryDirectory() as tmp_dir, BackgroundServer(llm.app()) as server:
        tmp = Path(tmp_dir)
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-bench"}
        settings = load_settings(config(tmp), env, base_dir=tmp)
        service = make_service(settings)
        store = service.store
        yesterday = make_papers(100, "2602.1", rng)
        today = make_papers(args.papers, "2602.2", rng)
        store_day(store, YESTERDAY, CATEGORIES, yesterday, 100)
        store_day(store, DAY, CATEGORIES, today, args.papers + 37)
        store_day(store, DAY, ("cs.SD",), [], 0)  # the archived set: empty, so no arXiv fetch

        chats = []
        for n in range(args.chats):
            platform, chat_id = (
                ("telegram", f"-100{n}")
                if n % 3 == 0
                else ("telegram", f"{5000 + n}")
                if n % 3 == 1
                else ("discord", f"9{n:05d}")
            )
            store.subscribe(platform, chat_id, list(CATEGORIES), f"chat {n}")
            liked_topics = rng.sample(list(TOPICS), 2)
            terms = [Term("word", TOPICS[t].split()[0]) for t in liked_topics]
            terms.append(Term("author", rng.choice(AUTHORS)))
            service.interests.add(platform, chat_id, FOLLOW, terms)
            service.interests.add(platform, chat_id, MUTE, [Term("word", rng.choice(list(TOPICS)))])
            if n % 2 == 0:  # half the chats rated yesterday's papers
                for paper in rng.sample(yesterday, 12):
                    vote = 1 if any(TOPICS[t].split()[0] in paper.abstract for t in liked_topics) else -1
                    service.interests.rate(platform, chat_id, f"u{n}", paper.base_id, vote)
            chats.append((platform, chat_id))

        began = time.perf_counter()
        report = await service.build_all(DAY)
        build_seconds = time.perf_counter() - began
        embed_requests, embed_inputs = len(llm.embedding_requests), llm.embedded_inputs
        digest = next(d for d in report.digests if d.shown)

        per_chat: dict[str, list[float]] = {"telegram": [], "discord": []}
        rank_seconds: list[float] = []
        cards_total = set()
        for platform, chat_id in chats:
            began = time.perf_counter()
            ranked = await service._rank(digest, platform, chat_id)
            rank_seconds.append((time.perf_counter() - began) * 1000)
            cards_total.update(r.paper.base_id for r in ranked.cards)
            mine = await service.chat_digest(digest, platform, chat_id)
            if platform == "telegram":
                per_chat["telegram"].append(len(render_chat_digest(mine, "DigestBot")))
            else:
                per_chat["discord"].append(len(discord_render.chat_digest_messages(mine)))
        lazy_calls = service.lazy.llm_calls

        # Against summarizing every paper: the same day built as an archived digest in a fresh database.
        (tmp / "all").mkdir()
        settings_all = load_settings(config(tmp / "all"), env, base_dir=tmp / "all")
        service_all = make_service(settings_all)
        store_day(service_all.store, DAY, CATEGORIES, today, args.papers)
        report_all = await service_all.build(DAY, [list(CATEGORIES)], archive_all=True)

        print(
            f"{args.papers}-paper day, {args.chats} chats ({sum(1 for p, _ in chats if p == 'telegram')} Telegram, "
            f"{sum(1 for p, _ in chats if p == 'discord')} Discord); today every paper is a card"
        )
        today_tg = 1 + args.papers
        today_dc = len(discord_render.digest_messages(digest))
        print(f"messages per Telegram chat: {figures(per_chat['telegram'])} (was {today_tg})")
        print(f"messages per Discord channel: {figures(per_chat['discord'])} (was {today_dc})")
        print(
            f"LLM at build: {report.llm_calls} calls, {report.prompt_tokens + report.completion_tokens} tokens "
            f"for {report.summarized} papers shown as a card somewhere ({len(cards_total)} distinct cards; "
            f"{report.deferred} left for readers to ask); summarizing everything: {report_all.llm_calls} calls, "
            f"{report_all.prompt_tokens + report_all.completion_tokens} tokens "
            f"({(report.prompt_tokens + report.completion_tokens) / max(1, report_all.prompt_tokens + report_all.completion_tokens):.0%})"
        )
        print(f"LLM calls while pushing (cards a build did not foresee): {lazy_calls}")
        print(f"build wall time: {build_seconds:.2f}s (embeddings and ranking for every subscriber included)")
        print(
            f"embedding requests: {embed_requests} ({embed_inputs} inputs: each paper once, "
            f"{len(today)} today + those rated yesterday); after the build: {len(llm.embedding_requests) - embed_requests}"
        )
        print(f"ranking time per chat (ms): {figures(rank_seconds)}")
        await service.aclose()
        await service_all.aclose()
        service.store.close()
        service_all.store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--papers", type=int, default=400)
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--seed", type=int, default=11)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

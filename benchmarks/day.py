"""A big day, end to end: when does the last chat's last message leave, relative to `publish_at`?

    python benchmarks/day.py [--papers 400] [--chats 50] [--scale 0.01] [--quick]

400 papers in the window of 2026-02-18 (cs.SD/eess.AS, Asia/Shanghai, anchor 08:50, publish_at 09:30),
each with an HTML full text; 50 Telegram channels, each following its own topics (so each ranks its own
top `max_cards` = 10 cards, then an overview of the rest); arXiv's 3-second pause between requests and a
10-second LLM latency with `llm.concurrency` = 8. The real service, ranking, scheduler (bot.run.daily_job)
and Telegram runtime (python-telegram-bot) talk to the fakes: arXiv and the LLM in a child process, the Bot
API in this one, enforcing Telegram's limits (30 messages a second overall, 20 a minute per channel).

Two clocks, so that a day runs in a minute or two:
- the build's clock is scaled (`--scale`, default 1/100): arXiv's pause, the LLM's latency and the time
  between the build's start and `publish_at` (20 minutes on that day, from digest/schedule.py) are all
  multiplied by it, and build times are reported divided by it, in real-world seconds;
- Telegram runs at its real limits (the fan-out is what is measured against its own limit), so push
  times are real seconds.

Figures, after `publish_at`:
- limit: the fan-out alone, the messages sent divided by 30 per second;
- today's design: the build starts at `publish_at`, then the push (build time on the scaled clock, converted,
  plus the push's real time);
- this design: the build starts when the window has closed and arXiv has announced (+ the margin), cards
  first; the push starts at `publish_at`, each chat as soon as its cards are ready.
Aim (issue 13): this design's last message within 10% of the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.fakes_process import Fakes  # noqa: E402

DAY = date(2026, 2, 18)
WINDOW_START = datetime(2026, 2, 17, 0, 50, tzinfo=UTC)  # [2026-02-17 08:50, 2026-02-18 08:50) Shanghai
WINDOW_END = datetime(2026, 2, 18, 0, 50, tzinfo=UTC)
ARXIV_PAUSE = 3.0  # seconds between arXiv requests, as arXiv asks
LLM_LATENCY = 10.0  # seconds per LLM request
TELEGRAM_RATE = 30.0  # messages a second overall
AIM = 1.10
TOPICS = [
    "codec",
    "diarization",
    "separation",
    "enhancement",
    "vocoder",
    "beamforming",
    "dereverberation",
    "keyword",
    "emotion",
    "singing",
    "music-generation",
    "captioning",
    "spoofing",
    "watermarking",
    "lipreading",
    "prosody",
    "voice-conversion",
    "tokenizer",
    "localization",
    "hearing-aids",
    "bioacoustics",
    "accent",
    "stuttering",
    "dysarthria",
    "podcasts",
]
RESULTS = "Our model improves the score by 12.5% over 3 baselines."


def topic_of(i: int) -> str:
    return TOPICS[i % len(TOPICS)]


def entries(n: int) -> list[Any]:
    from tests.fakes.arxiv_api import entry

    span = (WINDOW_END - WINDOW_START).total_seconds()
    cats = [("cs.SD",), ("eess.AS",), ("cs.SD", "eess.AS")]
    out = []
    for i in range(n):
        updated = WINDOW_START + timedelta(minutes=int(span / 60 * (i + 0.5) / n))
        title = f"Robust {topic_of(i).replace('-', ' ')} for realistic conditions, study {i}"
        out.append(entry(f"2602.{10000 + i:05d}v1", updated, cats[i % len(cats)], title=title))
    return out


def serve_fakes(conn: Any, papers: int, latency: float) -> None:
    """Child process: the arXiv API (with each paper's HTML) and the LLM, on 127.0.0.1."""
    sys.path.insert(0, str(ROOT))
    from tests.fakes.arxiv_api import FakeArxiv
    from tests.fakes.arxiv_fulltext import latexml_html, synthetic_paper
    from tests.fakes.openai_api import FakeLLM
    from tests.fakes.server import BackgroundServer

    arxiv = FakeArxiv()
    arxiv.add(*entries(papers))
    for i, e in enumerate(arxiv.entries):
        # Short papers: parsing is CPU time that the scaled clock would not scale.
        html = latexml_html(synthetic_paper(i, target_chars=4000, results_sentence=RESULTS))
        arxiv.fulltext[f"/html/{e.id}"] = ("text/html", html)
    llm = FakeLLM(latency=latency)
    with BackgroundServer(arxiv.app()) as arxiv_server, BackgroundServer(llm.app()) as llm_server:
        conn.send((arxiv_server.url, llm_server.url))
        while conn.recv() == "stats":
            with llm._lock:
                conn.send({"llm_requests": len(llm.requests), "max_in_flight": llm.max_in_flight})


CONFIG = """
[digest]
categories = ["cs.SD", "eess.AS"]
timezone = "Asia/Shanghai"
anchor = "08:50"
publish_at = "09:30"
language = "zh"
[arxiv]
api_url = "{arxiv}/api/query"
html_url = "{arxiv}/html/{{id}}"
pdf_url = "{arxiv}/pdf/{{id}}"
delay_seconds = {delay}
retries = 3
page_size = 200
[llm]
concurrency = 8
retries = 2
embedding_model = ""
[storage]
database = "{root}/data/digest.db"
archive_dir = "{root}/archive/_posts"
[telegram]
api_base_url = "{telegram}"
"""


@dataclass
class Outcome:
    sent: int = 0
    build_s: float = 0.0  # on the scaled clock
    last_after_publish: float = 0.0  # real seconds
    push_s: float = 0.0
    chats_ready_s: list[float] = field(default_factory=list)  # per chat, on the build's clock
    first_after_publish: float = 0.0
    rate_limited: int = 0  # 429s the fake Bot API answered


def timed_telegram() -> Any:
    from tests.fakes.telegram_api import FakeTelegram, Limits

    class TimedTelegram(FakeTelegram):
        """The fake Bot API, noting when each message was accepted."""

        def __init__(self) -> None:
            super().__init__(limits=Limits(), latency=0.05)
            self.sent_at: list[float] = []

        async def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
            message = await super()._api_sendMessage(params)
            self.sent_at.append(time.monotonic())
            return message

    return TimedTelegram()


async def run_day(fakes: Fakes, root: Path, chats: int, scale: float, early: bool) -> Outcome:
    from bot.run import daily_job
    from bot.telegram_wiring import make_runtime
    from bot.wiring import make_service
    from config.settings import load_settings
    from digest.interests import parse_terms
    from digest.schedule import day_schedule

    telegram = await timed_telegram().start()
    root.mkdir(parents=True)
    config = root / "digest.toml"
    config.write_text(
        CONFIG.format(
            arxiv=fakes.arxiv_url, delay=ARXIV_PAUSE * scale, root=root, telegram=telegram.base_url
        ),
        encoding="utf-8",
    )
    env = {
        "OPENAI_BASE_URL": f"{fakes.llm_url}/v1",
        "OPENAI_API_KEY": "sk-bench",
        "TELEGRAM_BOT_TOKEN": telegram.token,
    }
    settings = load_settings(config, env, base_dir=root)
    service = make_service(settings)
    for n in range(chats):
        chat_id = -1001000000000 - n
        telegram.add_chat(chat_id, "channel", f"channel {n}")
        service.store.subscribe("telegram", str(chat_id), ["cs.SD", "eess.AS"], f"channel {n}")
        # Different interests: two topics each, no two chats alike.
        topics = {topic_of(n), topic_of(n * 7 + 3)}
        service.interests.add("telegram", str(chat_id), "follow", parse_terms(" ".join(topics)))
    runtime = make_runtime(settings, service.store, service)
    await runtime.start(receive=False)
    plan = day_schedule(DAY, settings)
    head_start = (plan.push_at - plan.build_at).total_seconds() * scale
    outcome = Outcome()
    done_at: dict[str, float] = {}  # versioned id -> when its summary was stored
    real_save = service.store.save_summary

    def noting_save(record: Any, *args: Any) -> None:
        real_save(record, *args)
        done_at[record.paper_id] = time.monotonic()

    service.store.save_summary = noting_save  # type: ignore[method-assign]
    try:
        began = time.monotonic()
        if early:
            build_done: list[float] = []
            real_build_all = service.build_all

            async def noting_build(day: date, progress: Any = None) -> Any:
                report = await real_build_all(day, progress)
                build_done.append(time.monotonic())
                return report

            service.build_all = noting_build  # type: ignore[method-assign]
            publish = began + head_start
            push_at = datetime.now(UTC) + timedelta(seconds=head_start)
            await daily_job(service, [runtime], DAY, push_at=push_at)
            outcome.build_s = build_done[0] - began
        else:
            await service.build_all(DAY)
            built = time.monotonic()
            outcome.build_s = built - began
            await runtime.push(DAY)
        outcome.sent = len(telegram.sent_at)
        outcome.rate_limited = telegram.rate_limited
        if early:
            outcome.last_after_publish = max(telegram.sent_at) - publish
            outcome.first_after_publish = min(telegram.sent_at) - publish
        else:  # the build (on the scaled clock) started at publish_at, then the push (real time)
            outcome.last_after_publish = outcome.build_s / scale + max(telegram.sent_at) - built
        outcome.push_s = max(telegram.sent_at) - min(telegram.sent_at)
        digest = service.get_digest(DAY)
        assert digest is not None
        versioned = {item.paper.base_id: item.paper.versioned_id for item in digest.items}
        for sub in service.store.active_subscriptions():
            cards = await service.card_ids_for_chat(digest, sub.platform, sub.chat_id)
            times = [done_at[versioned[c]] for c in cards if versioned.get(c) in done_at]
            outcome.chats_ready_s.append(max(times, default=began) - began)
        outcome.chats_ready_s.sort()
    finally:
        await runtime.stop()
        await telegram.stop()
        if service.summarizer is not None:
            await service.summarizer.client.close()
        service.store.close()
    return outcome


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 120 else f"{seconds:.1f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--papers", type=int, default=400)
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--scale", type=float, default=0.01, help="the build's clock (default 1/100)")
    parser.add_argument("--quick", action="store_true", help="100 papers, 10 chats")
    args = parser.parse_args(argv)
    if args.quick:
        args.papers, args.chats = 100, 10
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    scale = args.scale

    fakes = Fakes(serve_fakes, args.papers, LLM_LATENCY * scale)
    try:
        with tempfile.TemporaryDirectory(prefix="arxiv-digest-day-") as tmp:
            today = asyncio.run(run_day(fakes, Path(tmp) / "today", args.chats, scale, early=False))
            calls_today = fakes.stats()["llm_requests"]
            ours = asyncio.run(run_day(fakes, Path(tmp) / "ours", args.chats, scale, early=True))
            calls_ours = fakes.stats()["llm_requests"] - calls_today
    finally:
        fakes.stop()

    from config.settings import load_settings
    from digest.schedule import day_schedule

    plan = day_schedule(DAY, load_settings(None, {}, base_dir=ROOT))  # the shipped defaults
    head = (plan.push_at - plan.build_at).total_seconds()
    limit = ours.sent / TELEGRAM_RATE
    ratio = ours.last_after_publish / limit if limit else float("nan")
    ready = ours.chats_ready_s
    print(
        f"arxiv-digest day benchmark: {args.papers} papers, {args.chats} channels with their own interests, "
        f"arXiv pause {ARXIV_PAUSE:g} s, LLM {LLM_LATENCY:g} s x concurrency 8, build clock x{scale:g}"
    )
    print(
        f"  schedule of {DAY}             build at {plan.build_at:%H:%M}, push at {plan.push_at:%H:%M} "
        f"({plan.build_at.tzinfo}): {minutes(head)} ahead"
    )
    print(f"  messages                        {ours.sent} ({ours.sent / args.chats:.1f} per channel)")
    print(f"  LLM requests                    today's design {calls_today}, this design {calls_ours}")
    print(
        f"  build (real-world time)         {minutes(today.build_s / scale)} (today's), "
        f"{minutes(ours.build_s / scale)} (this design, cards first)"
    )
    if ready:
        print(
            f"  chats' cards ready after        first {minutes(ready[0] / scale)}, "
            f"last {minutes(ready[-1] / scale)} of the build (publish_at at {minutes(head)})"
        )
    print("  last message after publish_at:")
    print(f"    limit (messages / 30 per s)   {minutes(limit)}")
    print(f"    today's design                {minutes(today.last_after_publish)}")
    print(f"    this design                   {minutes(ours.last_after_publish)} = {ratio:.2f}x the limit")
    print(
        f"  this design's push              first message {ours.first_after_publish:.1f} s after publish_at, "
        f"{ours.sent / ours.push_s:.1f} msg/s, {ours.rate_limited} x 429 from the fake"
    )
    ok = ratio <= AIM and ours.sent == today.sent
    print("  aim (within 10% of the limit)   " + ("met" if ok else "MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

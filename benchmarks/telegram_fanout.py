"""Fan-out benchmark: one digest pushed to many Telegram subscribers through the fake Bot API, with
Telegram's limits enforced by the fake (30 messages a second overall, 20 a minute per channel).

    python benchmarks/telegram_fanout.py [--subscribers 200] [--papers 8] [--latency 0.05]

Prints messages per second against the 30/s ceiling and how many 429s the fake answered; every 429
must be absorbed (retried after retry_after), so every subscriber ends up with every message.
Aim: at least 85% of the ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.telegram_wiring import make_runtime  # noqa: E402
from bot.wiring import make_service  # noqa: E402
from config.settings import load_settings  # noqa: E402
from digest.store import Store  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram, Limits  # noqa: E402
from tests.telegram_support import SEED_DAY, make_digest, seed_items, store_digest  # noqa: E402

CEILING = 30.0


async def main(subscribers: int, papers: int, latency: float) -> int:
    limits = Limits()  # Telegram's: 30/s overall, 20/min per group or channel
    fake = await FakeTelegram(limits=limits, latency=latency).start()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "digest.toml"
        config.write_text(
            f'[arxiv]\napi_url = "http://127.0.0.1:9/api/query"\n'
            f'[telegram]\napi_base_url = "{fake.base_url}"\n',
            encoding="utf-8",
        )
        settings = load_settings(config, {"TELEGRAM_BOT_TOKEN": fake.token}, base_dir=Path(tmp))
        store = Store.memory()
        store_digest(store, make_digest(seed_items()[:papers]))
        chat_ids = [-1001000000000 - i for i in range(subscribers)]
        for chat_id in chat_ids:
            fake.add_chat(chat_id, "channel", f"channel {chat_id}")
            store.subscribe("telegram", str(chat_id), ["cs.SD", "eess.AS"], f"channel {chat_id}")
        runtime = make_runtime(settings, store, make_service(settings, store))
        await runtime.start(receive=False)
        try:
            began = time.monotonic()
            sent = await runtime.push(SEED_DAY)
            elapsed = time.monotonic() - began
        finally:
            await runtime.stop()
            await fake.stop()
    expected = subscribers * (papers + 1)
    complete = all(len(fake.messages_to(c)) == papers + 1 for c in chat_ids)
    others = [e for e in fake.errors if e[1] != 429]
    rate = sent / elapsed if elapsed else 0.0
    print(f"subscribers {subscribers}, messages {sent}/{expected} in {elapsed:.1f} s")
    print(f"throughput {rate:.1f} msg/s = {100 * rate / CEILING:.0f}% of the {CEILING:.0f}/s ceiling")
    print(f"429 answered by the fake: {fake.rate_limited} (all retried: {'yes' if complete else 'NO'})")
    print(f"other API errors: {len(others)}")
    ok = complete and sent == expected and not others and rate >= 0.85 * CEILING
    print("PASS" if ok else "FAIL: below 85% of the ceiling or messages missing")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--papers", type=int, default=8, choices=range(0, 9), metavar="0-8")
    parser.add_argument("--latency", type=float, default=0.05, help="simulated round trip, seconds")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.subscribers, args.papers, args.latency)))

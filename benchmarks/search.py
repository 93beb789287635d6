"""Full-text search at archive scale: index N synthetic papers (with Chinese translations and
breakdowns, as the store does when it saves them) and time typical queries. Prints figures only.

    python benchmarks/search.py [--papers N]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digest import search
from digest.models import Paper, Summary, SummaryRecord
from digest.store import Store

WORDS = [
    "audio",
    "speech",
    "codec",
    "neural",
    "diffusion",
    "transformer",
    "latent",
    "token",
    "language",
    "model",
    "benchmark",
    "dataset",
    "enhancement",
    "separation",
    "recognition",
    "synthesis",
    "vocoder",
    "spectrogram",
    "music",
    "caption",
    "retrieval",
    "alignment",
]
HAN = "语音合成音频编码神经网络扩散模型基准数据集增强分离识别声码器频谱音乐检索对齐方法结果实验"
NAMES = ["Kumar", "Chen", "Wang", "Li", "Smith", "Garcia", "Müller", "Tanaka", "Kim", "Rossi"]


def text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def han(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(HAN) for _ in range(n))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--papers", type=int, default=10_000)
    args = parser.parse_args()
    rng = random.Random(7)
    moment = datetime(2026, 2, 17, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "bench.db")
        began = time.perf_counter()
        papers = [
            Paper(
                f"26{i // 100000:02d}.{i % 100000:05d}",
                1,
                text(rng, 10).title(),
                tuple(f"{rng.choice('ABCDEFG')}. {rng.choice(NAMES)}" for _ in range(6)),
                ("cs.SD",),
                moment,
                moment,
                text(rng, 180),
            )
            for i in range(args.papers)
        ]
        for start in range(0, len(papers), 500):
            store.upsert_papers(papers[start : start + 500])
        indexed_papers = time.perf_counter() - began
        began = time.perf_counter()
        for paper in papers:
            summary = Summary(han(rng, 300), han(rng, 400), han(rng, 600), han(rng, 500))
            store.save_summary(SummaryRecord(paper.versioned_id, "ok", summary), "m", "zh", "p")
        indexed_summaries = time.perf_counter() - began
        size = (Path(tmp) / "bench.db").stat().st_size
        print(f"papers {args.papers}: indexed with upsert_papers in {indexed_papers:.2f} s")
        print(
            f"summaries: saved and indexed in {indexed_summaries:.2f} s "
            f"({1000 * indexed_summaries / args.papers:.2f} ms each); database {size / 1e6:.0f} MB"
        )
        for query in (
            "codec",
            "neural vocoder",
            '"diffusion transformer"',
            "author:Kumar",
            "语音合成",
            "spec*",
        ):
            runs = 20
            began = time.perf_counter()
            for _ in range(runs):
                hits = search.search(store.db, query)
            took = (time.perf_counter() - began) / runs
            print(f"  {query!r:28} {len(hits):2d} hits  {1000 * took:7.2f} ms per query")
        store.close()


if __name__ == "__main__":
    main()

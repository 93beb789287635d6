"""How long a build takes when the LLM server hangs (accepts every request, never answers).

    python benchmarks/hanging_llm.py [--papers 200] [--concurrency 8] [--timeout 0.5] [--retries 0]

Builds one day of N synthetic papers through the real service and the real `openai` client against the
fake LLM in its `hang` mode, twice: with the circuit breaker (digest/summarize.py, failures_to_give_up)
and with it disabled, as before it existed. Prints each build's wall time, the requests the server saw,
and the papers left failed; the archive is written either way (exit 3). Real timeouts are 120 s and
`[llm] retries` 3, so multiply the seconds by timeout_seconds x (retries + 1) / (the --timeout here).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DAY = date(2026, 2, 18)
START = datetime(2026, 2, 17, 1, 0, tzinfo=UTC)  # inside [2026-02-17 08:50, 2026-02-18 08:50) Shanghai

CONFIG = """
[digest]
categories = ["cs.SD", "eess.AS"]
timezone = "Asia/Shanghai"
anchor = "08:50"
language = "zh"

[arxiv]
api_url = "{arxiv}/api/query"
html_url = "{arxiv}/html/{{id}}"
pdf_url = "{arxiv}/pdf/{{id}}"
delay_seconds = 0
fulltext = false

[llm]
model = "gpt-4o-mini"
concurrency = {concurrency}
timeout_seconds = {timeout}
retries = {retries}
embedding_model = ""

[storage]
database = "{root}/data/digest.db"
archive_dir = "{root}/archive/_posts"
"""


async def build(root: Path, arxiv_url: str, llm_url: str, args: argparse.Namespace, breaker: bool):
    from bot.wiring import make_service
    from config.settings import load_settings

    root.mkdir()
    config = root / "digest.toml"
    config.write_text(
        CONFIG.format(
            arxiv=arxiv_url,
            concurrency=args.concurrency,
            timeout=args.timeout,
            retries=args.retries,
            root=root,
        ),
        encoding="utf-8",
    )
    env = {"OPENAI_BASE_URL": f"{llm_url}/v1", "OPENAI_API_KEY": "sk-bench"}
    service = make_service(load_settings(config, env, base_dir=root))
    assert service.summarizer is not None
    if not breaker:
        service.summarizer.failures_to_give_up = 10**9
    began = time.perf_counter()
    try:
        report = await service.build(DAY)
    finally:
        await service.aclose()
    return time.perf_counter() - began, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--papers", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8, help="llm.concurrency")
    parser.add_argument("--timeout", type=float, default=0.5, help="llm.timeout_seconds")
    parser.add_argument("--retries", type=int, default=0, help="llm.retries")
    args = parser.parse_args(argv)

    from digest.summarize import failures_to_give_up
    from tests.fakes.arxiv_api import FakeArxiv, entry
    from tests.fakes.openai_api import FakeLLM
    from tests.fakes.server import BackgroundServer

    arxiv = FakeArxiv()
    arxiv.add(*(entry(f"2602.{20000 + i}v1", START + timedelta(seconds=i)) for i in range(args.papers)))
    llm = FakeLLM(hang=True)
    print(
        f"hanging LLM: {args.papers} papers, concurrency {args.concurrency}, timeout {args.timeout:g} s, "
        f"retries {args.retries}; breaker after {failures_to_give_up(args.concurrency)} failures in a row"
    )
    with (
        BackgroundServer(arxiv.app()) as arxiv_server,
        BackgroundServer(llm.app()) as llm_server,
        tempfile.TemporaryDirectory(prefix="arxiv-digest-hang-") as tmp,
    ):
        for name, breaker in (("with the breaker", True), ("without (before)", False)):
            llm.requests.clear()
            seconds, report = asyncio.run(
                build(Path(tmp) / name.split()[0], arxiv_server.url, llm_server.url, args, breaker)
            )
            print(
                f"  {name:18} {seconds:6.1f} s, {len(llm.requests):4d} requests sent, "
                f"{report.failures} papers failed, archive written: {bool(report.archive_files)}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

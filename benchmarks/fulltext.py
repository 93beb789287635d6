"""Benchmark full-text extraction and trimming over synthetic papers served by the fake arxiv.org.

    python benchmarks/fulltext.py [--papers N] [--budget TOKENS] [--max-chars C]

For N synthetic papers (sizes spread from 20,000 characters to --max-chars, as real papers range from
letters to 100-page theses) the fake serves both the LaTeXML HTML and a PDF. The figures per paper:
extraction time (parsing alone, and the whole fetch through HTTP on 127.0.0.1 with no politeness delay)
for HTML and for PDF, and prompt tokens before and after trim_to_budget.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: the fakes live in tests/
    sys.path.insert(0, str(ROOT))

from digest.budget import estimate_tokens, trim_to_budget  # noqa: E402
from digest.fulltext import FullTextFetcher  # noqa: E402
from digest.latexml import parse_latexml  # noqa: E402
from digest.models import FullText, Paper  # noqa: E402
from digest.pdftext import parse_pdf  # noqa: E402
from tests.fakes.arxiv_fulltext import FakeArxivFullText, synthetic_paper  # noqa: E402


def _paper(index: int) -> Paper:
    moment = datetime(2026, 2, 17, tzinfo=UTC)
    return Paper(
        f"2602.{10000 + index}", 1, f"Paper {index}", ("A",), ("cs.SD",), moment, moment, "Abstract."
    )


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _summary(label: str, values: list[float], unit: str, scale: float = 1.0, digits: int = 1) -> str:
    values = sorted(v * scale for v in values)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return (
        f"{label:<34} median {statistics.median(values):>9.{digits}f} {unit}   p95 {p95:>9.{digits}f} {unit}"
        f"   max {values[-1]:>9.{digits}f} {unit}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=36)
    parser.add_argument("--budget", type=int, default=12_000, help="token budget per paper")
    parser.add_argument("--max-chars", type=int, default=400_000)
    args = parser.parse_args(argv)

    sizes = [
        20_000 + (args.max_chars - 20_000) * i * i // max(1, (args.papers - 1) ** 2)
        for i in range(args.papers)
    ]
    html_parse, pdf_parse, html_fetch, pdf_fetch, trim_times = [], [], [], [], []
    tokens_full, tokens_html, tokens_pdf, chars = [], [], [], []
    with FakeArxivFullText() as fake:
        for index, size in enumerate(sizes):
            paper_id = _paper(index).versioned_id
            fake.add(paper_id, synthetic_paper(index, target_chars=size))
        html_only = FullTextFetcher(fake.html_url, fake.pdf_url, 0.0, 30.0, 0)
        # A template that 404s for HTML makes the second fetcher go to the PDF, as for papers without HTML.
        pdf_only = FullTextFetcher(fake.base_url + "/none/{id}", fake.pdf_url, 0.0, 30.0, 0)
        for index in range(args.papers):
            paper = _paper(index)
            html_bytes = fake.html[paper.versioned_id]
            pdf_bytes = fake.pdf[paper.versioned_id]

            elapsed, _ = _timed(lambda b=html_bytes: parse_latexml(b))
            html_parse.append(elapsed)
            elapsed, _ = _timed(lambda b=pdf_bytes: parse_pdf(b))
            pdf_parse.append(elapsed)

            elapsed, from_html = _timed(lambda p=paper: html_only.fetch(p))
            html_fetch.append(elapsed)
            elapsed, from_pdf = _timed(lambda p=paper: pdf_only.fetch(p))
            pdf_fetch.append(elapsed)
            assert isinstance(from_html, FullText) and from_html.source == "html"
            assert isinstance(from_pdf, FullText) and from_pdf.source == "pdf"

            chars.append(from_html.chars)
            tokens_full.append(estimate_tokens(from_html.as_markdown()))
            elapsed, trimmed = _timed(lambda f=from_html: trim_to_budget(f, args.budget))
            trim_times.append(elapsed)
            tokens_html.append(estimate_tokens(str(trimmed)))
            tokens_pdf.append(estimate_tokens(trim_to_budget(from_pdf, args.budget)))
        html_only.close()
        pdf_only.close()

    html_kb = statistics.median(len(b) for b in fake.html.values()) / 1024
    pdf_kb = statistics.median(len(b) for b in fake.pdf.values()) / 1024
    print(f"{args.papers} synthetic papers, {min(chars):,} to {max(chars):,} characters of text")
    print(f"documents (median): HTML {html_kb:.0f} KiB, PDF {pdf_kb:.0f} KiB")
    print(_summary("HTML extraction (parse only)", html_parse, "ms", 1000))
    print(_summary("HTML fetch + extraction (loopback)", html_fetch, "ms", 1000))
    print(_summary("PDF extraction (parse only)", pdf_parse, "ms", 1000))
    print(_summary("PDF fetch + extraction (loopback)", pdf_fetch, "ms", 1000))
    print(_summary("trim_to_budget", trim_times, "ms", 1000))
    print(_summary("prompt tokens, untrimmed", tokens_full, "tok", digits=0))
    print(_summary(f"prompt tokens, HTML, budget {args.budget}", tokens_html, "tok", digits=0))
    print(_summary(f"prompt tokens, PDF, budget {args.budget}", tokens_pdf, "tok", digits=0))
    over = [t for t in tokens_html + tokens_pdf if t > args.budget]
    print(f"papers over budget: {len(over)}; total prompt tokens (HTML, trimmed): {sum(tokens_html):,}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())

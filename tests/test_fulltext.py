"""Full text against a fake arxiv.org on 127.0.0.1: HTML, else PDF, else abstract; retries; the cache."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.budget import estimate_tokens, trim_to_budget
from digest.fulltext import FullTextFetcher
from digest.latexml import parse_latexml
from digest.models import FullText, Paper
from digest.store import Store
from tests.fakes.arxiv_fulltext import (
    SEED_PASSAGES,
    FakeArxivFullText,
    seed_paper,
    synthetic_paper,
)

RESULTS = "On TACOS our model reaches an event F1 of 0.50 with a hallucination rate of 4.9%."
SEED = json.loads((Path(__file__).parent / "fixtures" / "seed-2026-02-18.json").read_text(encoding="utf-8"))


def _paper(base_id: str = "2602.15766", version: int = 1) -> Paper:
    moment = datetime(2026, 2, 17, 18, 42, tzinfo=UTC)
    return Paper(base_id, version, "TAC", ("A. Author",), ("cs.SD",), moment, moment, "We propose TAC.")


@pytest.fixture
def fake():
    with FakeArxivFullText() as server:
        yield server


@pytest.fixture
def store():
    db = Store.memory()
    yield db
    db.close()


def _fetcher(fake: FakeArxivFullText, store: Store | None = None, **kwargs) -> FullTextFetcher:
    kwargs.setdefault("retries", 3)
    kwargs.setdefault("backoff_seconds", 0.01)
    return FullTextFetcher(fake.html_url, fake.pdf_url, 0.0, 5.0, store=store, **kwargs)


def test_html_gives_sections_with_method_and_results(fake, store):
    fake.add("2602.15766v1", synthetic_paper(1, results_sentence=RESULTS))
    fulltext = _fetcher(fake, store).fetch(_paper())

    assert fulltext.source == "html"
    titles = [title for title, _ in fulltext.sections]
    assert titles == [
        "Abstract",
        "1 Introduction",
        "2 Related Work",
        "3 Method",
        "4 Experiments",
        "5 Conclusion",
        "6 Appendix: more experiments",
    ]
    sections = dict(fulltext.sections)
    assert "### 3.2 Training objective" in sections["3 Method"]
    assert "$L = L_{ce} + 0.5 L_{ts}$" in sections["3 Method"]  # math as TeX, once
    assert "### 4.2 Main results\n\n" + RESULTS in sections["4 Experiments"]
    assert "Ours | 0.50 | 4.9%" in sections["4 Experiments"]  # tables keep their cells
    assert "Table 1: Event F1 and hallucination rate" in sections["4 Experiments"]
    text = fulltext.as_markdown()
    for chrome in ("Report issue", "Back to arXiv", "A cited paper", "example.org/code", "About arXiv"):
        assert chrome not in text
    assert fake.requests == ["/html/2602.15766v1"]


def test_math_is_read_once_as_tex():
    html = (
        '<article class="ltx_document"><section class="ltx_section"><h2 class="ltx_title">1 Method</h2>'
        '<div class="ltx_para"><p class="ltx_p">Loss <math alttext="\\alpha=0.5" class="ltx_Math"><semantics>'
        "<mrow><mi>α</mi><mo>=</mo><mn>0.5</mn></mrow><annotation-xml encoding='MathML-Content'>"
        "<cn>0.5</cn></annotation-xml><annotation encoding='application/x-tex'>\\alpha=0.5</annotation>"
        '</semantics></math> and <math alttext="12"><mn>12</mn></math> layers.</p></div></section></article>'
    )
    assert parse_latexml(html) == [("1 Method", "Loss $\\alpha=0.5$ and 12 layers.")]


def test_without_html_the_pdf_text(fake, store):
    fake.add("2602.15766v1", synthetic_paper(2, results_sentence=RESULTS), html_page=False)
    fulltext = _fetcher(fake, store).fetch(_paper())

    assert fulltext.source == "pdf"
    sections = dict(fulltext.sections)
    assert {"Abstract", "3 Method", "4 Experiments", "5 Conclusion"} <= set(sections)
    assert "### 4.2 Main results" in sections["4 Experiments"]
    assert RESULTS in sections["4 Experiments"]
    assert "A cited paper" not in fulltext.as_markdown()  # the references are cut off
    assert fake.requests == ["/html/2602.15766v1", "/pdf/2602.15766v1"]


def test_without_either_the_abstract(fake, store):
    fulltext = _fetcher(fake, store).fetch(_paper())

    assert fulltext == FullText("abstract", (("Abstract", "We propose TAC."),))
    assert fake.requests == ["/html/2602.15766v1", "/pdf/2602.15766v1"]
    # arXiv answered "none": that is final for this version, so it is cached like a text.
    assert store.get_fulltext("2602.15766v1") == fulltext


def test_an_html_page_without_a_body_falls_through_to_the_pdf(fake, store):
    paper = synthetic_paper(3, results_sentence=RESULTS)
    fake.add("2602.15766v1", paper)
    fake.html["2602.15766v1"] = (
        b'<article class="ltx_document"><div class="ltx_abstract"><p class="ltx_p">Short.</p></div>'
        b'<span class="ltx_ERROR">\\unsupported</span></article>'
    )
    assert _fetcher(fake, store).fetch(_paper()).source == "pdf"


def test_503_then_success_is_retried_honouring_retry_after(fake, store):
    fake.add("2602.15766v1", synthetic_paper(4))
    fake.fail("/html/2602.15766v1", 503, times=2, retry_after="7")
    waits: list[float] = []
    fulltext = _fetcher(fake, store, sleep=waits.append).fetch(_paper())

    assert fulltext.source == "html"
    assert fake.requests == ["/html/2602.15766v1"] * 3
    assert waits == [7.0, 7.0]  # the server's Retry-After, not the backoff


def test_429_without_retry_after_backs_off_exponentially(fake, store):
    fake.add("2602.15766v1", synthetic_paper(5))
    fake.fail("/html/2602.15766v1", 429, times=3)
    waits: list[float] = []
    _fetcher(fake, store, sleep=waits.append, backoff_seconds=1.0).fetch(_paper())
    assert waits == [1.0, 2.0, 4.0]


def test_persistent_failure_falls_back_without_caching(fake, store):
    fake.add("2602.15766v1", synthetic_paper(6))
    fake.fail("/html/2602.15766v1", 503, times=10, retry_after="0")
    fake.fail("/pdf/2602.15766v1", 503, times=10, retry_after="0")
    fetcher = _fetcher(fake, store, retries=2)

    assert fetcher.fetch(_paper()).source == "abstract"
    assert len(fake.requests) == 6  # 1 + 2 retries, for each of HTML and PDF
    assert store.get_fulltext("2602.15766v1") is None  # the next build tries again


def test_connection_errors_are_retried_then_fall_back():
    waits: list[float] = []
    fetcher = FullTextFetcher(
        "http://127.0.0.1:9/html/{id}", "http://127.0.0.1:9/pdf/{id}", 0.0, 1.0, 1, sleep=waits.append
    )
    assert fetcher.fetch(_paper()).source == "abstract"
    assert fetcher.requests_made == 4
    assert len(waits) == 2


def test_delay_between_requests(fake):
    fake.add("2602.15766v1", synthetic_paper(7), html_page=False)
    waits: list[float] = []
    fetcher = FullTextFetcher(fake.html_url, fake.pdf_url, 3.0, 5.0, 0, sleep=waits.append)
    fetcher.fetch(_paper())
    assert len(waits) == 1 and 2.5 < waits[0] <= 3.0  # before the PDF, after the HTML's 404


def test_the_cache_means_a_second_fetch_makes_no_request(fake, store):
    fake.add("2602.15766v1", synthetic_paper(8))
    first = _fetcher(fake, store).fetch(_paper())
    requests_before = len(fake.requests)

    second = _fetcher(fake, store).fetch(_paper())  # a new fetcher: the cache is the store's
    assert second == first
    assert len(fake.requests) == requests_before == 1
    # A new version is a new text.
    fake.add("2602.15766v2", synthetic_paper(9))
    _fetcher(fake, store).fetch(_paper(version=2))
    assert fake.requests[-1] == "/html/2602.15766v2"


def test_the_cache_survives_reopening_the_database(fake, tmp_path):
    fake.add("2602.15766v1", synthetic_paper(10))
    db = Store.open(tmp_path / "digest.db")
    first = _fetcher(fake, db).fetch(_paper())
    db.close()
    db = Store.open(tmp_path / "digest.db")
    assert db.get_fulltext("2602.15766v1") == first
    db.close()


def test_huge_paper_is_trimmed_with_its_results_kept(fake, store):
    fake.add("2602.15766v1", synthetic_paper(11, target_chars=400_000, results_sentence=RESULTS))
    fulltext = _fetcher(fake, store).fetch(_paper())
    assert fulltext.chars > 400_000

    text = trim_to_budget(fulltext, 12_000)
    assert estimate_tokens(text) <= 12_000
    assert len(text) < 60_000
    for heading in ("## Abstract", "## 1 Introduction", "## 3 Method", "## 4 Experiments", "## 5 Conclusion"):
        assert heading in text
    assert "### 4.2 Main results\n\n" + RESULTS in text
    assert "### 3.2 Training objective" in text
    assert "## 2 Related Work" not in text and "Appendix" not in text  # dropped before core sections
    assert "[…]" in text


def test_seed_papers_carry_their_numbers_into_the_trimmed_text(fake, store):
    fetcher = _fetcher(fake, store)
    for record in SEED["papers"]:
        fake.add(record["id"], seed_paper(record))
        base_id, version = record["id"].split("v")
        text = trim_to_budget(fetcher.fetch(_paper(base_id, int(version))), 4_000)
        assert SEED_PASSAGES[record["id"]].replace("\\%", "%").split(". ")[0] in text.replace("\\%", "%")


def test_the_benchmark_runs(capsys):
    from benchmarks.fulltext import main

    assert main(["--papers", "3", "--max-chars", "60000", "--budget", "4000"]) == 0
    assert "papers over budget: 0" in capsys.readouterr().out


def test_older_latexml_markup_lists_equations_and_appendices():
    html = """<html><body><div class="ltx_page_main"><div class="ltx_document">
    <div class="ltx_abstract"><h6 class="ltx_title ltx_title_abstract">Abstract</h6>
      <p class="ltx_p">We improve F<sub>1</sub> by 7 points.</p></div>
    <div class="ltx_section" id="S1"><h2 class="ltx_title ltx_title_section">
      <span class="ltx_tag ltx_tag_section">
        1
      </span>
      Introduction
    </h2>
    <div class="ltx_para"><p class="ltx_p">Prior work [7] fails.</p>
      <ul class="ltx_itemize"><li class="ltx_item"><span class="ltx_tag ltx_tag_item">•</span>
        <div class="ltx_para"><p class="ltx_p">first point</p></div></li></ul></div>
    <table class="ltx_equation ltx_eqn_table"><tr><td><math alttext="y=Wx+b"><mi>y</mi></math></td>
      <td><span class="ltx_tag ltx_tag_equation">(1)</span></td></tr></table>
    </div>
    <section class="ltx_appendix" id="A1"><h2 class="ltx_title ltx_title_appendix">
      <span class="ltx_tag ltx_tag_appendix">Appendix A </span>Proofs</h2>
      <div class="ltx_para"><p class="ltx_p">Proof.</p></div></section>
    </div></div></body></html>"""
    assert parse_latexml(html) == [
        ("Abstract", "We improve F1 by 7 points."),
        ("1 Introduction", "Prior work [7] fails.\n\n- first point\n\n$y=Wx+b$ (1)"),
        ("Appendix A Proofs", "Proof."),
    ]


def test_threads_sharing_a_fetcher_send_one_request_at_a_time(fake):
    from concurrent.futures import ThreadPoolExecutor

    for index in range(6):
        fake.add(
            f"2602.1000{index}v1", synthetic_paper(30 + index, target_chars=5_000), html_page=index % 2 == 0
        )
    fake.latency = 0.02
    fetcher = _fetcher(fake)
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(fetcher.fetch, [_paper(f"2602.1000{i}") for i in range(6)]))
    assert [r.source for r in results] == ["html", "pdf"] * 3
    assert fake.max_in_flight == 1


async def test_fetch_async_downloads_in_threads_and_caches_on_the_loop(fake, store):
    import asyncio

    for index in range(4):
        fake.add(f"2602.2000{index}v1", synthetic_paper(40 + index, target_chars=5_000))
    fake.latency = 0.01
    fetcher = _fetcher(fake, store)
    papers = [_paper(f"2602.2000{i}") for i in range(4)]
    results = await asyncio.gather(*(fetcher.fetch_async(p) for p in papers))
    assert [r.source for r in results] == ["html"] * 4
    assert fake.max_in_flight == 1
    assert len(fake.requests) == 4
    assert await asyncio.gather(*(fetcher.fetch_async(p) for p in papers)) == results
    assert len(fake.requests) == 4  # all from the store

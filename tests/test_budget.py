"""Trimming a paper to a token budget: what is kept, and that the budget holds."""

from __future__ import annotations

import pytest

from digest.budget import ELLIPSIS, classify, estimate_tokens, trim_to_budget
from digest.latexml import parse_latexml
from digest.models import FullText
from digest.pdftext import parse_pdf
from tests.fakes.arxiv_fulltext import latexml_html, make_pdf, paper_lines, synthetic_paper

RESULTS = "Our model reaches an F1 of 0.50, the best reported."


@pytest.fixture(scope="module")
def huge_html() -> FullText:
    paper = synthetic_paper(21, target_chars=400_000, results_sentence=RESULTS)
    return FullText("html", tuple(parse_latexml(latexml_html(paper))))


@pytest.fixture(scope="module")
def huge_pdf() -> FullText:
    paper = synthetic_paper(21, target_chars=400_000, results_sentence=RESULTS)
    return FullText("pdf", tuple(parse_pdf(make_pdf(paper_lines(paper)))))


def test_token_estimate_counts_cjk_characters_one_each():
    assert estimate_tokens("abcd" * 100) == 100
    assert estimate_tokens("达到0.50") == 2 + 1
    assert estimate_tokens("稠密音频描述") == 6


def test_a_paper_that_fits_is_returned_whole():
    fulltext = FullText("html", (("Abstract", "Short."), ("1 Introduction", "Also short.")))
    assert trim_to_budget(fulltext, 1000) == "## Abstract\n\nShort.\n\n## 1 Introduction\n\nAlso short."


@pytest.mark.parametrize("budget", [1_000, 3_000, 8_000, 16_000, 32_000])
def test_the_budget_holds_and_the_results_are_kept(huge_html, huge_pdf, budget):
    for fulltext in (huge_html, huge_pdf):
        text = trim_to_budget(fulltext, budget)
        assert 0.8 * budget <= estimate_tokens(text) <= budget
        assert RESULTS in text
        assert "Main results" in text


def test_tables_are_kept_before_running_text(huge_html):
    assert "Ours | 0.50 | 4.9%" in trim_to_budget(huge_html, 3_000)


def test_sections_keep_the_paper_order_and_their_headings(huge_html):
    text = trim_to_budget(huge_html, 8_000)
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Abstract",
        "## 1 Introduction",
        "## 3 Method",
        "## 4 Experiments",
        "## 5 Conclusion",
    ]
    assert text.count(ELLIPSIS) >= 4


def test_a_cjk_paper_is_budgeted_per_character():
    paragraph = "本文提出一种新的语音编码方法。" * 40
    fulltext = FullText(
        "html",
        (
            ("摘要", paragraph),
            ("1 引言", paragraph * 5),
            ("2 方法", paragraph * 5),
            ("3 实验结果", "结果达到0.50。" + paragraph * 5),
        ),
    )
    text = trim_to_budget(fulltext, 2_000)
    assert estimate_tokens(text) <= 2_000
    assert "结果达到0.50。" in text


@pytest.mark.parametrize(
    ("title", "role"),
    [
        ("Abstract", "abstract"),
        ("1 Introduction", "introduction"),
        ("2 Related Work", "other"),
        ("3 Proposed Method", "method"),
        ("4 Experimental Setup", "results"),
        ("5 Results and Discussion", "results"),
        ("6 Conclusion", "conclusion"),
        ("A Proofs", "other"),
        ("Appendix B More results", "other"),
    ],
)
def test_sections_are_classified_by_title(title, role):
    assert classify(title, 3, 8, {"introduction", "results"}) == role


def test_a_section_named_after_the_method_counts_as_method():
    assert classify("3 TAC: Timestamped Captions", 2, 6, {"abstract", "introduction"}) == "method"

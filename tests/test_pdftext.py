"""Section headings recognised in a PDF's text (a real PDF, written by the fake)."""

from __future__ import annotations

from digest.pdftext import parse_pdf
from tests.fakes.arxiv_fulltext import make_pdf


def test_numbered_headings_must_continue_the_numbering():
    lines = [
        "A Paper",
        "Abstract",
        "We do things.",
        "1 Introduction",
        "Intro text that wraps onto an exam-",
        "ple line.",
        "3 GB of GPU Memory",  # running text that looks like a heading, but 3 does not follow 1
        "2 Method",
        "2.1 Encoder",
        "The encoder.",
        "3 Results",
        "We reach 0.50.",
        "References",
        "[1] Someone. 2020.",
    ]
    assert parse_pdf(make_pdf(lines, lines_per_page=5)) == [
        ("Front matter", "A Paper"),
        ("Abstract", "We do things."),
        ("1 Introduction", "Intro text that wraps onto an example line. 3 GB of GPU Memory"),
        ("2 Method", "### 2.1 Encoder\n\nThe encoder."),
        ("3 Results", "We reach 0.50."),
    ]


def test_roman_numbered_headings():
    lines = ["I. INTRODUCTION", "Text one.", "II. METHOD", "Text two.", "III. RESULTS", "Text three."]
    titles = [title for title, _ in parse_pdf(make_pdf(lines))]
    assert titles == ["I. INTRODUCTION", "II. METHOD", "III. RESULTS"]

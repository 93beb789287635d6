"""The number check on the seed's own texts, on the equivalents it must accept and on inventions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from digest.numbers import numbers_in, unsupported_numbers
from tests.fakes.arxiv_fulltext import SEED_PASSAGES

SEED = json.loads((Path(__file__).parent / "fixtures" / "seed-2026-02-18.json").read_text(encoding="utf-8"))
FIELDS = ("translation", "background", "method", "results")


def _texts(record: dict) -> list[str]:
    return [record["zh"][name] for name in FIELDS]


def _source(record: dict) -> str:
    return record["abstract"] + "\n\n" + SEED_PASSAGES[record["id"]]


@pytest.mark.parametrize("record", SEED["papers"], ids=lambda r: r["id"])
def test_seed_breakdowns_are_supported_by_their_paper(record):
    assert unsupported_numbers(_texts(record), _source(record)) == []


@pytest.mark.parametrize(
    ("invented", "where"),
    [("0.73", "0.50"), ("72.5%", "71.9%"), ("5.9%", "4.9%")],
)
def test_an_invented_score_in_the_seed_is_caught(invented, where):
    record = SEED["papers"][0]
    texts = [t.replace(where, invented) for t in _texts(record)]
    assert unsupported_numbers(texts, _source(record)) == [invented]


def test_a_number_missing_from_the_source_is_caught():
    record = next(r for r in SEED["papers"] if r["id"] == "2602.15749v1")
    source = _source(record).replace("832 s", "a long")
    assert unsupported_numbers(_texts(record), source) == ["832"]


def test_the_abstract_alone_does_not_support_a_full_text_breakdown():
    record = SEED["papers"][0]
    # Digits inside names count too (Gemini 3 Pro, Qwen2-Audio, F1): the abstract names none of them.
    assert unsupported_numbers(_texts(record), record["abstract"]) == ["3", "2", "1", "0.50", "4.9%", "71.9%"]


@pytest.mark.parametrize(
    ("llm", "source"),
    [
        ("F1 达到0.50", "an F1 of 0.5"),
        ("F1 of .5", "an F1 of 0.50"),
        ("within 12 dB", "gains within ±12 dB"),
        ("±12 dB", "from -12 to 12 dB"),
        ("降低了3.2", "a change of −3.2"),
        ("71.9%", "71.9 on MMAR"),
        ("71.9", "71.9\\% on MMAR"),
        ("1,000 hours", "1000 hours"),
        ("1000 hours", "1,000 hours"),
        ("1\u2009000\u2009000", "1,000,000"),  # thin-space grouping
        ("10x faster", "10× faster"),
        ("快10倍", "10x faster"),
        ("75-150 Hz", "between 75 Hz and 150 Hz"),
        ("75 to 150 Hz", "75–150 Hz"),
        ("93.95%", "LCC 0.9395"),
        ("0.5", "50% of the time"),
        ("71.9", "71.92 on MMAR"),
        ("３层", "three layers"),
        ("达到０.５０", "0.5"),
    ],
)
def test_obvious_equivalents_are_accepted(llm, source):
    assert unsupported_numbers([llm], source) == []


@pytest.mark.parametrize(
    ("llm", "source", "unsupported"),
    [
        ("F1 达到0.51", "an F1 of 0.5", ["0.51"]),
        ("72", "71.9", ["72"]),  # rounding to a whole number hides too much
        ("75-160 Hz", "75–150 Hz", ["160"]),
        ("1,200 hours", "1000 hours, 2 seeds", ["1200"]),
        ("提升12.5%，达到0.73", "nothing here", ["12.5%", "0.73"]),
    ],
)
def test_different_values_are_flagged(llm, source, unsupported):
    assert unsupported_numbers([llm], source) == unsupported


def test_structure_the_llm_adds_is_not_checked():
    text = (
        "### 1. 方法\n"
        "1) 第一步\n"
        "2. 第二步\n"
        "  3、第三步\n"
        "- **4.** 子项\n"
        "**Step 5**\n"
        "#### 第6阶段\n"
        "方法包括（7）编码与(8)解码。\n"
    )
    assert numbers_in(text) == []
    assert unsupported_numbers([text], "no numbers at all") == []


def test_numbers_at_a_line_start_are_still_checked():
    # "2.5 dB" and "10 dB" begin lines but are values, not list markers.
    assert numbers_in("2.5 dB gain\n10 dB less noise\n- 3.2 kbps") == ["2.5", "10", "3.2"]


def test_each_unsupported_number_is_reported_once():
    assert unsupported_numbers(["0.73 and 0.73", "again 0.73"], "0.5") == ["0.73"]

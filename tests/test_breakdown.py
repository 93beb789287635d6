"""Issue 3 end to end: the breakdown is read from the paper (HTML, else PDF, else abstract), trimmed to a
budget that keeps the results, checked for invented numbers, and its cost is reported."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest

from tests.fakes.arxiv_api import entry
from tests.fakes.arxiv_fulltext import latexml_html, make_pdf, paper_lines, synthetic_paper
from tests.fakes.openai_api import generic_texts, paper_id_of

DAY = "2026-02-18"
IN_WINDOW = datetime(2026, 2, 17, 12, 0, tzinfo=UTC)
RESULTS = "Our model reaches an event F1 of 0.87 on the held-out set, against 0.61 for the best baseline."


def _user_message(body) -> str:
    return body["messages"][1]["content"]


@pytest.fixture
def one_paper(fake_arxiv, fake_llm, make_project):
    arxiv, arxiv_server = fake_arxiv
    llm, llm_server = fake_llm
    arxiv.add(entry("2602.11111v1", IN_WINDOW))
    llm.texts["2602.11111v1"] = generic_texts("2602.11111v1") | {"results": "- **结果**：F1 达到 0.87。"}
    return arxiv, llm, make_project(arxiv_server.url, llm_server.url)


def test_with_html_the_request_carries_the_method_and_results(one_paper):
    arxiv, llm, project = one_paper
    arxiv.fulltext["/html/2602.11111v1"] = (
        "text/html",
        latexml_html(synthetic_paper(1, results_sentence=RESULTS)),
    )

    project.run("build", "--date", DAY, check=True)

    message = _user_message(llm.requests[0])
    assert "## 3 Method" in message and "## 4 Experiments" in message
    assert RESULTS in message
    # static instructions first, the paper last (prompt caching)
    assert llm.requests[0]["messages"][0]["role"] == "system"
    assert message.index("Abstract:") < message.index("Full text")
    db = sqlite3.connect(project.database)
    assert db.execute("select source, status from summaries").fetchall() == [("html", "ok")]


def test_without_html_the_pdf_text_is_read(one_paper):
    arxiv, llm, project = one_paper
    pdf = make_pdf(paper_lines(synthetic_paper(2, target_chars=8_000, results_sentence=RESULTS)))
    arxiv.fulltext["/pdf/2602.11111v1"] = ("application/pdf", pdf)

    project.run("build", "--date", DAY, check=True)

    assert "event F1 of 0.87" in _user_message(llm.requests[0])
    assert [r for r in arxiv.requests if "search_query" in r]  # the API was asked once
    db = sqlite3.connect(project.database)
    assert db.execute("select source from summaries").fetchone() == ("pdf",)


def test_without_either_the_abstract_is_used_and_the_build_succeeds(one_paper):
    _, llm, project = one_paper
    llm.texts["2602.11111v1"] = generic_texts("2602.11111v1")  # numbers only from the abstract

    result = project.run("build", "--date", DAY, check=True)

    assert "Full text" not in _user_message(llm.requests[0])
    assert "failures 0" in result.stdout
    db = sqlite3.connect(project.database)
    assert db.execute("select source, status from summaries").fetchone() == ("abstract", "ok")


def test_a_huge_paper_is_trimmed_and_keeps_its_results(one_paper):
    arxiv, llm, project = one_paper
    huge = synthetic_paper(3, target_chars=400_000, results_sentence=RESULTS)
    body = latexml_html(huge)
    assert len(body) > 400_000
    arxiv.fulltext["/html/2602.11111v1"] = ("text/html", body)
    project.config.write_text(project.config.read_text() + "paper_token_budget = 8000\n")

    project.run("build", "--date", DAY, check=True)

    message = _user_message(llm.requests[0])
    assert RESULTS in message
    assert len(message) < 8000 * 4 + 3000  # about the budget (4 characters a token), far below the paper


def test_an_invented_number_is_re_asked_and_a_second_invention_is_flagged(one_paper):
    arxiv, llm, project = one_paper
    arxiv.fulltext["/html/2602.11111v1"] = (
        "text/html",
        latexml_html(synthetic_paper(4, results_sentence=RESULTS)),
    )
    invented = generic_texts("2602.11111v1") | {"results": "- **结果**：F1 达到 0.93，超过基线 7.5%。"}
    llm.responder = lambda body: (200, json.dumps(invented, ensure_ascii=False))

    result = project.run("build", "--date", DAY, check=True)

    assert len(llm.requests) == 2
    reask = llm.requests[1]["messages"][-1]["content"]
    assert "0.93" in reask and "7.5%" in reask
    assert "unverified 1" in result.stdout
    db = sqlite3.connect(project.database)
    status, unverified = db.execute("select status, unverified from summaries").fetchone()
    assert status == "unverified" and json.loads(unverified) == ["0.93", "7.5%"]
    # the archive keeps the seed's format; the flag lives in the store and the summary line
    post = project.post(DAY).read_text(encoding="utf-8")
    assert "F1 达到 0.93" in post and "unverified" not in post


def test_a_corrected_reply_after_the_re_ask_is_kept_unflagged(one_paper):
    arxiv, llm, project = one_paper
    arxiv.fulltext["/html/2602.11111v1"] = (
        "text/html",
        latexml_html(synthetic_paper(5, results_sentence=RESULTS)),
    )
    good = generic_texts("2602.11111v1") | {"results": "- **结果**：F1 达到 0.87（基线 0.61）。"}
    bad = good | {"results": "- **结果**：F1 达到 0.97。"}
    llm.responder = lambda body: (
        200,
        json.dumps(bad if len(body["messages"]) == 2 else good, ensure_ascii=False),
    )

    result = project.run("build", "--date", DAY, check=True)

    assert len(llm.requests) == 2 and "unverified" not in result.stdout
    assert "0.87（基线 0.61）" in project.post(DAY).read_text(encoding="utf-8")


def test_the_digest_token_budget_falls_back_to_abstract_only(fake_arxiv, fake_llm, make_project):
    arxiv, arxiv_server = fake_arxiv
    llm, llm_server = fake_llm
    for n in range(6):
        arxiv.add(entry(f"2602.2000{n}v1", IN_WINDOW))
        arxiv.fulltext[f"/html/2602.2000{n}v1"] = ("text/html", latexml_html(synthetic_paper(10 + n)))
    project = make_project(
        arxiv_server.url,
        llm_server.url,
        # configured prices: a cost estimate is shown (for a fake server's model none would be)
        extra="concurrency = 1\ndigest_token_budget = 5000\n"
        "price_input_per_million = 0.15\nprice_output_per_million = 0.60\n",
    )
    project.config.write_text(project.config.read_text().replace("concurrency = 4\n", ""))

    result = project.run("build", "--date", DAY, check=True)

    with_text = [b for b in llm.requests if "Full text" in _user_message(b)]
    assert 1 <= len(with_text) < 6  # the first papers read the paper, then the budget stopped it
    assert len(llm.requests) == 6  # every paper still got a summary
    assert "token budget" in result.stderr
    assert "est. cost $" in result.stdout
    db = sqlite3.connect(project.database)
    sources = [row[0] for row in db.execute("select source from summaries")]
    assert sources.count("abstract") == 6 - len(with_text)
    run = db.execute(
        "select llm_calls, prompt_tokens, completion_tokens, cost_usd from build_runs"
    ).fetchone()
    assert run[0] == 6 and run[1] > 0 and run[2] > 0 and run[3] > 0
    assert {paper_id_of(b) for b in llm.requests} == {f"2602.2000{n}v1" for n in range(6)}


def test_an_unreachable_full_text_host_is_given_up_after_two_papers(seed_arxiv, fake_llm, make_project):
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    project = make_project(arxiv_server.url, llm_server.url)
    text = project.config.read_text()
    text = text.replace(f"{arxiv_server.url}/html/", "http://127.0.0.1:9/html/")
    project.config.write_text(text.replace(f"{arxiv_server.url}/pdf/", "http://127.0.0.1:9/pdf/"))

    result = project.run("build", "--date", DAY, check=True)

    assert "arXiv full texts kept failing" in result.stderr
    assert result.stderr.count("full text of") == 4  # html and pdf of the first two papers, then no more
    assert "breakdowns from the abstract 8" in result.stdout and "failures 0" in result.stdout
    assert len(llm.requests) == 8
    db = sqlite3.connect(project.database)
    assert db.execute("select count(*) from fulltexts").fetchone()[0] == 0  # failures are not cached

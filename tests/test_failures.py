"""Outside failures are retried, recorded and survived; the next build picks up where the last stopped."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

from tests.conftest import SEED_POST
from tests.fakes.arxiv_api import entry
from tests.fakes.openai_api import paper_id_of


def _statuses(project):
    db = sqlite3.connect(project.database)
    return dict(db.execute("select paper_id, status from summaries").fetchall())


def test_llm_down_archives_every_paper_and_a_later_build_fills_in_only_the_missing(
    seed_arxiv, fake_llm, make_project
):
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    project = make_project(arxiv_server.url, llm_server.url)
    llm.responder = lambda body: (500, "The server had an error while processing your request.")

    result = project.run("build", "--date", "2026-02-18", process=True)  # exit status from the shell

    assert result.returncode == 3  # built, but papers without a summary: the next build retries them
    assert "8 papers have no summary yet" in result.stderr and "Traceback" not in result.stderr

    post = project.post("2026-02-18").read_text(encoding="utf-8")
    assert post.count("\n## ") == 8  # every paper archived ...
    assert "Large audio language models struggle" in post  # ... with its original abstract
    assert "<details>" not in post
    assert "failures 8" in result.stdout
    assert set(_statuses(project).values()) == {"failed"}
    # the openai client retried each 500 (retries = 2 in the test config) before giving up
    assert len(llm.requests) == 8 * 3

    llm.responder = None  # the LLM is back
    seen = len(llm.requests)
    result = project.run("build", "--date", "2026-02-18", check=True)

    assert len(llm.requests) - seen == 8
    assert project.post("2026-02-18").read_bytes() == SEED_POST.read_bytes()
    assert set(_statuses(project).values()) == {"ok"}

    seen = len(llm.requests)
    project.run("build", "--date", "2026-02-18", check=True)
    assert len(llm.requests) == seen  # nothing left to do: zero LLM calls


def test_only_failed_papers_are_retried(seed_arxiv, fake_llm, make_project):
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    project = make_project(arxiv_server.url, llm_server.url)
    default = llm.default_reply
    llm.responder = lambda body: (503, "overloaded") if "2602.15651v1" in json.dumps(body) else default(body)

    result = project.run("build", "--date", "2026-02-18")
    assert result.returncode == 3
    assert "failures 1" in result.stdout
    assert _statuses(project)["2602.15651v1"] == "failed"

    llm.responder = None
    llm.requests.clear()
    project.run("build", "--date", "2026-02-18", check=True)
    assert [b["messages"][1]["content"].split("\n")[0] for b in llm.requests] == ["arXiv ID: 2602.15651v1"]
    assert project.post("2026-02-18").read_bytes() == SEED_POST.read_bytes()


def test_malformed_json_is_re_asked_once(seed_arxiv, fake_llm, make_project):
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    project = make_project(arxiv_server.url, llm_server.url)
    default = llm.default_reply

    def garbled_first(body):
        if len(body["messages"]) == 2:  # first ask: broken JSON; the re-ask carries the broken reply
            return 200, '{"translation": "cut off'
        return default(body)

    llm.responder = garbled_first
    result = project.run("build", "--date", "2026-02-18", check=True)

    assert "LLM calls 16" in result.stdout and "failures 0" in result.stdout
    reask = next(b for b in llm.requests if len(b["messages"]) == 4)
    assert "not valid JSON" in reask["messages"][3]["content"]
    assert project.post("2026-02-18").read_bytes() == SEED_POST.read_bytes()


def test_garbage_twice_is_recorded_as_failed(seed_arxiv, fake_llm, make_project):
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    project = make_project(arxiv_server.url, llm_server.url)
    llm.responder = lambda body: (200, json.dumps({"translation": "only this"}))

    result = project.run("build", "--date", "2026-02-18")

    assert result.returncode == 3
    assert "failures 8" in result.stdout
    db = sqlite3.connect(project.database)
    errors = {row[0] for row in db.execute("select error from summaries")}
    assert errors == {
        "malformed reply: these fields were missing, empty or not strings: background, method, results"
    }


def test_arxiv_503s_are_retried(seed_arxiv, fake_llm, make_project):
    arxiv, arxiv_server = seed_arxiv
    _, llm_server = fake_llm
    project = make_project(arxiv_server.url, llm_server.url)
    arxiv.fail_next = [503, 429]

    project.run("build", "--date", "2026-02-18", check=True)

    assert len(arxiv.requests) == 3
    assert project.post("2026-02-18").read_bytes() == SEED_POST.read_bytes()


def test_arxiv_down_gives_a_clear_error_and_no_digest(seed_arxiv, make_project):
    arxiv, arxiv_server = seed_arxiv
    project = make_project(arxiv_server.url)
    arxiv.fail_next = [503] * 10

    result = project.run("build", "--date", "2026-02-18")

    assert result.returncode == 1
    assert "arXiv API unreachable" in result.stderr and "HTTP 503" in result.stderr
    assert "Traceback" not in result.stderr
    assert not project.post("2026-02-18").exists()
    db = sqlite3.connect(project.database)
    assert db.execute("select count(*) from digests").fetchone()[0] == 0
    # once arXiv is back, the build goes through
    arxiv.fail_next = []
    project.run("build", "--date", "2026-02-18", check=True)
    assert project.post("2026-02-18").exists()


def test_arxiv_paging_reads_every_page(seed_arxiv, fake_llm, make_project):
    arxiv, arxiv_server = seed_arxiv
    _, llm_server = fake_llm
    project = make_project(arxiv_server.url, llm_server.url, extra="")
    text = project.config.read_text().replace("retries = 3", "retries = 3\npage_size = 3")
    project.config.write_text(text)

    project.run("build", "--date", "2026-02-18", check=True)

    assert [r["start"] for r in arxiv.requests] == ["0", "3", "6"]
    assert project.post("2026-02-18").read_bytes() == SEED_POST.read_bytes()


def test_without_an_llm_the_build_archives_abstracts_and_says_so_once(seed_arxiv, make_project):
    _, arxiv_server = seed_arxiv
    project = make_project(arxiv_server.url)

    result = project.run("build", "--date", "2026-02-18", check=True)

    assert result.stderr.count("no LLM configured") == 1
    assert "untranslated 8" in result.stdout
    post = project.post("2026-02-18").read_text(encoding="utf-8")
    assert post.count("\n## ") == 8 and "<details>" not in post


def test_a_digest_built_without_an_llm_is_completed_once_one_is_configured(
    seed_arxiv, fake_llm, make_project
):
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    with_llm = make_project(arxiv_server.url, llm_server.url)
    without_llm = {k: v for k, v in with_llm.env.items() if not k.startswith("OPENAI_")}
    with_llm_env = with_llm.env
    with_llm.env = without_llm
    with_llm.run("build", "--date", "2026-02-18", check=True)
    assert "<details>" not in with_llm.post("2026-02-18").read_text(encoding="utf-8")

    with_llm.env = with_llm_env
    with_llm.run("build", "--date", "2026-02-18", check=True)
    assert with_llm.post("2026-02-18").read_bytes() == SEED_POST.read_bytes()
    # and a third build, with nothing missing, asks nothing
    asked = len(llm.requests)
    with_llm.run("build", "--date", "2026-02-18", check=True)
    assert len(llm.requests) == asked == 8


def test_a_hanging_llm_stops_being_asked_after_a_few_papers_and_the_next_build_asks_the_rest(
    fake_arxiv, fake_llm, make_project
):
    """A server that accepts every request and never answers: after failures_to_give_up(4) = 8 timeouts
    in a row the build stops sending papers, so it ends after a few rounds of timeouts rather than one
    per paper, with the archive written and exit 3; the next build, the LLM back, asks for every paper
    once."""
    arxiv, arxiv_server = fake_arxiv
    start = datetime(2026, 2, 17, 1, 0, tzinfo=UTC)  # inside the window of 2026-02-18 (08:50 Shanghai)
    arxiv.add(*(entry(f"2602.{20000 + i}v1", start + timedelta(minutes=i)) for i in range(40)))
    llm, llm_server = fake_llm
    llm.hang = True
    project = make_project(arxiv_server.url, llm_server.url, extra="timeout_seconds = 0.5")
    config = project.config.read_text().replace("retries = 2", "retries = 0")
    project.config.write_text(config.replace("delay_seconds = 0", "delay_seconds = 0\nfulltext = false"))

    result = project.run("build", "--date", "2026-02-18")

    assert result.returncode == 3, result.stderr
    assert "40 papers have no summary yet" in result.stderr
    assert "failed 8 requests in a row" in result.stderr
    # the workers that picked up a paper before the 8th failure was counted sent theirs
    assert 7 <= len(llm.requests) <= 7 + 3
    assert result.stdout.count("\n") < 40  # no line per paper
    assert llm.models_listed == 1  # the preflight, which timed out too (and counted)
    post = project.post("2026-02-18").read_text(encoding="utf-8")
    assert post.count("\n## ") == 40 and "<details>" not in post  # every paper, with its abstract
    db = sqlite3.connect(project.database)
    errors = [e for (e,) in db.execute("select error from summaries where status = 'failed'")]
    db.close()
    assert len(errors) == 40
    # the model list and 7 papers timed out: the 8th timeout tripped the breaker, the requests still
    # waiting were given up, and no more were sent
    assert sum(e == "LLM request timed out" for e in errors) == 7
    given_up = [e for e in errors if e.startswith("given up: ")]
    not_sent = [e for e in errors if e.startswith("not sent: ")]
    # (a request given up may not have reached the server yet)
    assert len(llm.requests) - 7 <= len(given_up) <= 3 and len(given_up) + len(not_sent) == 33
    assert all("LLM requests in a row failed (LLM request timed out)" in e for e in given_up + not_sent)

    llm.hang = False  # the LLM is back
    llm.requests.clear()
    project.run("build", "--date", "2026-02-18", check=True)

    assert sorted(map(paper_id_of, llm.requests)) == [f"2602.{20000 + i}v1" for i in range(40)]
    assert set(_statuses(project).values()) == {"ok"}
    assert project.post("2026-02-18").read_text(encoding="utf-8").count("<details>") == 40

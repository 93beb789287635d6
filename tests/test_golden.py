"""The archive must reproduce the seed digest byte for byte, through the real CLI, arxiv and openai
clients talking HTTP to the fakes."""

from __future__ import annotations

from tests.conftest import SEED_ATOM, SEED_POST
from tests.fakes.arxiv_api import parse_atom


def test_build_reproduces_the_seed_byte_for_byte(seed_arxiv, fake_llm, make_project):
    arxiv, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    project = make_project(arxiv_server.url, llm_server.url)

    # the installed command in its own process: the whole path from the shell, once
    result = project.run("build", "--date", "2026-02-18", check=True, process=True)

    assert project.post("2026-02-18").read_bytes() == SEED_POST.read_bytes()
    assert len(llm.requests) == 8
    # the one summary line names the counts, the calls and the file
    assert "fetched 8, shown 8" in result.stdout
    assert "LLM calls 8" in result.stdout
    assert "failures 0" in result.stdout
    assert str(project.post("2026-02-18")) in result.stdout
    # the query asked for both categories, OR-ed, over the window in GMT
    query = arxiv.requests[0]["search_query"]
    assert "cat:cs.SD OR cat:eess.AS" in query
    assert "lastUpdatedDate:[202602170050 TO 202602180050]" in query
    assert "sk-test-secret-key" not in result.stdout + result.stderr


def test_rebuild_makes_no_llm_call_and_writes_the_same_file(seed_arxiv, fake_llm, make_project):
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    project = make_project(arxiv_server.url, llm_server.url)
    project.run("build", "--date", "2026-02-18", check=True)
    first = project.post("2026-02-18").read_bytes()
    calls = len(llm.requests)

    result = project.run("build", "--date", "2026-02-18", check=True)

    assert len(llm.requests) == calls
    assert "LLM calls 0" in result.stdout
    assert project.post("2026-02-18").read_bytes() == first


def test_another_category_set_shares_papers_and_summaries(seed_arxiv, fake_llm, make_project):
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    project = make_project(arxiv_server.url, llm_server.url)
    project.run("build", "--date", "2026-02-18", check=True)
    assert len(llm.requests) == 8

    result = project.run("build", "--date", "2026-02-18", "--categories", "eess.AS", check=True)

    assert len(llm.requests) == 8  # every eess.AS paper was summarized for the first digest
    assert "fetched 6, shown 6" in result.stdout
    post = project.archive / "2026-02-18-arxiv-daily-eess-as.md"
    assert str(post) in result.stdout
    text = post.read_text(encoding="utf-8")
    assert "tags: [arxiv, eess.AS]" in text and text.count("\n## ") == 6
    assert "TAC: Timestamped Audio Captioning" not in text  # cs.SD only
    # the configured digest's post is untouched
    assert project.post("2026-02-18").read_bytes() == SEED_POST.read_bytes()


def test_without_full_texts_the_archive_still_matches_the_seed(fake_arxiv, fake_llm, make_project):
    """arXiv without HTML or PDF: the breakdowns come from the abstract, with nothing to check their
    numbers against, so no re-ask; one LLM call per paper and the seed's exact format."""
    arxiv, arxiv_server = fake_arxiv
    arxiv.add(*parse_atom(SEED_ATOM))
    _, llm_server = fake_llm
    project = make_project(arxiv_server.url, llm_server.url)

    result = project.run("build", "--date", "2026-02-18", check=True)

    assert project.post("2026-02-18").read_bytes() == SEED_POST.read_bytes()
    assert "unverified" not in result.stdout and "failures 0" in result.stdout
    assert "LLM calls 8" in result.stdout and "breakdowns from the abstract 8" in result.stdout


def test_english_digest(seed_arxiv, fake_llm, make_project):
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    project = make_project(arxiv_server.url, llm_server.url)
    project.config.write_text(project.config.read_text().replace('language = "zh"', 'language = "en"'))

    project.run("build", "--date", "2026-02-18", check=True)

    post = project.post("2026-02-18").read_text(encoding="utf-8")
    assert "Papers updated in the 2026-02-18 window (CST, Asia/Shanghai)" in post
    assert "- Window (anchor 08:50 CST): 2026-02-17 08:50 — 2026-02-18 08:50" in post
    assert "- Fetched: 8 | Shown: 8 (after dedup/filter)" in post
    assert "<summary>Detailed breakdown</summary>" in post
    assert llm.requests[0]["messages"][0]["content"].startswith("You are a careful research assistant")

"""The LLM reply parser: what it accepts, what it refuses, and the reason it gives for the re-ask."""

from __future__ import annotations

import json

import pytest

from digest.questions import parse_answer
from digest.summarize import MalformedReply, parse_reply

GOOD = {"translation": "译文", "background": "- a  \n- b  ", "method": "m", "results": "r 0.50"}


def test_accepts_the_four_fields_and_keeps_markdown_line_breaks():
    summary = parse_reply(json.dumps(GOOD))
    assert summary.background == "- a  \n- b  "
    assert summary.results == "r 0.50"


def test_accepts_a_fenced_reply_from_a_local_server():
    assert parse_reply("```json\n" + json.dumps(GOOD) + "\n```").method == "m"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("", "empty"),
        ("not json", "not valid JSON"),
        ("[1, 2]", "not an object"),
        (json.dumps({**GOOD, "method": ""}), "method"),
        (json.dumps({**GOOD, "results": 3}), "results"),
        (json.dumps({"translation": "x"}), "background, method, results"),
    ],
)
def test_refuses_garbage_with_a_reason(content, reason):
    with pytest.raises(MalformedReply, match=reason):
        parse_reply(content)


def test_no_temperature_is_sent_unless_configured(seed_arxiv, fake_llm, make_project):
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    project = make_project(arxiv_server.url, llm_server.url)
    project.run("build", "--date", "2026-02-18", check=True)
    assert all("temperature" not in body for body in llm.requests)

    project.config.write_text(project.config.read_text() + "temperature = 0.3\n")
    project.run("build", "--date", "2026-02-17", check=True)
    assert all(body.get("temperature") == 0.3 for body in llm.requests[8:])


def test_half_an_emoji_in_the_reply_is_dropped_not_a_failed_build(seed_arxiv, fake_llm, make_project):
    """JSON may escape half of a UTF-16 pair alone (an emoji cut at a token limit, or a prompt
    injection's doing); json.loads keeps it, and UTF-8 (SQLite, the archive) refused it: the build
    stopped with exit 1, and every rebuild again."""
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    reply = '{"translation": "半个 \\ud83d 表情 \\ud83d\\ude00", "background": "- b \\udc00", "method": "m", "results": "r"}'
    llm.responder = lambda body: (200, reply)
    assert parse_reply(reply).translation == "半个  表情 😀"
    assert parse_answer('{"answer": "x \\ud83d y"}')[0] == "x  y"
    assert parse_answer("prose \ud83d reply")[0] == "prose  reply"
    project = make_project(arxiv_server.url, llm_server.url)

    result = project.run("build", "--date", "2026-02-18")

    assert result.returncode == 0, result.stdout + result.stderr
    post = project.post("2026-02-18").read_text(encoding="utf-8")
    assert post.count("半个  表情 😀") == 8 and "failures 0" in result.stdout

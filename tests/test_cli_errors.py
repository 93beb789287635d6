"""Anything a user can get wrong is refused with a short message, exit status 2, and nothing written."""

from __future__ import annotations

import pytest

BAD_CONFIGS = {
    "anchor": ('[digest]\nanchor = "8:50"\n', "digest.anchor: '8:50' is not a time of day as HH:MM"),
    "timezone": ('[digest]\ntimezone = "Asia/Beijing"\n', "unknown timezone 'Asia/Beijing'"),
    "category": ('[digest]\ncategories = ["cs.SD", "cs.XYZ"]\n', "unknown arXiv category: cs.XYZ"),
    "language": ('[digest]\nlanguage = "fr"\n', "digest.language"),
    "toml": ("[digest\ncategories = 1\n", "is not valid TOML"),
    "key": ('[digest]\ncategory = ["cs.SD"]\n', "unknown config key [digest] 'category'"),
    "type": ("[llm]\nconcurrency = 0\n", "llm.concurrency"),
    "secret": ('[secrets]\ntelegram_bot_token = "123:abc"\n', "secrets never go in the config file"),
    "table": ('digest = "cs.SD"\n', "config key 'digest' must be a table"),
    "empty archive": ('[storage]\narchive_dir = ""\n', "storage.archive_dir: is empty: give a path"),
    "empty database": ('[storage]\ndatabase = " "\n', "storage.database: is empty: give a path"),
    "empty model": ('[llm]\nmodel = ""\n', "llm.model"),
}


def _assert_refused(project, result, message):
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (project.root / "data").exists()
    assert not (project.root / "archive").exists()


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
def test_bad_config_is_refused(name, seed_arxiv, make_project):
    _, server = seed_arxiv
    project = make_project(server.url)
    text, message = BAD_CONFIGS[name]
    project.config.write_text(text, encoding="utf-8")
    _assert_refused(project, project.run("build", "--date", "2026-02-18"), message)


@pytest.mark.parametrize("value", ["2026-02-30", "18/02/2026", "2026-2-18", "tomorrow", ""])
def test_bad_date_is_refused(value, seed_arxiv, make_project):
    arxiv, server = seed_arxiv
    project = make_project(server.url)
    result = project.run("build", "--date", value)
    _assert_refused(project, result, f"bad date {value!r}")
    assert arxiv.requests == []


def test_a_future_date_is_refused(seed_arxiv, make_project):
    arxiv, server = seed_arxiv
    project = make_project(server.url)
    _assert_refused(project, project.run("build", "--date", "2099-01-01"), "2099-01-01 is in the future")
    assert arxiv.requests == []


@pytest.mark.parametrize("command", ["build", "push"])
def test_a_date_before_arxiv_is_refused(command, seed_arxiv, make_project, cli):
    arxiv, server = seed_arxiv
    project = make_project(server.url)
    project.env["TELEGRAM_BOT_TOKEN"] = "555555:SECRET"
    result = cli(project, command, "--date", "0001-01-01")
    _assert_refused(project, result, "0001-01-01 is before arXiv began (1991-08-14)")
    assert arxiv.requests == []


def test_unknown_category_flag_is_refused(seed_arxiv, make_project):
    arxiv, server = seed_arxiv
    project = make_project(server.url)
    _assert_refused(
        project, project.run("build", "--date", "2026-02-18", "--categories", "cs.AI,cs.FOO"), "cs.FOO"
    )
    assert arxiv.requests == []


def test_missing_config_file_is_refused(seed_arxiv, make_project, tmp_path):
    _, server = seed_arxiv
    project = make_project(server.url)
    missing = tmp_path / "nope.toml"
    _assert_refused(
        project, project.run("build", "--config", str(missing)), f"config file not found: {missing}"
    )


def test_push_without_a_token_is_refused(seed_arxiv, make_project):
    _, server = seed_arxiv
    project = make_project(server.url)
    result = project.run("push", "--date", "2026-02-18", "--platform", "telegram")
    _assert_refused(project, result, "no bot token: set TELEGRAM_BOT_TOKEN")


def test_help_lists_every_command(seed_arxiv, make_project):
    _, server = seed_arxiv
    project = make_project(server.url)
    out = project.run("--help").stdout
    for command in ("build", "push", "run"):
        assert command in out


@pytest.mark.parametrize("token", ["555555:abc\ndef", "555555:abc def", "555555:abcé"])
@pytest.mark.parametrize("variable", ["TELEGRAM_BOT_TOKEN", "DISCORD_BOT_TOKEN", "OPENAI_API_KEY"])
def test_a_secret_pasted_with_something_else_is_refused_by_name(
    variable, token, seed_arxiv, make_project, cli
):
    """A line break or space inside a token is a paste gone wrong, not a network failure (exit 1), which
    is what the HTTP clients' own error would make of it. The value itself is never shown."""
    _, server = seed_arxiv
    project = make_project(server.url)
    project.env[variable] = token
    result = cli(project, "push", "--date", "2026-02-18")
    _assert_refused(project, result, f"{variable} holds a space, a line break or a non-ASCII character")
    assert "abc" not in result.stderr

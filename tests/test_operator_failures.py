"""The operator's first hour: every failure a new user meets says what is wrong and what to do, with the
exit status that means it (0 done, 1 outside failure, 2 fix your set-up, 3 built with papers missing),
no traceback, and without spending on the LLM or arXiv first."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sqlite3
import threading
import warnings
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import SEED_POST
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.server import BackgroundServer
from tests.fakes.telegram_api import FakeTelegram

DAY = "2026-02-18"
CONCURRENCY = 4  # [llm] concurrency in the test config


def _no_traceback(result) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


def _build_runs(project) -> list[tuple]:
    db = sqlite3.connect(project.database)
    return db.execute("select llm_calls, prompt_tokens, completion_tokens, error from build_runs").fetchall()


# -- the LLM --------------------------------------------------------------------------------------


def test_a_refused_key_stops_the_build_at_the_first_answer(seed_arxiv, fake_llm, make_project):
    arxiv, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    llm.api_keys = {"sk-the-right-key"}  # the project's key is another one
    project = make_project(arxiv_server.url, llm_server.url)

    result = project.run("build", "--date", DAY)

    assert result.returncode == 2, result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("arxiv-digest: error: ")
    assert "refused the API key" in error and "set OPENAI_API_KEY" in error  # the problem and the fix
    assert f"{llm_server.url}/v1" in error  # which server said no
    assert "Incorrect API key provided" in error  # the provider's own words, quoted
    assert "sk-test-secret-key" not in result.stderr + result.stdout
    assert "summary failed" not in result.stderr  # not one warning per paper
    _no_traceback(result)
    assert llm.received <= CONCURRENCY  # nothing asked after the first refusal but what was in flight
    html = [p for p in arxiv.fulltext_requests if p.startswith("/html/")]
    assert len(html) <= CONCURRENCY  # nor every full text fetched first
    assert not project.post(DAY).exists()
    runs = _build_runs(project)
    assert len(runs) == 1 and "refused the API key" in runs[0][3]
    assert runs[0][0] == llm.received  # calls counted are calls the server saw

    # with the right key the same command finishes the day
    project.env["OPENAI_API_KEY"] = "sk-the-right-key"
    project.run("build", "--date", DAY, check=True)
    assert project.post(DAY).read_bytes() == SEED_POST.read_bytes()


def test_a_refused_key_is_not_sent_to_the_embeddings_endpoint_either(seed_arxiv, fake_llm, make_project, cli):
    """A chat that rated papers makes the build embed the day before ranking: the key is checked first."""
    from digest.interests import Interests
    from digest.store import Store

    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    llm.api_keys = {"sk-the-right-key"}
    project = make_project(arxiv_server.url, llm_server.url)
    store = Store.open(project.database)
    store.subscribe("telegram", "-100", ["cs.SD", "eess.AS"], "a group")
    Interests(store).rate("telegram", "-100", "7", "2602.15766", 1)
    store.close()

    result = cli(project, "build", "--date", DAY)

    assert result.returncode == 2 and "refused the API key" in result.stderr, result.stderr
    assert llm.received == 0 and llm.embeddings_received == 0  # asked once, for the free model list
    assert llm.models_listed == 1


def test_without_a_model_list_a_refused_embeddings_request_stops_the_build(
    seed_arxiv, fake_llm, make_project, cli
):
    """No model list to ask first, and a chat that rated papers: the build embeds before it summarizes,
    so /embeddings is the first to refuse the key. That refusal stops the build: nothing more is sent to
    that server, not one summary request."""
    from digest.interests import Interests
    from digest.store import Store

    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    llm.models_status = 404
    llm.api_keys = {"sk-the-right-key"}
    project = make_project(arxiv_server.url, llm_server.url)
    store = Store.open(project.database)
    store.subscribe("telegram", "-100", ["cs.SD", "eess.AS"], "a group")
    Interests(store).rate("telegram", "-100", "7", "2602.15766", 1)
    store.close()

    result = cli(project, "build", "--date", DAY)

    assert result.returncode == 2, result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("arxiv-digest: error: the LLM at ") and "refused the API key" in error
    assert "Incorrect API key provided" in error and "set OPENAI_API_KEY" in error
    assert "sk-test-secret-key" not in result.stderr + result.stdout
    _no_traceback(result)
    assert llm.models_listed == 1 and llm.embeddings_received == 1  # the first refusal...
    assert llm.received == 0  # ...and nothing after it
    assert not project.post(DAY).exists()
    assert "refused the API key" in _build_runs(project)[0][3]

    # with the right key the same command finishes the day, embeddings included
    project.env["OPENAI_API_KEY"] = "sk-the-right-key"
    again = cli(project, "build", "--date", DAY)
    assert again.returncode == 0, again.stderr
    assert llm.received == 8 and len(llm.embedding_requests) == 1


def test_without_a_model_list_the_first_refused_answer_stops_the_build(
    seed_arxiv, fake_llm, make_project, cli
):
    """A server with no model list gives the preflight nothing: the first 401 of the papers stops it."""
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    llm.models_status = 404
    llm.api_keys = {"sk-the-right-key"}
    llm.echo_errors = True  # and it quotes the wrong key whole
    project = make_project(arxiv_server.url, llm_server.url)

    result = cli(project, "build", "--date", DAY)

    assert result.returncode == 2, result.stderr
    assert "refused the API key" in result.stderr and "set OPENAI_API_KEY" in result.stderr
    assert "Incorrect API key provided" in result.stderr
    assert "summary failed" not in result.stderr
    assert 1 <= llm.received <= CONCURRENCY  # the papers in flight, none after the first refusal
    calls, _, _, error = _build_runs(project)[0]
    assert calls == llm.received and "refused the API key" in error
    assert "sk-test-secret-key" not in result.stderr + result.stdout + error


def test_a_server_that_wants_a_key_when_none_is_set_says_so(seed_arxiv, fake_llm, make_project, cli):
    """OPENAI_BASE_URL set, OPENAI_API_KEY not: the client's placeholder key is refused. The message must
    say the key is missing, not quote the server's words about a placeholder the user never typed."""
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    llm.api_keys = {"sk-the-right-key"}
    project = make_project(arxiv_server.url, llm_server.url)
    del project.env["OPENAI_API_KEY"]

    result = cli(project, "build", "--date", DAY)

    assert result.returncode == 2, result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert f"the LLM at {llm_server.url}/v1 wants an API key and OPENAI_API_KEY is not set" in error
    assert "set OPENAI_API_KEY" in error and "Incorrect API key" not in error
    _no_traceback(result)
    assert llm.received == 0


def test_an_account_without_credit_stops_the_build_at_the_first_answer(
    seed_arxiv, fake_llm, make_project, cli
):
    """OpenAI's 429 insufficient_quota is no rate limit: waiting does not help, every paper would meet
    it. It stops the build like a refused key (after the client's own retries of that one request)."""
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    project = make_project(arxiv_server.url, llm_server.url)
    project.config.write_text(project.config.read_text().replace("retries = 2", "retries = 0"))
    llm.responder = lambda body: (
        429,
        "You exceeded your current quota, please check your plan and billing details.",
    )

    result = cli(project, "build", "--date", DAY)

    assert result.returncode == 2, result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert "refused for quota (HTTP 429: You exceeded your current quota" in error
    assert "OPENAI_API_KEY has no credit left" in error and "summary failed" not in result.stderr
    _no_traceback(result)
    assert llm.received <= CONCURRENCY


def test_an_unknown_model_names_the_setting(seed_arxiv, fake_llm, make_project, cli):
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    llm.models = ["gpt-4o", "llama3.1:8b"]
    project = make_project(arxiv_server.url, llm_server.url)

    result = cli(project, "build", "--date", DAY)

    assert result.returncode == 2, result.stderr
    assert "no model 'gpt-4o-mini'" in result.stderr and "set [llm] model" in result.stderr
    assert "does not exist" in result.stderr  # the provider's message
    assert "arxiv-digest doctor" in result.stderr
    _no_traceback(result)
    assert llm.received <= CONCURRENCY


def test_llm_calls_are_the_requests_the_server_answered_retries_included(
    seed_arxiv, fake_llm, make_project, cli
):
    """The openai client retries a 503 by itself (retries = 2 here): each retry reached the server and
    may be billed, so each is a call in the summary line and in build_runs."""
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    project = make_project(arxiv_server.url, llm_server.url)
    default = llm.default_reply
    llm.responder = lambda body: (503, "busy") if "2602.15651v1" in str(body) else default(body)

    result = cli(project, "build", "--date", DAY)

    assert result.returncode == 3, result.stderr
    assert llm.received == 7 + 3  # seven papers answered at once, one tried three times
    assert f"LLM calls {llm.received}," in result.stdout
    assert _build_runs(project)[0][0] == llm.received


def test_an_unreachable_llm_names_its_url_and_counts_no_calls(seed_arxiv, make_project):
    _, arxiv_server = seed_arxiv
    project = make_project(arxiv_server.url, "http://127.0.0.1:9")  # the discard port: nothing listens
    project.config.write_text(project.config.read_text().replace("retries = 2", "retries = 0"))

    result = project.run("build", "--date", DAY)

    assert result.returncode == 1, result.stderr
    assert "LLM unreachable at http://127.0.0.1:9/v1" in result.stderr
    assert "OPENAI_BASE_URL" in result.stderr
    _no_traceback(result)
    runs = _build_runs(project)
    assert runs[0][0] == 0  # no request reached a server: no call counted


# -- storage --------------------------------------------------------------------------------------


def _storage_project(seed_arxiv, fake_llm, make_project, extra: str = ""):
    """Storage problems are refused before any request, so these run in-process (the `cli` fixture)."""
    arxiv, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    project = make_project(arxiv_server.url, llm_server.url)
    if extra:
        project.config.write_text(project.config.read_text() + extra, encoding="utf-8")
    return arxiv, llm, project


def _refused_before_spending(result, arxiv, llm, *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr
    _no_traceback(result)
    assert arxiv.requests == [] and llm.received == 0  # checked before any request


def test_a_database_path_that_is_a_folder(seed_arxiv, fake_llm, make_project, cli):
    arxiv, llm, project = _storage_project(seed_arxiv, fake_llm, make_project)
    project.database.mkdir(parents=True)

    result = cli(project, "build", "--date", DAY)

    _refused_before_spending(
        result, arxiv, llm, f"database {project.database} is a folder", "set [storage] database"
    )


def test_a_database_file_that_is_not_a_database(seed_arxiv, fake_llm, make_project, cli):
    arxiv, llm, project = _storage_project(seed_arxiv, fake_llm, make_project)
    project.database.parent.mkdir(parents=True)
    project.database.write_text("these are my notes, not SQLite\n" * 100)

    result = cli(project, "build", "--date", DAY)

    _refused_before_spending(
        result, arxiv, llm, f"database {project.database} is not an SQLite database", "[storage] database"
    )
    assert project.database.read_text().startswith("these are my notes")  # left as it was


def test_a_database_under_a_file(seed_arxiv, fake_llm, make_project, cli):
    arxiv, llm, project = _storage_project(seed_arxiv, fake_llm, make_project)
    project.database.parent.write_text("a file where the data folder should be")

    result = cli(project, "build", "--date", DAY)

    _refused_before_spending(
        result,
        arxiv,
        llm,
        f"{project.database.parent} is a file, not a folder",
        "set [storage] database to a file path such as data/digest.db",  # not "to a folder path"
    )


def test_an_archive_dir_that_is_a_file(seed_arxiv, fake_llm, make_project, cli):
    arxiv, llm, project = _storage_project(seed_arxiv, fake_llm, make_project)
    project.archive.parent.mkdir(parents=True)
    project.archive.write_text("not a folder")

    result = cli(project, "build", "--date", DAY)

    _refused_before_spending(
        result,
        arxiv,
        llm,
        f"archive_dir {project.archive}",
        "is a file, not a folder",
        "[storage] archive_dir",
    )
    assert not project.database.parent.exists()  # refused before the database was created


def test_doctor_and_search_name_a_database_path_that_is_a_folder(make_project, cli):
    project = make_project("http://127.0.0.1:9")
    project.database.mkdir(parents=True)

    doctor = cli(project, "doctor")
    search = cli(project, "search", "codec")

    assert doctor.returncode == 2
    lines = doctor.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("✗ storage"))
    assert lines[at].endswith(f"database {project.database} is a folder, not a file")
    assert lines[at + 1].strip() == "fix: set [storage] database to a file path such as data/digest.db"
    assert search.returncode == 2 and f"database {project.database} is a folder" in search.stderr
    _no_traceback(search)


# sysfs refuses new files even to root, so these show an unwritable place wherever the tests run (Linux).
@pytest.mark.parametrize(
    ("storage", "message"),
    [
        ('database = "/sys/digest.db"', "database folder /sys is not writable (Permission denied)"),
        ('archive_dir = "/sys"', "archive_dir /sys is not writable (Permission denied)"),
    ],
)
def test_an_unwritable_place(storage, message, seed_arxiv, fake_llm, make_project, cli):
    arxiv, llm, project = _storage_project(
        seed_arxiv, fake_llm, make_project, extra=f"[storage]\n{storage}\n"
    )

    result = cli(project, "build", "--date", DAY)

    _refused_before_spending(result, arxiv, llm, message, "give this user write access")


def test_tokens_are_recorded_when_the_archive_write_fails_after_the_llm_was_paid(
    seed_arxiv, fake_llm, make_project
):
    _, llm, project = _storage_project(seed_arxiv, fake_llm, make_project)
    project.post(DAY).mkdir(parents=True)  # the post's own path is taken by a folder

    result = project.run("build", "--date", DAY)

    assert result.returncode == 2, result.stderr
    assert f"archive file {project.post(DAY)} cannot be written" in result.stderr
    _no_traceback(result)
    calls, prompt_tokens, completion_tokens, error = _build_runs(project)[0]
    assert calls == 8 and prompt_tokens > 0 and completion_tokens > 0
    assert "cannot be written" in error
    project.post(DAY).rmdir()
    seen = llm.received
    project.run("build", "--date", DAY, check=True)
    assert llm.received == seen  # the summaries were kept: the retry pays nothing again
    assert project.post(DAY).read_bytes() == SEED_POST.read_bytes()


# -- arXiv ----------------------------------------------------------------------------------------


def test_arxiv_offline_hints_at_the_network_a_proxy_and_the_url(make_project, cli):
    project = make_project("http://127.0.0.1:9")

    result = cli(project, "build", "--date", DAY)

    assert result.returncode == 1
    assert "arXiv API unreachable at http://127.0.0.1:9/api/query" in result.stderr
    assert "check the network connection, a proxy (HTTPS_PROXY) or [arxiv] api_url" in result.stderr
    _no_traceback(result)


# -- Telegram and Discord ---------------------------------------------------------------------------

BOT_TOKENS = {"TELEGRAM_BOT_TOKEN": "555555:tg-SECRET-token", "DISCORD_BOT_TOKEN": "dc-SECRET-token"}


def _leaks(run: Callable[[], object]) -> tuple[object, list[str]]:
    """run(), and the sockets it left open: the ResourceWarnings that collecting its garbage raises,
    whether they were shown directly or logged (the CLI routes warnings through its log handler)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        result = run()
        gc.collect()
    found = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    stderr = getattr(result, "stderr", "")
    found += [line for line in stderr.splitlines() if "ResourceWarning" in line]
    return result, found


@pytest.mark.parametrize(
    ("platform", "config", "message", "setting"),
    [
        (
            "telegram",
            '[telegram]\napi_base_url = "http://127.0.0.1:9/bot"\n',
            "Telegram unreachable at http://127.0.0.1:9/bot",
            "[telegram] api_base_url",
        ),
        (
            "discord",
            '[discord]\napi_base_url = "http://127.0.0.1:9/api/v10"\n',
            "Discord unreachable at http://127.0.0.1:9/api/v10",
            "[discord] api_base_url",
        ),
    ],
)
def test_an_unreachable_platform_names_the_url_it_tried(platform, config, message, setting, make_project):
    project = make_project("http://127.0.0.1:9", extra=config)
    project.env.update(BOT_TOKENS)

    result, leaks = _leaks(lambda: project.run("push", "--date", DAY, "--platform", platform))

    assert result.returncode == 1, result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(f"arxiv-digest: error: {message} ("), error  # the URL, then the cause
    assert "check the network" in error and setting in error  # and what to check
    _no_traceback(result)
    assert "SECRET" not in result.stderr + result.stdout  # the URL tried, never with its token
    assert leaks == []
    assert not (project.root / "data").exists()  # checked before the database is created


def test_a_refused_telegram_token_and_doctor_close_their_connections(make_project):
    telegram = FakeTelegram(token="555555:the-right-SECRET")
    with BackgroundServer(telegram.app()) as server:
        telegram.use_port(server.port)
        project = make_project(
            "http://127.0.0.1:9", extra=f'[telegram]\napi_base_url = "{telegram.base_url}"\n'
        )
        project.env["TELEGRAM_BOT_TOKEN"] = "555555:a-wrong-SECRET"

        push, push_leaks = _leaks(lambda: project.run("push", "--date", DAY, "--platform", "telegram"))
        refused, refused_leaks = _leaks(lambda: project.run("doctor"))
        project.env["TELEGRAM_BOT_TOKEN"] = telegram.token
        accepted, accepted_leaks = _leaks(lambda: project.run("doctor"))

    assert push.returncode == 2 and "Telegram refused TELEGRAM_BOT_TOKEN" in push.stderr, push.stderr
    assert "@BotFather" in push.stderr and "SECRET" not in push.stderr
    assert "✗ Telegram Telegram refused TELEGRAM_BOT_TOKEN" in refused.stdout
    assert "✓ Telegram token accepted: @" in accepted.stdout
    assert push_leaks == refused_leaks == accepted_leaks == []


def test_a_bot_api_url_without_bot_is_named_with_the_token(make_project):
    """python-telegram-bot takes Telegram's 404 for a refused token; a 404 is as often a wrong base URL
    (here without its /bot), so both are named."""
    telegram = FakeTelegram(token="555555:the-right-SECRET")
    with BackgroundServer(telegram.app()) as server:
        telegram.use_port(server.port)
        root = telegram.base_url.removesuffix("bot")
        project = make_project("http://127.0.0.1:9", extra=f'[telegram]\napi_base_url = "{root}"\n')
        project.env["TELEGRAM_BOT_TOKEN"] = telegram.token
        push = project.run("push", "--date", DAY, "--platform", "telegram")
        doctor = project.run("doctor")

    assert push.returncode == 2, push.stderr
    error = push.stderr.strip().splitlines()[-1]
    assert f"Telegram at {root} answered 404 Not Found" in error
    assert "TELEGRAM_BOT_TOKEN is malformed" in error and "[telegram] api_base_url is wrong" in error
    assert "SECRET" not in push.stderr
    assert f"✗ Telegram Telegram at {root} answered 404 Not Found" in doctor.stdout
    assert doctor.stderr.strip() == "", doctor.stderr  # no library log among the checks


def test_a_push_the_platform_fails_midway_exits_1_and_the_next_push_resumes(make_project):
    """Telegram (here a proxy in front of it) refusing every message: the chats keep their subscription,
    the push says which platform left how many chats unfinished and exits 1 for cron; once it is back,
    the same command sends what is missing, nothing twice."""
    from digest.store import Store
    from tests.telegram_support import seed_store

    telegram = FakeTelegram(token="555555:push-SECRET")
    telegram.add_chat(-1001, "channel", "Audio papers")
    with BackgroundServer(telegram.app()) as server:
        telegram.use_port(server.port)
        project = make_project(
            "http://127.0.0.1:9", extra=f'[telegram]\napi_base_url = "{telegram.base_url}"\n'
        )
        project.env["TELEGRAM_BOT_TOKEN"] = telegram.token
        store = Store.open(project.database)
        seed_store(store)
        store.subscribe("telegram", "-1001", ["cs.SD", "eess.AS"], "Audio papers")
        store.close()

        telegram.proxy_errors["sendMessage"] = 502
        failed = project.run("push", "--date", DAY, "--platform", "telegram")
        telegram.proxy_errors.clear()
        resumed = project.run("push", "--date", DAY, "--platform", "telegram")

    assert failed.returncode == 1, failed.stdout + failed.stderr
    error = failed.stderr.strip().splitlines()[-1]
    assert error.startswith("arxiv-digest: error: chats left without the whole digest (telegram 1)")
    assert f"arxiv-digest push --date {DAY}" in error
    _no_traceback(failed)
    assert resumed.returncode == 0, resumed.stderr
    assert len(telegram.messages_to(-1001)) > 1
    assert "SECRET" not in failed.stderr + resumed.stderr


@contextlib.contextmanager
def _fake_discord() -> Iterator[FakeDiscord]:
    """A fake Discord on a loop of its own, so that a command run in this thread can talk to it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = asyncio.run_coroutine_threadsafe(FakeDiscord(token="dc-push-SECRET").start(), loop).result(10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_a_discord_api_url_that_is_not_discords_is_named(make_project):
    with _fake_discord() as fake:
        wrong = fake.api_base_url.replace("/api/v10", "/api/v9x")
        project = make_project("http://127.0.0.1:9", extra=f'[discord]\napi_base_url = "{wrong}"\n')
        project.env["DISCORD_BOT_TOKEN"] = fake.token
        push = project.run("push", "--date", DAY, "--platform", "discord")

    assert push.returncode == 2, push.stderr
    error = push.stderr.strip().splitlines()[-1]
    assert f"Discord at {wrong} answered the login with 404 Not Found" in error
    assert "[discord] api_base_url is wrong" in error and "SECRET" not in push.stderr


def test_a_discord_push_the_platform_fails_exits_1_and_the_next_push_resumes(make_project):
    """Discord's side of the same: a proxy's 503 on every post keeps the channel subscribed, exits 1."""
    from digest.store import Store
    from tests.telegram_support import seed_store

    with _fake_discord() as fake:
        channel = fake.add_channel("papers")
        project = make_project(
            "http://127.0.0.1:9",
            extra=f'[discord]\napi_base_url = "{fake.api_base_url}"\ngateway_url = "{fake.gateway_url}"\n',
        )
        project.env["DISCORD_BOT_TOKEN"] = fake.token
        store = Store.open(project.database)
        seed_store(store)
        store.subscribe("discord", channel, ["cs.SD", "eess.AS"], "papers")
        store.close()

        fake.proxy_errors["/channels"] = 503
        failed = project.run("push", "--date", DAY, "--platform", "discord")
        fake.proxy_errors.clear()
        resumed = project.run("push", "--date", DAY, "--platform", "discord")

    assert failed.returncode == 1, failed.stdout + failed.stderr
    error = failed.stderr.strip().splitlines()[-1]
    assert error.startswith("arxiv-digest: error: chats left without the whole digest (discord 1)")
    _no_traceback(failed)
    assert resumed.returncode == 0, resumed.stderr
    assert "discord: 3 messages sent" in resumed.stdout
    assert "SECRET" not in failed.stderr + resumed.stderr


def test_an_api_url_that_answers_no_feed_builds_no_empty_day(seed_arxiv, make_project, cli):
    """A wrong [arxiv] api_url (or a proxy's page) answering 200 with HTML: the arxiv package would take
    it for a feed of no papers, and the day would be archived empty and count as built."""
    _, server = seed_arxiv
    project = make_project(server.url)
    good = project.config.read_text()
    project.config.write_text(good.replace(f"{server.url}/api/query", f"{server.url}/html/2602.15766v1"))

    result = cli(project, "build", "--date", DAY)

    assert result.returncode == 1
    error = result.stderr.strip().splitlines()[-1]
    assert "answered with text/html, not an Atom feed; check [arxiv] api_url" in error
    _no_traceback(result)
    assert not project.post(DAY).exists()

    project.config.write_text(good)
    again = cli(project, "build", "--date", DAY)
    assert again.returncode == 0 and again.stdout.startswith(f"{DAY}: fetched 8, shown 8")


# -- the config -----------------------------------------------------------------------------------

SECRETS_IN_THE_FILE = {
    "llm api_key": ('[llm]\napi_key = "sk-oops-123456"\n', "[llm] 'api_key'", "OPENAI_API_KEY"),
    "telegram token": ('[telegram]\ntoken = "123:oops-abcdef"\n', "[telegram] 'token'", "TELEGRAM_BOT_TOKEN"),
    "discord bot_token": (
        '[discord]\nbot_token = "oops.abcdef"\n',
        "[discord] 'bot_token'",
        "DISCORD_BOT_TOKEN",
    ),
    "top-level variable": ('OPENAI_API_KEY = "sk-oops-123456"\n', "'OPENAI_API_KEY'", "OPENAI_API_KEY"),
}


@pytest.mark.parametrize("name", sorted(SECRETS_IN_THE_FILE))
def test_a_secret_in_the_config_file_is_sent_to_the_environment(name, make_project, cli):
    project = make_project("http://127.0.0.1:9")
    text, key, variable = SECRETS_IN_THE_FILE[name]
    project.config.write_text(text, encoding="utf-8")

    result = cli(project, "build", "--date", DAY)

    assert result.returncode == 2
    assert key in result.stderr
    assert f"secrets go in the environment, not the config file: set {variable}" in result.stderr
    assert "oops" not in result.stderr  # the secret itself is never echoed
    _no_traceback(result)
    assert not (project.root / "data").exists()


def test_categories_split_on_commas_and_spaces(seed_arxiv, make_project, cli):
    arxiv, server = seed_arxiv
    project = make_project(server.url)

    result = cli(project, "build", "--date", DAY, "--categories", "cs.AI, cs.LG  eess.AS")

    assert result.returncode == 0, result.stderr
    assert "cat:cs.AI OR cat:cs.LG OR cat:eess.AS" in arxiv.requests[0]["search_query"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "--categories is empty"),
        (" , ", "--categories is empty"),
        ("eess.As", "eess.As: did you mean eess.AS?"),
        ("cs.AI,cs.LGG", "cs.LGG: did you mean cs.LG"),
    ],
)
def test_bad_categories_are_refused_with_the_nearest_names(value, message, seed_arxiv, make_project, cli):
    arxiv, server = seed_arxiv
    project = make_project(server.url)

    result = cli(project, "build", "--date", DAY, "--categories", value)

    assert result.returncode == 2
    assert message in result.stderr
    _no_traceback(result)
    assert arxiv.requests == []


# -- the command line and the summary line ---------------------------------------------------------


def test_verbose_before_or_after_the_command_and_the_version(seed_arxiv, make_project, cli):
    _, server = seed_arxiv
    project = make_project(server.url)
    before = cli(project, "-v", "build", "--date", DAY)
    after = cli(project, "build", "-v", "--date", DAY)
    assert before.returncode == after.returncode == 0, before.stderr + after.stderr
    assert " DEBUG " in before.stderr and " DEBUG " in after.stderr
    assert "already built" in after.stdout
    quiet = cli(project, "build", "--date", DAY)
    assert " DEBUG " not in quiet.stderr

    missing = cli(project, "--config", "nope.toml", "build")  # --config before the command, too
    assert missing.returncode == 2 and "config file not found: nope.toml" in missing.stderr

    version = cli(project, "--version")
    assert version.returncode == 0
    assert version.stdout.startswith("arxiv-digest ") and version.stdout.split()[1][0].isdigit()


HELP_VARIABLES = {
    "build": ["OPENAI_API_KEY", "OPENAI_BASE_URL", "ARXIV_DIGEST_CONFIG"],
    "push": ["TELEGRAM_BOT_TOKEN", "DISCORD_BOT_TOKEN"],
    "run": ["OPENAI_API_KEY", "TELEGRAM_BOT_TOKEN", "DISCORD_BOT_TOKEN"],
    "doctor": ["OPENAI_API_KEY", "TELEGRAM_BOT_TOKEN"],
    "search": ["ARXIV_DIGEST_CONFIG"],
}


def test_each_command_help_says_what_it_does_what_it_reads_and_its_exit_codes(make_project, cli):
    project = make_project("http://127.0.0.1:9")
    for command, variables in HELP_VARIABLES.items():
        result = cli(project, command, "--help")
        assert result.returncode == 0
        out = result.stdout
        description = out.split("\n\n")[1]
        assert len(description.split()) > 12, command  # a sentence, not just the usage line
        for variable in variables:
            assert variable in out, (command, variable)
        for code in ("0  done", "1  an outside service", "2  something you can fix", "3  built, but"):
            assert code in out, (command, code)


def test_the_summary_line_has_no_made_up_cost_and_a_rebuild_says_already_built(
    seed_arxiv, fake_llm, make_project, cli
):
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    project = make_project(arxiv_server.url, llm_server.url)
    project.config.write_text(project.config.read_text().replace("retries = 2", "retries = 0"))
    default = llm.default_reply
    llm.responder = lambda body: (503, "busy") if "2602.15651v1" in str(body) else default(body)

    first = cli(project, "build", "--date", DAY)
    assert first.returncode == 3 and "failures 1" in first.stdout
    assert "est. cost" not in first.stdout  # a model on a local server has no known price

    llm.responder = None
    second = cli(project, "build", "--date", DAY)
    assert second.stdout.startswith(f"{DAY}: already built, 1 summaries added")
    third = cli(project, "build", "--date", DAY)
    assert second.returncode == third.returncode == 0
    assert third.stdout.startswith(f"{DAY}: already built, 0 summaries added")
    assert "LLM calls 0" in third.stdout


async def test_a_long_running_service_asks_afresh_at_its_next_build(seed_arxiv, fake_llm, make_project):
    """In `run`, one refusal must not outlive the build it stopped: the next daily attempt asks again."""
    from bot.wiring import make_service
    from config.settings import load_settings
    from digest.summarize import LLMRefused
    from tests.telegram_support import SEED_DAY

    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    project = make_project(arxiv_server.url, llm_server.url)
    settings = load_settings(project.config, project.env, base_dir=project.root)
    service = make_service(settings)
    try:
        llm.api_keys = {"sk-not-this-one"}
        with pytest.raises(LLMRefused):
            await service.build(SEED_DAY)
        llm.api_keys = None  # the operator fixed the key on the server side
        report = await service.build(SEED_DAY)
    finally:
        await service.aclose()
    assert report.summarized == 8 and report.missing_summaries == 0


@pytest.mark.parametrize("first", ["embeddings", "completions"])
async def test_in_run_a_refused_key_is_sent_nothing_more_until_the_next_build(
    first, seed_arxiv, fake_llm, make_project
):
    """`run` pushes the day's digest even when its build stopped on a refused key: that push ranks and
    renders the chat's cards, and must not knock on the same server again (embeddings, lazy summaries),
    whichever endpoint refused first. The next build asks afresh, and finds the key fixed."""
    from bot.wiring import make_service
    from config.settings import load_settings
    from digest.interests import Interests
    from digest.summarize import LLMKeyRefused
    from tests.telegram_support import SEED_DAY

    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    llm.models_status = 404
    llm.api_keys = {"sk-not-this-one"}
    project = make_project(arxiv_server.url, llm_server.url)
    settings = load_settings(project.config, project.env, base_dir=project.root)
    service = make_service(settings)
    try:
        service.store.subscribe("telegram", "-100", ["cs.SD", "eess.AS"], "a group")

        def rate() -> None:
            Interests(service.store).rate("telegram", "-100", "7", "2602.15766", 1)

        if first == "embeddings":
            rate()  # the build embeds the day before it summarizes
        with pytest.raises(LLMKeyRefused):
            await service.build(SEED_DAY)
        if first == "completions":
            rate()  # rated after the build: the push's ranking would embed
        sent = (llm.embeddings_received, llm.received)
        assert sent[0] == (first == "embeddings") and (sent[1] == 0) == (first == "embeddings")

        digest = service.get_digest(SEED_DAY)
        assert digest is not None
        chat = await service.chat_digest(digest, "telegram", "-100", for_push=True)
        assert chat.cards  # the push goes on, with the abstracts...
        assert (llm.embeddings_received, llm.received) == sent  # ...and asks that server nothing

        llm.api_keys = None  # fixed on the server's side
        report = await service.build(SEED_DAY)
    finally:
        await service.aclose()
    assert report.summarized == 8 and report.missing_summaries == 0
    assert len(llm.embedding_requests) == 1  # asked afresh, and answered


async def test_a_push_whose_embeddings_are_refused_asks_for_no_summary(seed_arxiv, fake_llm, make_project):
    """A `push` process (no build in it) ranking a chat that rated papers: /embeddings refuses the key,
    and the cards left without a summary are not then sent to the same server one by one."""
    from bot.wiring import make_service
    from config.settings import load_settings
    from digest.interests import Interests
    from digest.summarize import LLMKeyRefused
    from tests.telegram_support import SEED_DAY

    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    llm.models_status = 404
    llm.api_keys = {"sk-not-this-one"}
    project = make_project(arxiv_server.url, llm_server.url)
    settings = load_settings(project.config, project.env, base_dir=project.root)
    builder = make_service(settings)
    try:
        with pytest.raises(LLMKeyRefused):
            await builder.build(SEED_DAY)  # the day's papers are stored, without summaries
    finally:
        await builder.aclose()
    pusher = make_service(settings)
    try:
        pusher.store.subscribe("telegram", "-100", ["cs.SD", "eess.AS"], "a group")
        Interests(pusher.store).rate("telegram", "-100", "7", "2602.15766", 1)
        digest = pusher.get_digest(SEED_DAY)
        assert digest is not None
        sent = llm.received
        chat = await pusher.chat_digest(digest, "telegram", "-100", for_push=True)
    finally:
        await pusher.aclose()
    assert chat.cards and all(card.item.summary is None for card in chat.cards)  # abstracts, as ever
    assert llm.embeddings_received == 1 and llm.received == sent  # refused once, nothing after it


def test_a_key_that_may_not_list_models_still_builds(seed_arxiv, fake_llm, make_project, cli):
    """OpenAI answers 403 to GET /models for a key restricted to completions: the preflight must not
    take that for a refusal."""
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    llm.models_status = 403
    project = make_project(arxiv_server.url, llm_server.url)

    result = cli(project, "build", "--date", DAY)

    assert result.returncode == 0, result.stderr
    assert llm.models_listed == 1 and llm.received == 8
    assert project.post(DAY).read_bytes() == SEED_POST.read_bytes()


def _files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("command", [("push", "--date", DAY), ("run",)], ids=["push", "run"])
def test_a_refused_token_on_a_fresh_machine_leaves_nothing_on_disk(command, make_project):
    """The token is checked before the database, its folder or the archive folder is created: a user's
    mistake leaves the directory as it was, whichever platform refuses."""
    telegram = FakeTelegram(token="555555:the-right-SECRET")
    with BackgroundServer(telegram.app()) as server, _fake_discord() as discord:
        telegram.use_port(server.port)
        project = make_project(
            "http://127.0.0.1:9",
            extra=f'[telegram]\napi_base_url = "{telegram.base_url}"\n'
            f'[discord]\napi_base_url = "{discord.api_base_url}"\ngateway_url = "{discord.gateway_url}"\n',
        )
        before = _files(project.root)
        project.env.update(TELEGRAM_BOT_TOKEN="555555:a-wrong-SECRET", DISCORD_BOT_TOKEN=discord.token)
        telegram_refused = project.run(*command)
        project.env.update(TELEGRAM_BOT_TOKEN=telegram.token, DISCORD_BOT_TOKEN="dc-wrong-SECRET")
        discord_refused = project.run(*command)

    assert telegram_refused.returncode == 2, telegram_refused.stderr
    assert "Telegram refused TELEGRAM_BOT_TOKEN" in telegram_refused.stderr.strip().splitlines()[-1]
    assert discord_refused.returncode == 2, discord_refused.stderr
    assert "Discord refused the bot token" in discord_refused.stderr.strip().splitlines()[-1]
    for result in (telegram_refused, discord_refused):
        _no_traceback(result)
        assert "SECRET" not in result.stderr
    assert _files(project.root) == before  # no data/, no database, no archive/


# A file name longer than the file system allows makes even exists() fail (ENAMETOOLONG), as a folder
# this user may not enter does (EACCES, which root, running the tests, never meets).
@pytest.mark.parametrize("command", [("build", "--date", DAY), ("search", "codec"), ("doctor",), ("run",)])
def test_a_storage_path_that_cannot_be_looked_at_is_refused(command, make_project, cli):
    database = "x" * 300 + "/digest.db"
    project = make_project("http://127.0.0.1:9", extra=f'[storage]\ndatabase = "{database}"\n')

    result = cli(project, *command)

    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{database}: cannot be reached (File name too long)" in result.stdout + result.stderr
    assert "set [storage] database" in result.stdout + result.stderr
    _no_traceback(result)
    assert not (project.root / "data").exists() and not (project.root / "archive").exists()

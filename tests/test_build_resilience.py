"""Concurrency, progress and a crash halfway through a build."""

from __future__ import annotations

import os
import pty
import select
import signal
import sqlite3
import subprocess
import time

from tests.conftest import CLI, SEED_POST


def test_at_most_llm_concurrency_requests_are_in_flight(seed_arxiv, fake_llm, make_project):
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    llm.latency = 0.3
    project = make_project(arxiv_server.url, llm_server.url)
    project.config.write_text(project.config.read_text().replace("concurrency = 4", "concurrency = 3"))

    result = project.run("build", "--date", "2026-02-18", check=True)

    assert llm.max_in_flight == 3
    # not a terminal: progress comes as log lines
    assert "summaries: 0/8" in result.stderr and "summaries: 8/8" in result.stderr


def test_a_crash_halfway_loses_nothing_and_the_next_build_finishes(seed_arxiv, fake_llm, make_project):
    _, arxiv_server = seed_arxiv
    llm, llm_server = fake_llm
    llm.latency = 0.4
    project = make_project(arxiv_server.url, llm_server.url)
    project.config.write_text(project.config.read_text().replace("concurrency = 4", "concurrency = 1"))

    build = subprocess.Popen(
        [str(CLI), "build", "--date", "2026-02-18"],
        cwd=project.root,
        env=project.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    done = 0
    while time.monotonic() < deadline:
        if project.database.exists():
            try:
                db = sqlite3.connect(project.database)
                done = db.execute("select count(*) from summaries where status = 'ok'").fetchone()[0]
                db.close()
            except sqlite3.OperationalError:
                done = 0  # the schema is still being created
        if done >= 3:
            break
        time.sleep(0.05)
    build.send_signal(signal.SIGKILL)  # no chance to clean up: as a power cut or an OOM kill
    build.communicate(timeout=10)
    db = sqlite3.connect(project.database)
    done = db.execute("select count(*) from summaries where status = 'ok'").fetchone()[0]
    db.close()
    assert 3 <= done < 8
    assert not project.post("2026-02-18").exists()
    asked_before = {body["messages"][1]["content"].split("\n")[0] for body in llm.requests}

    llm.requests.clear()
    llm.latency = 0
    project.run("build", "--date", "2026-02-18", check=True)

    asked_after = {body["messages"][1]["content"].split("\n")[0] for body in llm.requests}
    assert len(asked_after) == 8 - done  # only the papers without a stored summary were asked again
    assert len(asked_before | asked_after) == 8
    assert project.post("2026-02-18").read_bytes() == SEED_POST.read_bytes()


def test_a_terminal_gets_a_progress_bar(seed_arxiv, fake_llm, make_project):
    _, arxiv_server = seed_arxiv
    _, llm_server = fake_llm
    project = make_project(arxiv_server.url, llm_server.url)
    leader, follower = pty.openpty()  # stderr is a terminal, as when a user runs the command
    build = subprocess.Popen(
        [str(CLI), "build", "--date", "2026-02-18"],
        cwd=project.root,
        env=project.env,
        stdout=subprocess.DEVNULL,
        stderr=follower,
    )
    os.close(follower)
    shown = b""
    try:
        while True:  # read as it is written: a pty's buffer is small, and closing it drops what is left
            ready, _, _ = select.select([leader], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the build exited and closed its side
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
    assert build.wait(timeout=60) == 0
    assert b"summaries:" in shown and b"/8 [" in shown and b"%|" in shown  # a tqdm bar ...
    assert b"summaries: 0/8" not in shown  # ... not the log lines a pipe gets

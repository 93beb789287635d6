"""Shared fixtures: fakes of arXiv and the LLM on 127.0.0.1, a config pointing at them, and a runner
for the real `arxiv-digest` command."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.arxiv_api import FakeArxiv, parse_atom
from tests.fakes.arxiv_fulltext import latexml_html, seed_paper
from tests.fakes.openai_api import FakeLLM, seed_texts
from tests.fakes.server import BackgroundServer

FIXTURES = Path(__file__).parent / "fixtures"
SEED_ATOM = FIXTURES / "arxiv-api-cs.SD-eess.AS-2026-02-18.atom.xml"
SEED_JSON = FIXTURES / "seed-2026-02-18.json"
SEED_POST = FIXTURES / "arxiv-daily-2026-02-18.md"
CLI = Path(sys.executable).parent / "arxiv-digest"

SECRET_VARS = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "TELEGRAM_BOT_TOKEN",
    "DISCORD_BOT_TOKEN",
    "ARXIV_DIGEST_CONFIG",
)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may see a developer's real keys (or reach a real service through them)."""
    for name in SECRET_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_arxiv() -> Iterator[tuple[FakeArxiv, BackgroundServer]]:
    fake = FakeArxiv()
    with BackgroundServer(fake.app()) as server:
        yield fake, server


@pytest.fixture
def seed_arxiv(fake_arxiv: tuple[FakeArxiv, BackgroundServer]) -> tuple[FakeArxiv, BackgroundServer]:
    fake, server = fake_arxiv
    fake.add(*parse_atom(SEED_ATOM))
    # arXiv's HTML rendering of each seed paper, holding every number the seed's breakdowns cite
    for record in json.loads(SEED_JSON.read_text(encoding="utf-8"))["papers"]:
        fake.fulltext[f"/html/{record['id']}"] = ("text/html", latexml_html(seed_paper(record)))
    return fake, server


@pytest.fixture
def fake_llm() -> Iterator[tuple[FakeLLM, BackgroundServer]]:
    fake = FakeLLM(texts=seed_texts(SEED_JSON))
    with BackgroundServer(fake.app()) as server:
        yield fake, server


@dataclass
class Project:
    """A working directory with a config that points every endpoint at the fakes."""

    root: Path
    config: Path
    env: dict[str, str]

    @property
    def database(self) -> Path:
        return self.root / "data" / "digest.db"

    @property
    def archive(self) -> Path:
        return self.root / "archive" / "_posts"

    def post(self, day: str) -> Path:
        return self.archive / f"{day}-arxiv-daily.md"

    def run(self, *args: str, check: bool = False, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(CLI), *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result


def write_config(path: Path, arxiv_url: str, extra: str = "") -> Path:
    path.write_text(
        f"""
[digest]
categories = ["cs.SD", "eess.AS"]
timezone = "Asia/Shanghai"
anchor = "08:50"
language = "zh"

[arxiv]
api_url = "{arxiv_url}/api/query"
html_url = "{arxiv_url}/html/{{id}}"
pdf_url = "{arxiv_url}/pdf/{{id}}"
delay_seconds = 0
retries = 3

[llm]
model = "gpt-4o-mini"
concurrency = 4
retries = 2
{extra}
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Project]:
    def make(arxiv_url: str, llm_url: str | None = None, extra: str = "") -> Project:
        config = write_config(tmp_path / "digest.toml", arxiv_url, extra)
        env = {k: v for k, v in os.environ.items() if k not in SECRET_VARS}
        if llm_url:
            env["OPENAI_BASE_URL"] = f"{llm_url}/v1"
            env["OPENAI_API_KEY"] = "sk-test-secret-key"
        env["ARXIV_DIGEST_CONFIG"] = str(config)
        return Project(root=tmp_path, config=config, env=env)

    return make


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """`arxiv-digest ARGS` run in this process (bot.cli.main), in a project's directory and environment:
    for the checks that are refused before any work, where a subprocess would only add its start-up."""
    from bot.cli import main

    def run(project: Project, *args: str) -> CliResult:
        monkeypatch.chdir(project.root)
        for name in SECRET_VARS:
            monkeypatch.delenv(name, raising=False)
            if name in project.env:
                monkeypatch.setenv(name, project.env[name])
        loggers = [
            logging.getLogger(),
            *(logging.getLogger(n) for n in list(logging.root.manager.loggerDict)),
        ]
        saved = [(lg, lg.handlers[:], lg.level) for lg in loggers]
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exit_:  # argparse: --help, --version, usage errors
            code = int(exit_.code or 0)
        finally:
            for logger, handlers, level in saved:
                logger.handlers[:] = handlers
                logger.setLevel(level)
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run

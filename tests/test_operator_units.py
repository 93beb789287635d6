"""Unit checks behind the operator's messages: secret hints, [llm] base_url, category parsing and
suggestions, prices, log lines above the progress bar, the example config."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pytest
from tqdm import tqdm

from bot.progress import ProgressAwareHandler
from config.settings import ConfigError, check_categories, load_settings, split_categories

EXAMPLE = Path(__file__).parent.parent / "config" / "example.toml"


def _load(tmp_path: Path, text: str, env: dict[str, str] | None = None):
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path, env or {}, base_dir=tmp_path)


@pytest.mark.parametrize(
    ("text", "variable"),
    [
        ('[llm]\nopenai_api_key = "x"\n', "OPENAI_API_KEY"),
        ('[llm]\nkey = "x"\n', "OPENAI_API_KEY"),
        ('[telegram]\nbot_token = "x"\n', "TELEGRAM_BOT_TOKEN"),
        ('[discord]\ntoken = "x"\n', "DISCORD_BOT_TOKEN"),
        ('TELEGRAM_BOT_TOKEN = "x"\n', "TELEGRAM_BOT_TOKEN"),
        ('discord_bot_token = "x"\n', "DISCORD_BOT_TOKEN"),
        ('[storage]\npassword = "x"\n', "OPENAI_API_KEY, TELEGRAM_BOT_TOKEN or DISCORD_BOT_TOKEN"),
    ],
)
def test_every_secret_looking_key_names_its_variable(tmp_path, text, variable):
    with pytest.raises(ConfigError, match="secrets go in the environment") as caught:
        _load(tmp_path, text)
    assert f"set {variable}" in str(caught.value)


def test_non_secret_urls_are_not_mistaken_for_secrets(tmp_path):
    settings = _load(tmp_path, '[telegram]\napi_base_url = "http://localhost:8081/bot"\n')
    assert settings.telegram.api_base_url == "http://localhost:8081/bot"


def test_base_url_in_the_file_and_the_environment_wins(tmp_path):
    text = '[llm]\nbase_url = "http://localhost:11434/v1"\nmodel = "llama3.1:8b"\n'
    from_file = _load(tmp_path, text)
    assert from_file.llm_base_url == "http://localhost:11434/v1" and from_file.llm_configured
    from_env = _load(tmp_path, text, {"OPENAI_BASE_URL": "http://gpu-box:8000/v1"})
    assert from_env.llm_base_url == "http://gpu-box:8000/v1"
    assert not _load(tmp_path, "").llm_configured


def test_a_top_level_base_url_points_at_both_places(tmp_path):
    with pytest.raises(
        ConfigError, match=r"set OPENAI_BASE_URL in the environment, or `base_url` under \[llm\]"
    ):
        _load(tmp_path, 'OPENAI_BASE_URL = "http://localhost:8000/v1"\n')


def test_categories_as_one_string_in_the_file(tmp_path):
    assert _load(tmp_path, '[digest]\ncategories = "cs.AI, cs.LG"\n').digest.categories == ["cs.AI", "cs.LG"]
    with pytest.raises(ConfigError, match="at least one arXiv category"):
        _load(tmp_path, "[digest]\ncategories = []\n")


def test_category_parsing_and_suggestions():
    assert split_categories("cs.AI, cs.LG  eess.AS,cs.CL") == ["cs.AI", "cs.LG", "eess.AS", "cs.CL"]
    assert split_categories(" , ") == []
    with pytest.raises(ConfigError) as caught:
        check_categories(["cs.SD", "cs.Ai", "astro-ph.GAA", "zzzz"])
    message = str(caught.value)
    assert "cs.Ai: did you mean cs.AI?" in message
    assert "astro-ph.GAA: did you mean astro-ph.GA" in message
    assert "zzzz" in message and "zzzz: did you mean" not in message  # nothing close: no made-up hint


def test_a_cost_only_with_a_configured_or_known_price(tmp_path):
    openai_default = _load(tmp_path, "")  # gpt-4o-mini on OpenAI: its public price
    assert openai_default.llm.cost(1_000_000, 1_000_000, None) == pytest.approx(0.75)
    local = _load(tmp_path, '[llm]\nbase_url = "http://localhost:11434/v1"\n')
    assert local.llm.cost(1_000_000, 0, local.llm_base_url) is None  # a local server: no price known
    unknown = _load(tmp_path, '[llm]\nmodel = "some-new-model"\n')
    assert unknown.llm.cost(1000, 1000, None) is None
    priced = _load(
        tmp_path,
        '[llm]\nbase_url = "http://x/v1"\nprice_input_per_million = 1.0\nprice_output_per_million = 2.0\n',
    )
    assert priced.llm.cost(1_000_000, 1_000_000, priced.llm_base_url) == pytest.approx(3.0)


def test_log_lines_go_above_the_progress_bar_not_into_it():
    stream = io.StringIO()
    handler = ProgressAwareHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("test.progress.handler")
    logger.handlers[:] = [handler]
    logger.propagate = False
    bar = tqdm(total=8, desc="summaries", file=stream, ncols=60, mininterval=0)
    bar.update(3)
    before = stream.getvalue()
    logger.warning("2602.15651v1: summary failed")
    bar.close()
    written = stream.getvalue()[len(before) :]
    # tqdm.write clears the bar's line first (ending in a carriage return), then writes the whole line
    assert "\rWARNING 2602.15651v1: summary failed\n" in written
    # and without a bar the handler is a plain one
    plain = io.StringIO()
    handler.stream = plain
    logger.warning("no bar")
    assert plain.getvalue() == "WARNING no bar\n"


def test_the_example_config_loads(tmp_path):
    settings = load_settings(EXAMPLE, {}, base_dir=tmp_path)
    assert settings.digest.categories and settings.llm.model


def test_a_misspelt_key_gets_the_nearest_names(tmp_path):
    with pytest.raises(
        ConfigError, match=r"unknown config key \[llm\] 'concurency' \(did you mean 'concurrency'\?\)"
    ):
        _load(tmp_path, "[llm]\nconcurency = 2\n")
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, "[llm]\nzzz = 2\n")
    assert "did you mean" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[telegram]\napi_base_url = "not a url"\n', "telegram.api_base_url: 'not a url' is not a URL"),
        ('[llm]\nbase_url = "localhost:11434/v1"\n', "llm.base_url: 'localhost:11434/v1' is not a URL"),
        ('[discord]\ngateway_url = "https://gateway.discord.gg"\n', "starting with ws:// or wss://"),
        ('[arxiv]\nhtml_url = "https://arxiv.org/html/"\n', "has no {id} for the paper's arXiv id"),
        ('[arxiv]\npdf_url = "https://arxiv.org/pdf/{paper}"\n', "the only placeholder allowed is {id}"),
        ('[arxiv]\napi_url = "export.arxiv.org/api/query"\n', "arxiv.api_url: 'export.arxiv.org"),
    ],
)
def test_a_malformed_url_is_refused_with_its_key(tmp_path, text, message):
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(path)


def test_a_malformed_base_url_in_the_environment_names_the_variable():
    with pytest.raises(ConfigError, match="OPENAI_BASE_URL: 'localhost:1234' is not a URL"):
        load_settings(None, {"OPENAI_BASE_URL": "localhost:1234"})

"""Typed settings: the shipped defaults (defaults.toml) overlaid by the user's TOML file and the
environment's secrets. Loaded once by `bot/` and passed down; nothing below `bot/` reads the environment.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

CONFIG_ENV = "ARXIV_DIGEST_CONFIG"
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class ConfigError(ValueError):
    """Something the user wrote (config file, flag, date) is not usable. The message is shown as is."""


@cache
def arxiv_categories() -> frozenset[str]:
    text = resources.files("config").joinpath("categories.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def check_categories(categories: list[str] | tuple[str, ...]) -> list[str]:
    """Refuse ids outside arXiv's taxonomy; keep the order given, drop repeats."""
    known = arxiv_categories()
    unknown = [c for c in categories if c not in known]
    if unknown:
        raise ConfigError(
            f"unknown arXiv category: {', '.join(unknown)} (see https://arxiv.org/category_taxonomy)"
        )
    if not categories:
        raise ConfigError("at least one arXiv category is needed")
    return list(dict.fromkeys(categories))


def check_hhmm(value: str) -> str:
    if not isinstance(value, str) or not _HHMM.match(value):
        raise ValueError(f"{value!r} is not a time of day as HH:MM")
    return value


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {value!r} (use an IANA name such as Asia/Shanghai)") from None
    return value


def parse_date(value: str) -> date:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"bad date {value!r}: use YYYY-MM-DD, e.g. 2026-02-18") from None


class _Section(BaseModel):
    # A misspelt key is an error, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid", frozen=True)


class DigestSettings(_Section):
    categories: list[str]
    timezone: str
    anchor: str
    language: Literal["zh", "en"]
    publish_at: str
    include_replacements: bool = False
    # minutes after arXiv's announcement before the daily build starts (its API can lag the listings)
    announcement_margin_minutes: int = Field(default=10, ge=0, le=720)

    _check_anchor = field_validator("anchor", "publish_at")(check_hhmm)
    _check_tz = field_validator("timezone")(check_timezone)

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: list[str]) -> list[str]:
        try:
            return check_categories(value)
        except ConfigError as err:
            raise ValueError(str(err)) from None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def today(self, now: datetime | None = None) -> date:
        return (now or datetime.now(self.zone)).astimezone(self.zone).date()


class ArxivSettings(_Section):
    api_url: str
    delay_seconds: float = Field(ge=0)
    lookback_days: int = Field(ge=0, le=60)
    html_url: str
    pdf_url: str
    fulltext: bool = True
    timeout_seconds: float = Field(gt=0)
    retries: int = Field(ge=0, le=10)
    page_size: int = Field(ge=1, le=2000)


class LLMSettings(_Section):
    model: str
    concurrency: int = Field(ge=1, le=256)
    timeout_seconds: float = Field(gt=0)
    retries: int = Field(ge=0, le=10)
    temperature: float | None = Field(default=None, ge=0, le=2)  # None: the model's default
    paper_token_budget: int = Field(ge=500)
    digest_token_budget: int = Field(ge=0)
    price_input_per_million: float = Field(ge=0)
    price_output_per_million: float = Field(ge=0)
    # For ranking by a chat's 👍/👎 (the OpenAI-compatible /embeddings endpoint); "": keywords only.
    embedding_model: str = Field(default="text-embedding-3-small", max_length=200)

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.price_input_per_million + completion_tokens * self.price_output_per_million
        ) / 1_000_000


class StorageSettings(_Section):
    database: str
    archive_dir: str


class TelegramSettings(_Section):
    api_base_url: str


class DiscordSettings(_Section):
    api_base_url: str
    gateway_url: str


class Secrets(BaseModel):
    """From the environment only; SecretStr keeps them out of reprs and logs."""

    model_config = ConfigDict(frozen=True)

    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    telegram_bot_token: SecretStr | None = None
    discord_bot_token: SecretStr | None = None

    @property
    def llm_configured(self) -> bool:
        return self.openai_api_key is not None or self.openai_base_url is not None


class Settings(_Section):
    digest: DigestSettings
    arxiv: ArxivSettings
    llm: LLMSettings
    storage: StorageSettings
    telegram: TelegramSettings
    discord: DiscordSettings
    secrets: Secrets = Secrets()
    base_dir: Path = Path(".")  # relative storage paths are resolved against the working directory

    def resolve(self, path: str) -> Path:
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self.base_dir / candidate

    @property
    def database_path(self) -> Path:
        return self.resolve(self.storage.database)

    @property
    def archive_dir(self) -> Path:
        return self.resolve(self.storage.archive_dir)


def _defaults() -> dict[str, Any]:
    text = resources.files("config").joinpath("defaults.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """The user's tables over the defaults, key by key; unknown keys are left for validation to name."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(base.get(key), dict):
            if not isinstance(value, dict):
                raise ConfigError(f"config key {key!r} must be a table ([{key}])")
            merged[key] = _merge(base[key], value)
        else:
            merged[key] = value
    return merged


def _secrets(env: Mapping[str, str]) -> Secrets:
    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    def secret(name: str) -> SecretStr | None:
        value = get(name)
        return SecretStr(value) if value else None

    return Secrets(
        openai_api_key=secret("OPENAI_API_KEY"),
        openai_base_url=get("OPENAI_BASE_URL"),
        telegram_bot_token=secret("TELEGRAM_BOT_TOKEN"),
        discord_bot_token=secret("DISCORD_BOT_TOKEN"),
    )


def _describe(err: ValidationError) -> str:
    first = err.errors()[0]
    loc = [str(p) for p in first["loc"]]
    if first["type"] == "extra_forbidden":  # a misspelt or unknown key
        section = f"[{'.'.join(loc[:-1])}] " if len(loc) > 1 else ""
        return f"unknown config key {section}{loc[-1]!r}"
    message = first["msg"].removeprefix("Value error, ")
    return f"config {'.'.join(loc)}: {message}"


def load_settings(
    path: str | Path | None = None, env: Mapping[str, str] | None = None, base_dir: Path | None = None
) -> Settings:
    """Defaults <- TOML file (path, else $ARXIV_DIGEST_CONFIG, else none) <- secrets from env."""
    env = env or {}
    data = _defaults()
    path = path or env.get(CONFIG_ENV) or None
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise ConfigError(f"config file not found: {file}")
        try:
            user = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"config file {file} is not valid TOML: {err}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"config file {file} is not UTF-8 text") from None
        for reserved in ("secrets", "base_dir"):
            if reserved in user:
                raise ConfigError(
                    "secrets never go in the config file: set OPENAI_API_KEY, TELEGRAM_BOT_TOKEN and "
                    "DISCORD_BOT_TOKEN in the environment"
                    if reserved == "secrets"
                    else f"unknown config key {reserved!r}"
                )
        data = _merge(data, user)
    try:
        return Settings(**data, secrets=_secrets(env), base_dir=base_dir or Path.cwd())
    except ValidationError as err:
        raise ConfigError(_describe(err)) from None

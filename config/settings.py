"""Typed settings: the shipped defaults (defaults.toml) overlaid by the user's TOML file and the
environment's secrets. Loaded once by `bot/` and passed down; nothing below `bot/` reads the environment.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

CONFIG_ENV = "ARXIV_DIGEST_CONFIG"
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class ConfigError(ValueError):
    """Something the user wrote (config file, flag, date) is not usable. The message is shown as is."""


@cache
def arxiv_categories() -> frozenset[str]:
    text = resources.files("config").joinpath("categories.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def split_categories(text: str) -> list[str]:
    """'cs.AI, cs.LG', 'cs.AI cs.LG' and 'cs.AI,cs.LG' all mean the same two categories."""
    return [word for word in re.split(r"[\s,;]+", text) if word]


def suggest_categories(name: str) -> list[str]:
    """The nearest valid ids for a typo: a case slip first (eess.As), then what difflib finds close."""
    known = arxiv_categories()
    same_case = sorted(c for c in known if c.lower() == name.lower())
    if same_case:
        return same_case
    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
    return list(dict.fromkeys([*same_case, *close]))[:3]


def check_categories(categories: list[str] | tuple[str, ...]) -> list[str]:
    """Refuse ids outside arXiv's taxonomy (naming the nearest valid ones); keep the order, drop repeats."""
    known = arxiv_categories()
    unknown = [c for c in categories if c not in known]
    if unknown:
        hints = []
        for name in unknown:
            near = suggest_categories(name)
            if near:
                hints.append(f"{name}: did you mean {' or '.join(near)}?")
        hint = f" ({'; '.join(hints)})" if hints else ""
        raise ConfigError(
            f"unknown arXiv category: {', '.join(unknown)}{hint}; "
            "see https://arxiv.org/category_taxonomy for the valid names"
        )
    if not categories:
        raise ConfigError("at least one arXiv category is needed, e.g. cs.AI")
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


def check_url(value: str, schemes: tuple[str, ...] = ("http", "https")) -> str:
    """An absolute URL with one of `schemes` and a host: what the HTTP clients need, so that a typo is
    refused with the key's name before anything is opened, not met as a connection error later."""
    if isinstance(value, str):
        scheme, sep, rest = value.strip().partition("://")
        if sep and scheme.lower() in schemes and rest and not rest.startswith("/") and " " not in rest:
            return value.strip()
    raise ValueError(f"{value!r} is not a URL starting with {' or '.join(s + '://' for s in schemes)}")


def check_id_template(value: str) -> str:
    """A full-text URL template: a URL holding {id} (the versioned arXiv id) and no other placeholder."""
    check_url(value)
    try:
        filled = value.format(id="2602.00001v1")
    except (KeyError, IndexError, ValueError):
        raise ValueError(f"{value!r}: the only placeholder allowed is {{id}}") from None
    if filled == value:
        raise ValueError(f"{value!r} has no {{id}} for the paper's arXiv id")
    return value


ARXIV_FIRST_DAY = date(1991, 8, 14)  # arXiv's first paper: no digest of a day before it


def parse_date(value: str) -> date:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value, re.ASCII):
            raise ValueError
        day = date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"bad date {value!r}: use YYYY-MM-DD, e.g. 2026-02-18") from None
    if day < ARXIV_FIRST_DAY:
        # Not only empty: a window a day before 0001-01-01 overflows the date type.
        raise ConfigError(f"{day} is before arXiv began ({ARXIV_FIRST_DAY}): there is no digest of that day")
    return day


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

    @field_validator("categories", mode="before")
    @classmethod
    def _split_string(cls, value: Any) -> Any:
        # `categories = "cs.AI, cs.LG"` is what many would write; take it as the list it means.
        return split_categories(value) if isinstance(value, str) else value

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

    _check_api_url = field_validator("api_url")(check_url)
    _check_templates = field_validator("html_url", "pdf_url")(check_id_template)


# USD per million tokens (input, output) of OpenAI models whose price is public, for the cost estimate
# when none is configured. Only for OpenAI's own endpoint: a local or other server's price is unknown.
KNOWN_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
}
OPENAI_HOST = "api.openai.com"


class LLMSettings(_Section):
    model: str = Field(min_length=1)
    base_url: str | None = None  # OPENAI_BASE_URL in the environment wins over this
    concurrency: int = Field(ge=1, le=256)
    timeout_seconds: float = Field(gt=0)
    retries: int = Field(ge=0, le=10)
    temperature: float | None = Field(default=None, ge=0, le=2)  # None: the model's default
    paper_token_budget: int = Field(ge=500)
    digest_token_budget: int = Field(ge=0)
    # Unset: the estimate comes from KNOWN_PRICES for OpenAI's endpoint, else no cost is shown.
    price_input_per_million: float | None = Field(default=None, ge=0)
    price_output_per_million: float | None = Field(default=None, ge=0)
    # For ranking by a chat's 👍/👎 (the OpenAI-compatible /embeddings endpoint); "": keywords only.
    embedding_model: str = Field(default="text-embedding-3-small", max_length=200)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        return None if value is None else check_url(value)

    def prices(self, base_url: str | None) -> tuple[float, float] | None:
        """(input, output) USD per million tokens, if configured or known; None: no estimate."""
        if self.price_input_per_million is not None or self.price_output_per_million is not None:
            return (self.price_input_per_million or 0.0, self.price_output_per_million or 0.0)
        on_openai = base_url is None or OPENAI_HOST in base_url
        return KNOWN_PRICES.get(self.model) if on_openai else None

    def cost(self, prompt_tokens: int, completion_tokens: int, base_url: str | None) -> float | None:
        prices = self.prices(base_url)
        if prices is None:
            return None
        return (prompt_tokens * prices[0] + completion_tokens * prices[1]) / 1_000_000


class LimitsSettings(_Section):
    """What a chat (or a stranger in it) may cost: LLM calls, arXiv requests, builds, posts in a group.
    One key per limit; more limits join this section as they come (digest.limits applies them)."""

    max_categories_per_subscription: int = Field(ge=1, le=200)
    max_category_sets: int = Field(ge=1, le=10_000)  # distinct sets over all subscriptions
    on_demand_builds_per_day: int = Field(ge=0, le=1000)  # per chat; admins / Manage Channels only
    today_cooldown_minutes: float = Field(ge=0, le=24 * 60)  # per group or channel
    questions_per_user_per_day: int = Field(default=20, ge=0)  # 0: asking is off
    question_max_chars: int = Field(default=500, ge=20, le=4000)  # Discord's text input allows 4000


class StorageSettings(_Section):
    database: str
    archive_dir: str

    @field_validator("database", "archive_dir")
    @classmethod
    def _not_empty(cls, value: str, info: ValidationInfo) -> str:
        # "" would resolve to the folder the command runs in: posts (or an error) land where no one
        # meant them to.
        if not value.strip():
            example = "data/digest.db" if info.field_name == "database" else "archive/_posts"
            raise ValueError(f"is empty: give a path, e.g. {example}")
        return value


class TelegramSettings(_Section):
    api_base_url: str

    _check_url = field_validator("api_base_url")(check_url)


class DiscordSettings(_Section):
    api_base_url: str
    gateway_url: str

    _check_api = field_validator("api_base_url")(check_url)

    @field_validator("gateway_url")
    @classmethod
    def _gateway(cls, value: str) -> str:
        return check_url(value, ("ws", "wss"))


class Secrets(BaseModel):
    """From the environment only; SecretStr keeps them out of reprs and logs."""

    model_config = ConfigDict(frozen=True)

    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    telegram_bot_token: SecretStr | None = None
    discord_bot_token: SecretStr | None = None


class Settings(_Section):
    digest: DigestSettings
    arxiv: ArxivSettings
    llm: LLMSettings
    limits: LimitsSettings
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

    @property
    def llm_base_url(self) -> str | None:
        """Where the LLM is: OPENAI_BASE_URL, else `[llm] base_url`, else None (OpenAI itself)."""
        return self.secrets.openai_base_url or self.llm.base_url

    @property
    def llm_configured(self) -> bool:
        return self.secrets.openai_api_key is not None or self.llm_base_url is not None


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


_PRINTABLE_ASCII = re.compile(r"[!-~]+")


def _secrets(env: Mapping[str, str]) -> Secrets:
    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    def secret(name: str) -> SecretStr | None:
        value = get(name)
        # No key or token holds a space, a line break or a non-ASCII character: one that does was
        # pasted with something else (two lines of a file, a quote mark). HTTP clients refuse such a
        # header or URL with an error that reads like a network failure, so it is refused here, by
        # name and without its value.
        if value and not _PRINTABLE_ASCII.fullmatch(value):
            raise ConfigError(
                f"{name} holds a space, a line break or a non-ASCII character: copy the value again, alone"
            )
        return SecretStr(value) if value else None

    base_url = get("OPENAI_BASE_URL")
    if base_url is not None:
        try:
            check_url(base_url)
        except ValueError as err:
            raise ConfigError(f"OPENAI_BASE_URL: {err} (e.g. http://localhost:11434/v1)") from None
    return Secrets(
        openai_api_key=secret("OPENAI_API_KEY"),
        openai_base_url=base_url,
        telegram_bot_token=secret("TELEGRAM_BOT_TOKEN"),
        discord_bot_token=secret("DISCORD_BOT_TOKEN"),
    )


# Keys a user may write for a secret, and the variable that holds it instead.
_SECRET_KEY = re.compile(r"(^|_)(api_?key|key|token|secret|password|passwd)$", re.IGNORECASE)
_SECRET_ENV_BY_SECTION = {
    "llm": "OPENAI_API_KEY",
    "openai": "OPENAI_API_KEY",
    "telegram": "TELEGRAM_BOT_TOKEN",
    "discord": "DISCORD_BOT_TOKEN",
}
_ENV_NAMES = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "TELEGRAM_BOT_TOKEN", "DISCORD_BOT_TOKEN")


def _secret_hint(user: Mapping[str, Any]) -> str | None:
    """A message for the first secret-looking key in the file, naming the variable to set instead."""
    for key, value in user.items():
        if key.upper() in _ENV_NAMES:  # e.g. a top-level OPENAI_API_KEY = "..." copied from a .env
            if key.upper() == "OPENAI_BASE_URL":
                return (
                    f"config key {key!r}: set OPENAI_BASE_URL in the environment, "
                    "or `base_url` under [llm] in the config file"
                )
            return (
                f"config key {key!r}: secrets go in the environment, not the config file: set {key.upper()}"
            )
        if isinstance(value, dict):
            for inner in value:
                if _SECRET_KEY.search(inner):
                    env = _SECRET_ENV_BY_SECTION.get(key.lower())
                    names = env or "OPENAI_API_KEY, TELEGRAM_BOT_TOKEN or DISCORD_BOT_TOKEN"
                    return (
                        f"config key [{key}] {inner!r}: secrets go in the environment, "
                        f"not the config file: set {names}"
                    )
        elif _SECRET_KEY.search(key):
            return (
                f"config key {key!r}: secrets go in the environment, not the config file: "
                "set OPENAI_API_KEY, TELEGRAM_BOT_TOKEN or DISCORD_BOT_TOKEN"
            )
    return None


def _known_keys(section: list[str]) -> list[str]:
    model: Any = Settings
    for name in section:
        field = model.model_fields.get(name)
        model = field.annotation if field is not None else None
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
    return [k for k in model.model_fields if k not in ("secrets", "base_dir")]


def _describe(err: ValidationError) -> str:
    first = err.errors()[0]
    loc = [str(p) for p in first["loc"]]
    if first["type"] == "extra_forbidden":  # a misspelt or unknown key
        section = f"[{'.'.join(loc[:-1])}] " if len(loc) > 1 else ""
        near = difflib.get_close_matches(loc[-1], _known_keys(loc[:-1]), n=2, cutoff=0.6)
        hint = f" (did you mean {' or '.join(repr(k) for k in near)}?)" if near else ""
        return f"unknown config key {section}{loc[-1]!r}{hint}"
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
        hint = _secret_hint(user)
        if hint:
            raise ConfigError(hint)
        data = _merge(data, user)
    try:
        return Settings(**data, secrets=_secrets(env), base_dir=base_dir or Path.cwd())
    except ValidationError as err:
        raise ConfigError(_describe(err)) from None

"""Settings: one TOML file plus environment variables. Secrets come only from the environment.

Validation errors name the key and the reason (`ConfigError: ingest.timeout_s: must be > 0`).
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlsplit

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# Keys that look like secrets are refused in the file: they belong in the environment.
_SECRET_WORDS = ("token", "secret", "password")
ENV_PREFIX = "STORYWATCH_"
# A configuration file is a few kilobytes; this refuses /dev/zero or a log file given by mistake.
MAX_CONFIG_BYTES = 4 << 20
_MAX_MESSAGE_CHARS = 600
_MAX_PROBLEMS = 5


class ConfigError(ValueError):
    """A configuration problem, with the offending key and the reason in its message (one printable line)."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


def one_line(text: str, limit: int = _MAX_MESSAGE_CHARS) -> str:
    """Control, format (bidi) and separator characters shown as escapes, so a message is one safe line."""
    shown = "".join(
        ch if ch == " " or unicodedata.category(ch)[0] not in "CZ" else ch.encode("unicode_escape").decode()
        for ch in text
    )
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IngestSettings(_Section):
    contact: str = Field(default="", description="contact (URL or e-mail) sent in the User-Agent")
    allow_private_sources: bool = False
    # Hosts allowed despite resolving to private addresses (e.g. "127.0.0.1" for a local feed server).
    allowed_private_hosts: tuple[str, ...] = ()
    max_body_bytes: Annotated[int, Field(gt=0)] = 10_000_000
    timeout_s: Annotated[float, Field(gt=0)] = 20.0
    connect_timeout_s: Annotated[float, Field(gt=0)] = 10.0
    max_redirects: Annotated[int, Field(ge=0, le=20)] = 5
    per_host_concurrency: Annotated[int, Field(ge=1)] = 2
    politeness_delay_s: Annotated[float, Field(ge=0)] = 1.0
    total_concurrency: Annotated[int, Field(ge=1)] = 64
    poll_interval_s: Annotated[int, Field(ge=10)] = 900
    backoff_max_s: Annotated[int, Field(ge=10)] = 6 * 3600
    disable_after_failures: Annotated[int, Field(ge=1)] = 10
    # How many entries of a new source's first poll to announce; the rest are stored silently.
    backfill: Annotated[int, Field(ge=0)] = 0
    # Entries read from one feed document at most (the first ones: feeds list the newest first).
    max_entries_per_document: Annotated[int, Field(ge=1)] = 1000


class SourceSettings(_Section):
    url: str
    title: str = ""
    poll_interval_s: Annotated[int, Field(ge=10)] | None = None


class TopicSettings(_Section):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    name: str = ""
    query: str
    sources: tuple[str, ...] = ()
    description: str = ""


class EngineSettings(_Section):
    model: Literal["auto", "none", "wordllama"] = "auto"
    # Topic partitions of the story engine: at least the number of engine workers you will run; fixed
    # once the engine has run (one, the default, is one engine as in a single process).
    partitions: Annotated[int, Field(ge=1, le=1024)] = 1


Role = Literal["poll", "engine", "deliver"]
ROLES: tuple[Role, ...] = ("poll", "engine", "deliver")


class WorkerSettings(_Section):
    """How this process shares the work with others (`storywatch run --role`, and the README's deployment)."""

    # A lease on a partition, a source being polled or an outbox row lasts this long unless renewed.
    lease_s: Annotated[float, Field(ge=5, le=3600)] = 300.0
    # How often each stage looks for work (the tables say what is due).
    poll_every_s: Annotated[float, Field(gt=0, le=3600)] = 5.0
    engine_every_s: Annotated[float, Field(gt=0, le=3600)] = 2.0
    deliver_every_s: Annotated[float, Field(gt=0, le=3600)] = 1.0


class DigestSettings(_Section):
    # A digest missed while the bot was down is sent at start if it is at most this old.
    grace_hours: Annotated[float, Field(ge=0)] = 12.0
    max_developments: Annotated[int, Field(ge=1)] = 15


class AccessSettings(_Section):
    # Who to ask for a topic change, shown in the refusal ("#news-desk", "Alice in IT").
    admin_contact: Annotated[str, Field(max_length=200)] = ""
    # A member may ask for one channel's `digest now` once in this many minutes (0: as often as they like).
    digest_now_every_minutes: Annotated[int, Field(ge=0, le=24 * 60)] = 10


class SlackSettings(_Section):
    enabled: bool = False
    mode: Literal["socket", "http"] = "socket"
    # HTTP mode: where bolt's server listens (behind the public HTTPS Request URL's proxy).
    host: str = "0.0.0.0"
    port: Annotated[int, Field(ge=1, le=65535)] = 3000
    path: Annotated[str, Field(pattern=r"^/")] = "/slack/events"
    api_url: str = "https://slack.com/api/"
    command: Annotated[str, Field(pattern=r"^/[a-z0-9_-]{1,31}$")] = "/story"


class DiscordSettings(_Section):
    enabled: bool = False
    # Commands are synced to this server only (instant, for development) instead of globally.
    test_guild: int | None = None
    # By role ID: its members are bot admins. By name: they may manage channels as with Manage Channels
    # (a name can be made up in any server the bot is in, so it never reaches the shared topics).
    admin_role: str | None = None
    # Gateway shards; None asks Discord at start (one shard until the bot is in about 2,500 servers).
    shard_count: Annotated[int, Field(ge=1)] | None = None
    # False: this process only delivers (REST); another process holds the gateway and answers commands.
    gateway: bool = True


class MetricsSettings(_Section):
    """`/healthz` and `/metrics` over HTTP, in the bot's own process; off unless enabled."""

    enabled: bool = False
    host: str = "127.0.0.1"
    # 0 picks a free port (tests); the log says which.
    port: Annotated[int, Field(ge=0, le=65535)] = 9360
    # Client addresses or networks that may ask; anyone else gets 403 (proxy headers are not trusted).
    allow: tuple[str, ...] = ("127.0.0.0/8", "::1")
    # How long a probe or scrape waits for the database before calling it unreachable.
    store_timeout_s: Annotated[float, Field(gt=0, le=60)] = 2.0
    # A job whose every run has raised for this long makes /healthz unhealthy.
    failing_s: Annotated[float, Field(gt=0, le=86400)] = 600.0

    @field_validator("allow", mode="before")
    @classmethod
    def _split_allow(cls, value: Any) -> Any:
        # From the environment the list arrives as one comma-separated string.
        return (
            tuple(part.strip() for part in value.split(",") if part.strip())
            if isinstance(value, str)
            else value
        )

    @field_validator("allow")
    @classmethod
    def _networks(cls, allow: tuple[str, ...]) -> tuple[str, ...]:
        for entry in allow:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"not an IP address or network: {entry[:60]!r}") from None
        return allow


class Settings(_Section):
    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("storywatch")))
    database_url: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Bot admins: user ids, qualified by platform ("slack:U0123", "discord:1234"); they alone change topics.
    admins: tuple[str, ...] = ()
    access: AccessSettings = AccessSettings()
    ingest: IngestSettings = IngestSettings()
    engine: EngineSettings = EngineSettings()
    workers: WorkerSettings = WorkerSettings()
    digest: DigestSettings = DigestSettings()
    slack: SlackSettings = SlackSettings()
    discord: DiscordSettings = DiscordSettings()
    metrics: MetricsSettings = MetricsSettings()
    sources: tuple[SourceSettings, ...] = ()
    topics: tuple[TopicSettings, ...] = ()

    @field_validator("topics")
    @classmethod
    def _unique_topics(cls, topics: tuple[TopicSettings, ...]) -> tuple[TopicSettings, ...]:
        seen: set[str] = set()
        for topic in topics:
            if topic.id in seen:
                raise ValueError(f"topic id {topic.id!r} appears twice")
            seen.add(topic.id)
        return topics

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'storywatch.sqlite'}"


class Secrets(BaseModel):
    """Read from the environment only; never from the TOML file, never logged."""

    model_config = ConfigDict(frozen=True)

    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    discord_token: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Secrets:
        env = os.environ if env is None else env
        return cls(**{name: env.get(name.upper()) or None for name in cls.model_fields})


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the TOML file (if any), then apply STORYWATCH_* environment overrides."""
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    if path is not None:
        text = read_config_text(path)
        try:
            raw = tomllib.loads(text)
            _refuse_secrets(raw, prefix="", origin=str(path))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        except RecursionError:
            raise ConfigError(f"{path}: tables or arrays nested too deeply") from None
    for key, value in env.items():
        if key.startswith(ENV_PREFIX) and value:
            _apply_env(raw, key[len(ENV_PREFIX) :].lower().split("__"), value)
    origin = str(path) if path else "settings"
    settings = settings_from_mapping(raw, origin=origin)
    _check_topic_queries(settings, origin)
    return settings


def read_config_text(path: Path) -> str:
    """The file's text, or a ConfigError saying why it cannot be a configuration file."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a configuration file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES >> 20} MB, not a configuration file")
    try:
        # utf-8-sig: a byte order mark, as some editors write, is not part of the TOML.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}: line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x})") from None


def settings_from_mapping(raw: Mapping[str, Any], origin: str = "settings") -> Settings:
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origin)) from None


def _check_topic_queries(settings: Settings, origin: str) -> None:
    """Each topic's query by the engine's own parser: the file is refused as `topic add` would refuse it."""
    if not settings.topics:
        return
    from bot.stories.query import QueryError, parse_query

    for index, topic in enumerate(settings.topics):
        try:
            parse_query(topic.query)
        except QueryError as exc:
            raise ConfigError(f"{origin}: topics.{index}.query ({topic.id}): {exc}") from None


def _refuse_secrets(node: Mapping[str, Any], prefix: str, origin: str) -> None:
    for key, value in node.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            _refuse_secrets(value, prefix=f"{dotted}.", origin=origin)
        elif any(word in key.lower() for word in _SECRET_WORDS):
            raise ConfigError(
                f"{origin}: {dotted}: secrets are read from the environment only "
                f"(set {key.upper() if '.' not in dotted else dotted.replace('.', '_').upper()} instead)"
            )
        elif key == "database_url" and isinstance(value, str) and (where := _secret_in_url(value)):
            raise ConfigError(
                f"{origin}: {dotted}: holds a password ({where}); secrets are read from the environment only "
                "(set STORYWATCH_DATABASE_URL instead)"
            )


def _secret_in_url(url: str) -> str | None:
    """Where a URL carries a secret: its user:password@ part or a query key such as password=."""
    try:
        parts = urlsplit(url)
        if parts.password is not None:
            return "user:password@"
    except ValueError:
        return None  # not a URL at all: the store says so when it opens it, with no secret to keep
    for key, _ in parse_qsl(parts.query, keep_blank_values=True):
        if any(word in key.lower() for word in _SECRET_WORDS):
            return f"{key}= in the query string"
    return None


def _apply_env(raw: dict[str, Any], path: list[str], value: str) -> None:
    node = raw
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            return
        node = child
    node[path[-1]] = value


def _describe(exc: ValidationError, origin: str) -> str:
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        reason = error["msg"]
        if error["type"] == "extra_forbidden":
            reason = "unknown key"
        problems.append(f"{key}: {reason}")
    more = len(problems) - _MAX_PROBLEMS
    shown = problems[:_MAX_PROBLEMS] + ([f"and {more} more"] if more > 0 else [])
    return f"{origin}: " + "; ".join(shown)

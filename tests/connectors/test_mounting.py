"""A channel whose secrets are unset is not mounted, and the run command says
which ones in one line."""

from __future__ import annotations

from pathlib import Path

from rasa.core.channels.channel import InputChannel

from connectors.mounting import missing_env, summary, unmounted


class NeedsSecrets(InputChannel):
    required_env = ("DEMO_TOKEN", "DEMO_SECRET")

    @classmethod
    def name(cls) -> str:
        return "demo"


class NeedsNothing(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "plain"


def test_missing_variables_are_named_and_blank_counts_as_unset():
    assert missing_env(NeedsSecrets, {"DEMO_TOKEN": "x", "DEMO_SECRET": "  "}) == ["DEMO_SECRET"]
    assert missing_env(NeedsSecrets, {"DEMO_TOKEN": "x", "DEMO_SECRET": "y"}) == []
    assert missing_env(NeedsNothing, {}) == []


def test_the_credentials_file_decides_and_the_summary_is_one_line(tmp_path: Path):
    credentials = tmp_path / "credentials.yml"
    credentials.write_text(f"{__name__}.NeedsSecrets:\n{__name__}.NeedsNothing:\n", encoding="utf-8")
    skipped = unmounted(credentials, {})
    assert skipped == {"demo": ["DEMO_TOKEN", "DEMO_SECRET"]}
    assert unmounted(credentials, {"DEMO_TOKEN": "a", "DEMO_SECRET": "b"}) == {}
    line = summary(skipped)
    assert "\n" not in line and "demo (DEMO_TOKEN, DEMO_SECRET)" in line


def test_the_project_credentials_name_every_platform_channel_by_class_path():
    from faqbot.config import PROJECT_ROOT

    skipped = unmounted(PROJECT_ROOT / "bot" / "credentials.yml", {})
    assert {"rest", "socketio"}.isdisjoint(skipped)  # always on
    assert set(skipped) == {"wechat", "wecom", "dingtalk", "feishu", "telegram", "slack", "messenger"}
    assert skipped["wechat"] == ["WECHAT_TOKEN", "WECHAT_APP_ID", "WECHAT_APP_SECRET"]  # the AES key is optional
    assert skipped["feishu"] == ["FEISHU_APP_ID", "FEISHU_APP_SECRET", "FEISHU_VERIFICATION_TOKEN"]
    assert "WECOM_AES_KEY" in skipped["wecom"] and "DINGTALK_APP_SECRET" in skipped["dingtalk"]

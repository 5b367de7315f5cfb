"""Platforms' reply windows: how long after a customer's last message a business may
write to them first. Outside it the platform refuses the send, so an answer to a
留言 is not pushed (the console says why) and waits for the customer's next message.

- WeChat Official Accounts (客服消息): 48 hours after the user's last message.
- 微信客服 (WeCom KF, conversations ``kf:<open_kfid>:<external_userid>``): 48 hours.
- Messenger (standard messaging): 24 hours.

Other channels have no such window (the widget, REST, Telegram, Slack, DingTalk and
Feishu robots, and WeCom's own app messages to employees).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class ReplyWindow:
    name: str  # what the console calls it
    hours: int

    def closes_at(self, last_message: datetime) -> datetime:
        return last_message + timedelta(hours=self.hours)

    def state(self, last_message: datetime | None, now: datetime) -> dict[str, Any]:
        """For the console: the window, when it closes, whether it is open now."""
        closes = self.closes_at(last_message) if last_message is not None else None
        return {
            "name": self.name,
            "hours": self.hours,
            "last_message_at": last_message.isoformat() if last_message else None,
            "closes_at": closes.isoformat() if closes else None,
            "open": closes is not None and now < closes,
        }


def window_for(channel: str, conversation_id: str) -> ReplyWindow | None:
    """The window of the conversation's platform, or None when it has none."""
    if channel == "wechat":
        return ReplyWindow("微信公众号客服消息", 48)
    if channel == "wecom" and conversation_id.startswith("kf:"):
        return ReplyWindow("微信客服", 48)
    if channel == "messenger":
        return ReplyWindow("Messenger", 24)
    return None

"""How the gate reads a user's replies while a person owns the conversation or a
message (留言) is being left: cancel and yes words, a contact, text without punctuation."""

from __future__ import annotations

import re

CANCEL_WORDS = {"取消", "取消留言", "不留言", "不用了", "算了", "取消人工", "取消转人工", "退出", "退出排队"}
YES_WORDS = {"是", "是的", "对", "对的", "嗯", "好", "好的", "确认", "提交", "没错", "yes", "y"}
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,18}[0-9]$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def contact_of(text: str) -> str | None:
    """A phone number or an email address in the user's reply, as written."""
    text = text.strip().replace("：", ":")
    for part in [text] + re.split(r"[\s,，:]+", text):
        part = part.strip()
        if _EMAIL.match(part) or (_PHONE.match(part) and sum(ch.isdigit() for ch in part) >= 7):
            return part
    return None


def plain(text: str) -> str:
    """The words only: no spaces or punctuation, lower case (so "取消。" is "取消")."""
    return re.sub(r"[\s。！!？?，,~～]+", "", text).lower()

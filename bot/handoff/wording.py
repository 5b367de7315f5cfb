"""How the gate reads a user's replies while a person owns the conversation or a
message (留言) is being left: cancel and yes words, a contact, text without punctuation."""

from __future__ import annotations

import re
import unicodedata

CANCEL_WORDS = {
    "取消",
    "取消留言",
    "不留言",
    "不用了",
    "算了",
    "取消人工",
    "取消转人工",
    "退出",
    "退出排队",
    "取消排队",
}
# Thanks and "nothing more": small talk, never a question or something to add to a 留言.
THANKS_WORDS = {
    "谢谢",
    "谢谢你",
    "谢谢您",
    "谢谢你们",
    "多谢",
    "感谢",
    "好的谢谢",
    "好的谢谢你",
    "知道了",
    "明白了",
    "好的知道了",
    "收到",
    "没事了",
    "没有了",
    "ok",
    "okay",
    "thanks",
    "thankyou",
}
YES_WORDS = {"是", "是的", "对", "对的", "嗯", "好", "好的", "确认", "提交", "没错", "yes", "y"}
# A mainland mobile (optionally +86), a landline with its area code, or an
# international number with "+": digits may be split by spaces or dashes.
_PHONES = (
    re.compile(r"(?<![0-9])(?:\+?86[ \-]?)?1[3-9][0-9](?:[ \-]?[0-9]){8}(?![0-9])"),
    re.compile(r"(?<![0-9])0[1-9][0-9]{1,2}[ \-]?[0-9]{7,8}(?![0-9])"),
    re.compile(r"\+[1-9][0-9](?:[ \-]?[0-9]){6,14}(?![0-9])"),
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")


def contact_of(text: str) -> str | None:
    """A phone number or an e-mail address anywhere in the reply ("我的手机是
    138-0000-0000", "邮箱 a@b.cn"), written plainly: an e-mail as typed, a number
    without its spaces and dashes. Full-width digits and "＠" count too."""
    text = unicodedata.normalize("NFKC", text)
    email = _EMAIL.search(text)
    if email:
        return email.group(0)
    for pattern in _PHONES:
        found = pattern.search(text)
        if found:
            return re.sub(r"[ \-]", "", found.group(0))
    return None


def plain(text: str) -> str:
    """The words only: no spaces or punctuation, lower case (so "取消。" is "取消")."""
    return re.sub(r"[\s。！!？?，,~～]+", "", text).lower()


# The way-out buttons of the gate's own prompts: their payloads are the plain
# words the gate reads anyway, so a stale one is just those words.
MESSAGE_EXIT = {"title": "取消留言", "payload": "取消留言"}
QUEUE_EXIT = {"title": "取消排队", "payload": "取消排队"}
SKIP_CONTACT = {"title": "不留联系方式", "payload": "不留联系方式"}
SUBMIT = {"title": "提交", "payload": "提交"}
FOLLOWUP_EXIT = {"title": "不用补充了", "payload": "取消"}

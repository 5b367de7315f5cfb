"""Personal data out of text that is kept for analysis (the gaps report today): mainland
mobile numbers, ID-card numbers, bank-card numbers and e-mail addresses are masked,
keeping just enough to tell two apart (138****5678, a***@example.com).

The questions themselves stay readable: "我的手机13812345678收不到验证码" becomes
"我的手机138****5678收不到验证码", which still clusters with the same question
asked by someone else.
"""

from __future__ import annotations

import re

_EMAIL = re.compile(r"([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*(@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})")
# A mainland mobile (optionally +86), an ID-card number (17 digits and a digit or X), a bank card (15–19 digits).
_MOBILE = re.compile(r"(?<![0-9])((?:\+?86)?1[3-9][0-9])([0-9]{4})([0-9]{4})(?![0-9])")
_ID_CARD = re.compile(r"(?<![0-9])([1-9][0-9]{5})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])")
_LONG_DIGITS = re.compile(r"(?<![0-9])([0-9]{4})[0-9]{7,11}([0-9]{4})(?![0-9])")


def mask_personal(text: str) -> str:
    """``text`` with personal numbers and addresses masked (idempotent)."""
    text = _EMAIL.sub(lambda m: f"{m.group(1)}***{m.group(2)}", text)
    text = _ID_CARD.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _LONG_DIGITS.sub(lambda m: f"{m.group(1)}{'*' * 8}{m.group(2)}", text)

"""Personal numbers and addresses masked in text kept for analysis."""

from __future__ import annotations

import pytest

from faqbot.masking import mask_personal


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("我的手机13812345678收不到验证码", "我的手机138****5678收不到验证码"),
        ("+8613812345678", "+86138****5678"),
        ("身份证110101199003071234", "身份证110101********1234"),
        ("身份证 11010119900307123X 丢了", "身份证 110101********123X 丢了"),
        ("卡号6222021234567890123", "卡号6222********0123"),
        ("邮箱 zhangsan@example.com", "邮箱 z***@example.com"),
        ("订单 20261203 还没发货", "订单 20261203 还没发货"),  # short numbers stay
        ("提现手续费是多少", "提现手续费是多少"),
    ],
)
def test_masked(text, masked):
    assert mask_personal(text) == masked
    assert mask_personal(masked) == masked  # masking again changes nothing

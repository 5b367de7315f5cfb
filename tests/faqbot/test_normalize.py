from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from faqbot.normalize import normalize

TRAD_SIMP = [
    ("帳戶凍結怎麼解除", "账户冻结怎么解除"),
    ("提現手續費", "提现手续费"),
    ("個人能辦POS機嗎", "个人能办pos机吗"),
    ("線上客服甚麼時候有人", "线上客服什么时候有人"),
    ("退貨", "退货"),
]


def to_fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in text)


def test_traditional_becomes_simplified():
    for trad, simp in TRAD_SIMP:
        assert normalize(trad) == normalize(simp) == simp.lower()


def test_fullwidth_case_punctuation_and_spaces():
    assert normalize("ＰＯＳ機　申請？？") == "pos机 申请"
    assert normalize("  提现\t\t手续费0.1%是多少!!  ") == "提现 手续费0.1%是多少"
    assert normalize("USDT（TRC20）充值……没到账") == "usdt trc20 充值 没到账"
    assert normalize("？！。，") == ""


@given(st.text(max_size=60))
@hsettings(max_examples=300)
def test_idempotent(text):
    once = normalize(text)
    assert normalize(once) == once


@given(st.text(max_size=60))
def test_no_outer_or_double_spaces(text):
    out = normalize(text)
    assert out == out.strip()
    assert "  " not in out
    assert "\t" not in out and "\n" not in out


@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40))
def test_fullwidth_ascii_equals_halfwidth(text):
    assert normalize(to_fullwidth(text)) == normalize(text)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ", max_size=40))
def test_case_insensitive(text):
    assert normalize(text.upper()) == normalize(text.lower())

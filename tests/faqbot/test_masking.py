"""Personal numbers and addresses masked in text kept for analysis; ordinary numbers kept."""

from __future__ import annotations

import logging

import pytest

from faqbot.config import ConfigError, load_settings, to_env
from faqbot.masking import (
    Masker,
    MaskingFilter,
    id_card_valid,
    install_log_masking,
    luhn_valid,
    mask_personal,
    masker_for,
)

# 110101199003071233: check digit 3 is right (…1234 is wrong); 6222021234567890128 passes Luhn (…0123 fails).
VALID_ID, WRONG_ID = "110101199003071233", "110101199003071234"
VALID_CARD, WRONG_CARD = "6222021234567890128", "6222021234567890123"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("我的手机13812345678收不到验证码", "我的手机138****5678收不到验证码"),
        ("+8613812345678", "+86138****5678"),
        ("手机 +86 138 1234 5678", "手机 +86 138 **** 5678"),
        ("电话138-1234-5678", "电话138-****-5678"),
        ("手機１３８１２３４５６７８收不到驗證碼", "手機１３８****５６７８收不到驗證碼"),  # full-width digits, 繁體
        (f"身份证{VALID_ID}", "身份证110101********1233"),
        ("身份证 11010519491231002X 丢了", "身份证 110105********002X 丢了"),
        ("身份证 11010519491231002x", "身份证 110105********002x"),
        (f"身份证{WRONG_ID}", f"身份证{WRONG_ID}"),  # wrong check digit: not an ID card (nor a card)
        (f"卡号{VALID_CARD}", "卡号6222********0128"),
        ("卡号 6222 0212 3456 7890 128", "卡号 6222********0128"),
        ("卡号6217001234567893", "卡号6217********7893"),
        (f"卡号{WRONG_CARD}", f"卡号{WRONG_CARD}"),  # fails Luhn: an ordinary long number
        ("邮箱 zhangsan@example.com", "邮箱 z***@example.com"),
        ("订单 20261203 还没发货", "订单 20261203 还没发货"),  # short numbers stay
        ("电话 12345678901", "电话 12345678901"),  # no mobile starts 12
        ("提现手续费是多少", "提现手续费是多少"),
        ("", ""),
    ],
)
def test_masked(text, masked):
    assert mask_personal(text) == masked
    assert mask_personal(masked) == masked  # masking again changes nothing


def test_the_checks():
    assert id_card_valid(VALID_ID) and not id_card_valid(WRONG_ID) and id_card_valid("11010519491231002X")
    assert id_card_valid("１１０１０１１９９００３０７１２３３") and not id_card_valid("1101011990")
    assert luhn_valid(VALID_CARD) and not luhn_valid(WRONG_CARD) and luhn_valid("4111111111111111")


def test_configured_patterns_mask_order_numbers_and_uids():
    masker = Masker([r"DD[0-9]{12}", r"UID[:：]\s*([0-9A-Za-z]+)"])
    text = "订单DD202612031234没到，我的UID：u8877665544，手机13812345678"
    masked = masker(text)
    assert masked == "订单DD2********234没到，我的UID：u8*******44，手机138****5678"
    assert masker(masked) == masked
    assert mask_personal(text).count("DD202612031234") == 1  # the built-in rules alone keep it


def test_disabled_masks_nothing():
    assert Masker(enabled=False)("13812345678") == "13812345678"


def test_the_masking_section_from_file_and_env(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('[masking]\npatterns = ["DD[0-9]{12}"]\n', encoding="utf-8")
    s = load_settings(env={}, config_file=f)
    assert s.masking.enabled and s.masking.patterns == ("DD[0-9]{12}",)
    assert masker_for(s.masking)("DD202612031234") == "DD2********234"
    from_env = load_settings(env={"FAQBOT_MASKING_PATTERNS": '["UID[0-9]+"]', "FAQBOT_MASKING_ENABLED": "false"})
    assert from_env.masking.patterns == ("UID[0-9]+",) and not from_env.masking.enabled
    assert load_settings(env=to_env(s), config_file=tmp_path / "none.toml").masking == s.masking  # child processes


@pytest.mark.parametrize(
    ("toml", "env", "error"),
    [
        ('[masking]\npatterns = ["DD[0-9"]\n', {}, r"c.toml: masking.patterns: 'DD\[0-9' is not a valid regular"),
        ('[masking]\npatterns = "DD[0-9]+"\n', {}, "masking.patterns: expected a list of strings"),
        ('[masking]\npatterns = ["[0-9]*"]\n', {}, "matches the empty text"),
        ("", {"FAQBOT_MASKING_PATTERNS": "DD[0-9]+"}, "FAQBOT_MASKING_PATTERNS: expected a list of strings"),
        ("", {"FAQBOT_MASKING_PATTERNS": '["(x"]'}, "FAQBOT_MASKING_PATTERNS: masking.patterns: '\\(x' is not a valid"),
    ],
)
def test_bad_patterns_are_clear_config_errors(tmp_path, toml, env, error):
    f = tmp_path / "c.toml"
    f.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=error):
        load_settings(env=env, config_file=f)


def test_log_records_are_masked_for_every_handler(tmp_path):
    log_file = tmp_path / "bot.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    logger = logging.getLogger("tests.masking")
    logger.addHandler(handler)
    logger.propagate = False
    before = logging.getLogRecordFactory()
    try:
        install_log_masking(Masker([r"DD[0-9]{12}"]))
        install_log_masking(Masker([r"DD[0-9]{12}"]))  # twice: one masking, not two layers
        logger.warning("question %r from %s", "手机13812345678", "a@example.com")
        try:
            raise ValueError(f"bad card {VALID_CARD} for DD202612031234")
        except ValueError:
            logger.exception("failed")
    finally:
        logging.setLogRecordFactory(before)
        logger.removeHandler(handler)
        handler.close()
    written = log_file.read_text(encoding="utf-8")
    assert "138****5678" in written and "a***@example.com" in written and "6222********0128" in written
    for raw in ("13812345678", "a@example.com", VALID_CARD, "DD202612031234"):
        assert raw not in written


def test_the_filter_masks_a_record_once():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "手机 %s", ("13812345678",), None)
    masking = MaskingFilter(Masker())
    assert masking.filter(record) and masking.filter(record)
    assert record.getMessage() == "手机 138****5678"


def test_json_escapes_in_a_log_line_cannot_hide_a_number():
    # Rasa's structured log lines escape every Chinese character: "证" is \u8bc1, whose last hex
    # digit would look like the number's first one.
    line = '{"parse_data_text": "\\u8eab\\u4efd\\u8bc1110101199003071233\\u600e", "emoji": "\\ud83d\\ude00"}'
    record = logging.LogRecord("rasa", logging.DEBUG, __file__, 1, line, (), None)
    MaskingFilter(Masker()).filter(record)
    assert record.getMessage() == '{"parse_data_text": "身份证110101********1233怎", "emoji": "\\ud83d\\ude00"}'


def test_fields_the_masker_cannot_read_are_left_out_of_log_lines():
    line = '{"parse_data_text": "邮箱zhangsan li example com \\"x\\"", "parse_data_intent": {"name": "ask_faq"}}'
    record = logging.LogRecord("rasa", logging.DEBUG, __file__, 1, line, (), None)
    MaskingFilter(Masker(), omit_fields=("parse_data_text",)).filter(record)
    assert record.getMessage() == '{"parse_data_text": "(omitted)", "parse_data_intent": {"name": "ask_faq"}}'


def test_configured_patterns_ignore_case_as_the_normaliser_folds_it():
    assert Masker([r"DD[0-9]{12}"])("订单dd202612031234") == "订单dd2********234"


def test_personal_data_is_recognised_raw_and_masked():
    from faqbot.masking import holds_personal

    assert holds_personal("我的手机13812345678提现要钱吗")
    assert holds_personal("我的手机138****5678提现要钱吗")  # as the records keep it
    assert holds_personal("邮箱 a***@example.com 收不到")
    assert not holds_personal("提现要钱吗") and not holds_personal("评分 5*")

"""Personal data out of everything kept for analysis (the gaps report, the unanswered and
feedback logs, the KPI events, exports, log files): mainland mobile numbers, ID-card numbers
(GB 11643 check digit valid), bank-card numbers (15–19 digits, Luhn valid), e-mail addresses
and the installation's own patterns (``[masking] patterns``: order numbers, UIDs) are masked,
keeping just enough to tell two apart (138****5678, a***@example.com).

The questions themselves stay readable: "我的手机13812345678收不到验证码" becomes
"我的手机138****5678收不到验证码", which still clusters with the same question asked by
someone else. Only what is *stored* is masked: the bot answers the original text.

The checksums keep ordinary numbers readable: an 18-digit number whose check digit is wrong
is no ID card, a long number that fails Luhn is no bank card (an order number is masked only
when a configured pattern says so). Full-width digits (１３８…) count as digits.

This module imports nothing of the project, so every layer (``indexer/``, ``bot/``, the CLI)
masks with the same function.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any, Protocol

# Half- and full-width decimal digits: int() reads both.
_D = "[0-9０-９]"
_NOT_DIGIT_BEFORE = "(?<![0-9０-９])"
_NOT_DIGIT_AFTER = "(?![0-9０-９])"

_EMAIL = re.compile(r"([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*(@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})")
# 6 digits of region, 8 of birth date, 3 of sequence and the check digit (or X).
_ID_CARD = re.compile(
    rf"{_NOT_DIGIT_BEFORE}([1-9１-９]{_D}{{5}}){_D}{{8}}({_D}{{3}}[0-9０-９XxＸｘ])(?![0-9０-９A-Za-zＡ-Ｚａ-ｚ])"
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# 15–19 digits in one run, or in groups of four split by one space or dash (6222 0212 3456 7890 128).
_CARD = re.compile(
    rf"{_NOT_DIGIT_BEFORE}({_D}{{15,19}}|{_D}{{4}}(?:[ \-]{_D}{{4}}){{2,3}}(?:[ \-]{_D}{{1,4}})?){_NOT_DIGIT_AFTER}"
)
# 1[3-9]x xxxx xxxx, optionally +86 / 86 first, optionally split 3-4-4 by the same space or dash.
_MOBILE = re.compile(
    rf"{_NOT_DIGIT_BEFORE}((?:[+＋]?(?:86|８６)[ \-]?)?[1１][3-9３-９]{_D})"
    rf"([ \-]?)({_D}{{4}})\2({_D}{{4}}){_NOT_DIGIT_AFTER}"
)
_SEPARATORS = str.maketrans("", "", " -")
# A JSON \uXXXX escape (Rasa's structured log lines escape every Chinese character), surrogates left alone.
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def id_card_valid(number: str) -> bool:
    """Whether an 18-character ID-card number's last character is its GB 11643 check digit."""
    if len(number) != 18:
        return False
    last = number[17]
    try:
        total = sum(int(ch) * weight for ch, weight in zip(number[:17], _ID_WEIGHTS, strict=True))
        check = "X" if last in "XxＸｘ" else str(int(last))
    except ValueError:
        return False
    return _ID_CHECK[total % 11] == check


def luhn_valid(digits: str) -> bool:
    """Whether a run of digits passes the Luhn check bank cards carry."""
    total = 0
    for position, ch in enumerate(reversed(digits)):
        value = int(ch)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _mask_id(match: re.Match[str]) -> str:
    if not id_card_valid(match.group(0)):
        return match.group(0)
    return f"{match.group(1)}{'*' * 8}{match.group(2)}"


def _mask_card(match: re.Match[str]) -> str:
    digits = match.group(1).translate(_SEPARATORS)
    if not 15 <= len(digits) <= 19 or not luhn_valid(digits):
        return match.group(0)
    return f"{digits[:4]}{'*' * 8}{digits[-4:]}"


def _mask_span(text: str) -> str:
    """The middle of a configured pattern's match: a quarter kept at each end, as many stars."""
    keep = len(text) // 4
    return f"{text[:keep]}{'*' * (len(text) - 2 * keep)}{text[len(text) - keep :]}"


class Masker:
    """Masks personal data in text: the built-in kinds and the configured ``patterns``.

    A pattern with a capture group has only its first group masked (``订单号[:：]?(\\w+)``
    keeps the label); without one, the whole match. A match that touches a star is taken as
    already masked, so masking twice changes nothing.
    """

    def __init__(self, patterns: Iterable[str] = (), *, enabled: bool = True) -> None:
        self.enabled = enabled
        # Ignoring case: stored and logged text may be the normaliser's, case-folded (dd2026…).
        self.patterns = tuple(re.compile(p, re.IGNORECASE) for p in patterns)

    def __call__(self, text: str) -> str:
        if not self.enabled or not text:
            return text
        text = _EMAIL.sub(lambda m: f"{m.group(1)}***{m.group(2)}", text)
        text = _ID_CARD.sub(_mask_id, text)
        text = _CARD.sub(_mask_card, text)
        text = _MOBILE.sub(lambda m: f"{m.group(1)}{m.group(2)}****{m.group(2)}{m.group(4)}", text)
        for pattern in self.patterns:
            text = pattern.sub(self._mask_configured, text)
        return text

    @staticmethod
    def _mask_configured(match: re.Match[str]) -> str:
        group = 1 if match.re.groups else 0
        start, end = match.span(group)
        if start < 0 or start == end:
            return match.group(0)
        whole, offset = match.group(0), match.start(0)
        text = match.string
        if "*" in text[start:end] or text[start - 1 : start] == "*" or text[end : end + 1] == "*":
            return whole
        local_start, local_end = start - offset, end - offset
        return f"{whole[:local_start]}{_mask_span(whole[local_start:local_end])}{whole[local_end:]}"

    def optional(self, text: str | None) -> str | None:
        """``text`` masked; ``None`` stays ``None`` (columns that may be empty)."""
        return None if text is None else self(text)


class MaskingSettings(Protocol):
    """What a masker is built from (``faqbot.config.MaskingConfig``)."""

    @property
    def enabled(self) -> bool: ...

    @property
    def patterns(self) -> tuple[str, ...]: ...


def masker_for(config: MaskingSettings) -> Masker:
    """The masker the ``[masking]`` section asks for (patterns were checked when it was loaded)."""
    return Masker(config.patterns, enabled=config.enabled)


_BUILT_IN = Masker()


def mask_personal(text: str) -> str:
    """``text`` with personal numbers and addresses masked by the built-in rules (idempotent)."""
    return _BUILT_IN(text)


# What masking leaves: a run of three stars or more (138****5678, a***@example.com).
_MASKED = re.compile(r"\*{3,}")


def holds_personal(text: str) -> bool:
    """``text`` has personal data, as typed or already masked (the records store questions
    masked): such a text must not become a KB wording (``bot/handoff/similar_suggestions.py``)."""
    return bool(_MASKED.search(text)) or mask_personal(text) != text


class MaskingFilter(logging.Filter):
    """Masks a log record's message, arguments and traceback in place, so that no handler
    (a file, the console, a log collector) ever receives the raw numbers."""

    def __init__(self, masker: Masker, omit_fields: Iterable[str] = ()) -> None:
        """``omit_fields``: keys of structured (JSON) log lines whose string value is left out
        entirely: text in a form the masker cannot read, such as Rasa's ``parse_data_text``,
        the message after the normaliser turned ``a.b@example.com`` into ``a b example com``."""
        super().__init__()
        self.masker = masker
        names = "|".join(re.escape(name) for name in omit_fields)
        self._omit = re.compile(rf'"({names})": "(?:[^"\\]|\\.)*"') if names else None

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_faqbot_masked", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it for logging's own error report
            return True
        if self._omit is not None:
            message = self._omit.sub(r'"\1": "(omitted)"', message)
        record.msg, record.args = self.masker(_unescaped(message)), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.masker(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = self.masker(record.exc_text)
        if record.stack_info:
            record.stack_info = self.masker(record.stack_info)
        record._faqbot_masked = True
        return True


def _unescaped(message: str) -> str:
    """``message`` with JSON \\u escapes read as the characters they stand for: "\\u8bc1110…" hides
    the number's start behind the escape's last hex digit (and the line is readable Chinese)."""
    if "\\u" not in message:
        return message

    def char(match: re.Match[str]) -> str:
        code = int(match.group(1), 16)
        return match.group(0) if 0xD800 <= code <= 0xDFFF else chr(code)

    return _JSON_ESCAPE.sub(char, message)


def install_log_masking(masker: Masker, omit_fields: Iterable[str] = ()) -> None:
    """Mask every log record of this process as it is made (every logger, Rasa's and
    Sanic's included, whatever handlers are configured later); installing twice
    replaces the first."""
    if not masker.enabled:
        return
    masking = MaskingFilter(masker, omit_fields)
    base = logging.getLogRecordFactory()
    base = getattr(base, "_faqbot_base", base)

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        masking.filter(record)
        return record

    factory._faqbot_base = base  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)

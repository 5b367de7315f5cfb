"""The one text normaliser, used identically at index and at query time.

Steps: Unicode NFKC (full-width → half-width, compatibility forms), traditional
→ simplified Chinese (OpenCC ``t2s``), case folding, punctuation and symbols
→ spaces, whitespace collapsed. Bump ``NORMALISER_VERSION`` whenever the
output for some input changes: indexes record it in their manifest and refuse
to load under a different version.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import opencc

NORMALISER_VERSION = "1"

_converter = opencc.OpenCC("t2s")
# OpenCC keeps some variants apart that customers use interchangeably; map
# them to the standard simplified form (帳戶 → 帐户 → 账户, 甚麼 → 甚么 → 什么).
_VARIANT_CHARS = str.maketrans({"帐": "账"})
_VARIANT_WORDS = (("甚么", "什么"),)
_SPACES = re.compile(r"\s+")


def _is_separator(ch: str) -> bool:
    # Punctuation (P*) and symbols (S*) separate words; letters, digits and
    # CJK ideographs are kept. "+" "#" "%" stay: they carry meaning in "c++",
    # "#1", "0.1%".
    if ch in "+#%.":
        return False
    return unicodedata.category(ch)[0] in "PS"


# Texts longer than this are normalised without the cache: 65,536 cached
# 2,000-character messages (and their outputs) would hold ~0.5-1 GB, and a
# long text costs ~1 ms to normalise anyway. Questions are far shorter.
CACHE_MAX_CHARS = 256


def normalize(text: str) -> str:
    """Return the canonical form of ``text`` used for matching."""
    if len(text) > CACHE_MAX_CHARS:
        return _normalize(text)
    return _normalize_cached(text)


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _converter.convert(text).translate(_VARIANT_CHARS)
    for variant, standard in _VARIANT_WORDS:
        text = text.replace(variant, standard)
    text = text.casefold()
    # casefold can produce characters NFKC would change (e.g. "ß" → "ss" is
    # fine, but some compatibility forms reappear); normalise once more.
    text = unicodedata.normalize("NFKC", text)
    chars = [" " if _is_separator(ch) else ch for ch in text]
    text = "".join(chars)
    # A "." is kept inside numbers ("0.1") but is noise elsewhere.
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)
    return _SPACES.sub(" ", text).strip()


_normalize_cached = functools.lru_cache(maxsize=65536)(_normalize)

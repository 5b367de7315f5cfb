"""Hypothesis strategies for what strangers send a bot: text with every kind
of troublesome character, identifiers, arbitrary JSON, realistic platform
bodies with some fields swapped for junk, and bodies that are not JSON at all.

Kept cheap on purpose: strings are short (the bot's NLU is the slow part, and
the lengths that matter — 1999/2000/2001 — are explicit examples), and junk
replaces a field only now and then, so most bodies still get deep into each
channel."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

# Characters that broke, or could break, some layer: lone surrogates (JSON
# allows "\ud800", no UTF-8 store does), C0/C1 controls, bidi overrides and
# isolates, zero-width and BOM, line/paragraph separators, noncharacters,
# private use, unassigned, astral, combining, case-mapping surprises.
NASTY_CHARS = (
    "\ud800",
    "\udbff",
    "\udc00",
    "\udfff",
    "\x00",
    "\x01",
    "\x08",
    "\x0b",
    "\x1b",
    "\x1f",
    "\x7f",
    "\x85",
    "\x9f",
    "\u00a0",
    "\u202e",
    "\u202d",
    "\u2066",
    "\u2069",
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u2028",
    "\u2029",
    "\ufffe",
    "\uffff",
    "\ufffd",
    "\ue000",
    "\U000f0000",
    "\u0378",
    "\U0001f600",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "\U0010ffff",
    "\u0301",
    "\u0130",
    "\u00df",
    "\u3000",
    "\uff21",
    "\u00b2",
    "\u0661",
)
# Strings that mean something to some layer (paths, markup, templates, SQL,
# Rasa's own "/intent{...}" syntax, numbered-option replies) and plain words.
NASTY_WORDS = (
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "]]>",
    "<![CDATA[",
    "&amp;",
    "&#0;",
    "%00",
    "%s%n",
    "{0}",
    "${jndi:ldap://x}",
    "' OR 1=1 --",
    "null",
    "true",
    "NaN",
    "-1",
    "1e308",
    "1",
    "2",
    "@1e308",
    "/restart",
    "/greet",
    "/affirm",
    "/feedback_positive",
    '/choose_faq{"faq_id": "../x"}',
    "\\",
    '"',
    "\r\n",
    " ",
    "\t",
    "你好",
    "提现",
    "手续费",
    "谢谢",
    "人工",
    "ok",
    "a",
)

nasty_chars = st.sampled_from(NASTY_CHARS)
any_char = st.characters(codec=None, exclude_categories=())  # every code point, surrogates included
text = st.lists(
    st.one_of(nasty_chars, st.sampled_from(NASTY_WORDS), st.text(any_char, min_size=1, max_size=6)), max_size=5
).map("".join)
"""Short text that may hold anything: lone surrogates, controls, bidi, zero-width, astral…"""

_ID_ALPHABET = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:@$")
plain_ids = st.text(_ID_ALPHABET, min_size=1, max_size=24)
"""Identifiers as platforms make them (openid, staffId, PSID, U0123…, uuid-ish)."""
identifiers = st.one_of(
    plain_ids,
    text,
    st.builds(lambda a, b: a + b, plain_ids, st.one_of(nasty_chars, text)),
    st.text(any_char, min_size=129, max_size=140),
)
"""A sender / session id: plausible, junk, plausible with one bad character, or too long."""

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True), text
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)),
    max_leaves=6,
)
"""Any JSON value (NaN and ±Infinity included: Python's json writes and reads them)."""

_MISSING = object()


def sometimes(common: st.SearchStrategy[Any], rare: st.SearchStrategy[Any], one_in: int) -> st.SearchStrategy[Any]:
    """``rare`` about one time in ``one_in``, else ``common`` (which shrinking prefers)."""
    return st.integers(0, one_in - 1).flatmap(lambda n: rare if n == one_in - 1 else common)


def mutated(template: Any, one_in: int = 6) -> st.SearchStrategy[Any]:
    """``template`` (nested dicts/lists of values or strategies) with, now and
    then (about one value in ``one_in``; never with 0), a value swapped for any
    JSON value or a key left out."""
    if one_in == 0:
        return _filled(template)
    if isinstance(template, st.SearchStrategy):
        base = template
    elif isinstance(template, dict):
        base = st.fixed_dictionaries(
            {k: sometimes(mutated(v, one_in), st.just(_MISSING), 2 * one_in) for k, v in template.items()}
        ).map(lambda d: {k: v for k, v in d.items() if v is not _MISSING})
    elif isinstance(template, list):
        base = st.tuples(*(mutated(v, one_in) for v in template)).map(list)
    else:
        base = st.just(template)
    return sometimes(base, json_values, one_in)


def _filled(template: Any) -> st.SearchStrategy[Any]:
    """``template`` with its strategies drawn and nothing else changed."""
    if isinstance(template, st.SearchStrategy):
        return template
    if isinstance(template, dict):
        return st.fixed_dictionaries({k: _filled(v) for k, v in template.items()})
    if isinstance(template, list):
        return st.tuples(*(_filled(v) for v in template)).map(list)
    return st.just(template)


def variants(template: Any) -> st.SearchStrategy[Any]:
    """``template`` as is (its own strategies still vary), lightly mutated, or heavily mutated, in equal parts:
    a third of the cases get past every structural check, the rest probe them."""
    return st.one_of(mutated(template, 0), mutated(template, 20), mutated(template, 5))


def encode_json(value: Any, escaped: bool) -> bytes:
    """JSON as a client would send it: lone surrogates as ``\\ud800`` escapes
    (``escaped``), or the raw UTF-8 text with surrogates as the invalid 3-byte
    sequences a sloppy encoder writes."""
    if escaped:
        return json.dumps(value).encode("ascii")
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def json_bodies(values: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    return st.builds(encode_json, values, st.booleans())


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _wrapped(value: str, codec: str) -> bytes:
    return json.dumps({"sender": "enc-" + codec, "message": value}, ensure_ascii=False).encode(codec, "replace")


raw_bodies = st.one_of(
    st.binary(max_size=48),
    st.sampled_from(
        [
            b"",
            b"{",
            b"}",
            b"[]",
            b"null",
            b"0",
            b'""',
            b"{not json",
            b'{"a":1,}',
            b"{'a': 1}",
            b"\xef\xbb\xbf{}",
            b"\xff\xfe{\x00}\x00",
            b'{"a": "\xff"}',
            b'{"a": "\xed\xa0\x80"}',
            b"NaN",
            b"[1e99999]",
            b'{"a": 1' + b"1" * 5000 + b"}",
            _deep(100_000),
            _deep(2000),
            b'{"a":' * 5000 + b"1" + b"}" * 5000,
        ]
    ),
    st.builds(_wrapped, text, st.sampled_from(["utf-16", "utf-32", "gbk", "big5", "shift_jis", "latin-1"])),
)
"""Bodies that are not (UTF-8) JSON: random bytes, broken JSON, BOMs, other encodings, deep nesting."""


def as_header(value: str) -> str:
    """``value`` as a client that writes UTF-8 headers sends it (http.client writes latin-1: one byte each),
    without CR/LF (which would end the header)."""
    raw = value.replace("\r", "").replace("\n", "").encode("utf-8", "surrogatepass")
    return raw.decode("latin-1")


header_texts = text.map(as_header)
"""Header values holding any bytes but CR and LF (Sanic reads them as UTF-8, surrogate-escaping the rest)."""

content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=gbk",
        "text/xml",
        "*/*",
    ]
)

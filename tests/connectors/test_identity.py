"""Identifiers and bodies from outside (``connectors/identity.py``): what passes
can be stored anywhere, what does not gets a reason."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.identity import BadIdentifier, check_id, id_problem, parse_json, safe_json, safe_text

PLATFORM_IDS = [
    "oABCD1234_efgh-ijkl",
    "manager4521",
    "$:LWCP_v1:$abcdef==",
    "ou_7d8a6e6df7621556ce0d21922b676706",
    "U024BE7LH",
    "123456789",
    "2b0c9c6c5a1a4c0e9f6f0f0f0f0f0f0f",
    "user@example.com",
    "客户-张三",
]


@pytest.mark.parametrize("value", PLATFORM_IDS)
def test_real_platform_ids_pass(value):
    assert id_problem(value) is None
    assert check_id(value) == value


@pytest.mark.parametrize(
    "value, why",
    [
        ("a\ud800", "U+D800"),
        ("x\x00y", "U+0000"),
        ("a\u200bb", "U+200B"),
        ("\u202eabc", "U+202E"),
        ("a\ue000", "U+E000"),
        ("a\u2028", "U+2028"),
        ("   ", "empty"),
        ("", "empty"),
        ("s" * 129, "128"),
        (42, "string"),
        (None, "string"),
    ],
)
def test_ids_no_store_can_hold_are_refused_with_the_reason(value, why):
    problem = id_problem(value, "session_id")
    assert problem is not None and why in problem and "session_id" in problem
    with pytest.raises(BadIdentifier, match=re.escape(why)):
        check_id(value)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(alphabet=st.characters(), max_size=140))
def test_every_accepted_id_encodes_and_every_text_is_made_storable(value):
    if id_problem(value) is None:
        value.encode("utf-8")
    stored = safe_text(value)
    stored.encode("utf-8")
    assert len(stored) == len(value)
    assert "\n" not in value or "\n" in stored


def test_text_keeps_what_people_type_and_replaces_only_what_cannot_be_stored():
    assert safe_text("提现\n手续费\t多少？👍") == "提现\n手续费\t多少？👍"
    assert safe_text("a\ud800b\x00c") == "a\ufffdb\ufffdc"
    assert safe_json({"k\ud800": ["v\x00", 1, None, True, {"deep": 2.5}]}) == {
        "k\ufffd": ["v\ufffd", 1, None, True, {"deep": 2.5}]
    }


@pytest.mark.parametrize(
    "raw, why",
    [
        (b"", "empty"),
        (None, "empty"),
        (b"\xff\xfe{}", "UTF-8"),
        (b"{not json", "not valid JSON"),
        (b'{"sender": "a\\ud800"}', "surrogate"),
        (b'["x", {"k\\udfff": 1}]', "surrogate"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_bodies_that_are_not_clean_json_are_refused_with_the_reason(raw, why):
    with pytest.raises(ValueError, match=why):
        parse_json(raw)


def test_clean_json_and_paired_surrogates_pass():
    assert parse_json(json.dumps({"sender": "u1", "message": "😀 提现"}).encode()) == {
        "sender": "u1",
        "message": "😀 提现",
    }
    assert parse_json(b'{"m": "\\ud83d\\ude00"}') == {"m": "😀"}

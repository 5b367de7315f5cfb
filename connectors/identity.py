"""What an identifier from outside (a sender id, a session id, a platform's
message id) must look like before it reaches any store.

Sender ids become tracker keys, database rows, Redis keys, socket.io rooms and
console labels. A lone surrogate once reached the SQL tracker store, whose
UnicodeEncodeError Rasa turns into ``sys.exit(1)``: one unauthenticated request
stopped the bot. Every channel checks its identifiers here (the REST and
socket.io channels and each platform webhook at parse time, answering 400;
``connectors.guard`` once more for every message), so a bad one is refused
before anything is stored.

Accepted: 1–128 characters, none of them a control, format (zero-width, bidi),
surrogate, private-use or unassigned code point or a line/paragraph
separator, and not only whitespace. Platform ids (openid, staffId, open_id,
PSIDs, Slack and Telegram ids), UUIDs and e-mail-like ids all pass.

Message text is never refused for its characters: ``safe_text`` replaces what
cannot be stored (lone surrogates, NUL and other C0/C1 controls but tab and
newline) so the customer still gets an answer.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

MAX_ID_CHARS = 128
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_UNSTORABLE = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
MAX_METADATA_DEPTH = 8
_SURROGATE = re.compile("[\ud800-\udfff]")


class BadIdentifier(ValueError):
    """An identifier from outside that no store may see; the message says why."""


def id_problem(value: object, what: str = "sender") -> str | None:
    """Why ``value`` is not an acceptable identifier, or None when it is."""
    if not isinstance(value, str):
        return f"'{what}' must be a string"
    if not value.strip():
        return f"'{what}' must not be empty"
    if len(value) > MAX_ID_CHARS:
        return f"'{what}' is longer than {MAX_ID_CHARS} characters"
    for char in value:
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            return (
                f"'{what}' contains the character U+{ord(char):04X}, which is not allowed in an identifier "
                "(control, invisible, surrogate, private-use or unassigned characters)"
            )
    return None


def check_id(value: object, what: str = "sender") -> str:
    """``value`` itself when it is acceptable; else :class:`BadIdentifier`."""
    problem = id_problem(value, what)
    if problem is not None:
        raise BadIdentifier(problem)
    assert isinstance(value, str)
    return value


def is_storable(text: str) -> bool:
    """Whether every store can hold ``text`` as it is: no unpaired surrogate
    (UTF-8 cannot encode one) and no NUL (PostgreSQL refuses it). For values
    that must stay exact, like a password, where :func:`safe_text` would alter them."""
    return _SURROGATE.search(text) is None and "\x00" not in text


def safe_text(text: str) -> str:
    """``text`` with what no store can hold replaced by U+FFFD (tab and newline kept)."""
    return _UNSTORABLE.sub("\ufffd", text)


def safe_json(value: Any, depth: int = 0) -> Any:
    """Channel metadata made storable: strings through :func:`safe_text`, only
    JSON types, nesting bounded (deeper parts dropped)."""
    if depth > MAX_METADATA_DEPTH:
        return None
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
        return value
    if isinstance(value, dict):
        return {safe_text(str(k)): safe_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [safe_json(v, depth + 1) for v in value]
    return safe_text(str(value))


def parse_json(raw: bytes | str | None) -> Any:
    """A request body as JSON, or ``ValueError`` saying why not: not UTF-8,
    not JSON, nested too deeply, or holding an unpaired surrogate (``"\\ud800"``:
    valid JSON, but no store can encode it). Every channel parses its bodies
    here, so no identifier in a body reaches a store unchecked."""
    if raw is None or raw == b"" or raw == "":
        raise ValueError("the body is empty")
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("the body is not UTF-8") from None
    try:
        value = json.loads(raw)
    except RecursionError:
        raise ValueError("the body is nested too deeply") from None
    except ValueError as exc:
        raise ValueError(f"the body is not valid JSON ({exc})") from None
    pending = [value]
    while pending:  # iterative: a deep body must not exhaust the stack here either
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise ValueError("the body contains an unpaired surrogate (e.g. \\ud800), which is not valid Unicode")
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return value

"""Sensitive words (敏感词): the editors' ``sensitive_words.txt`` and the one matcher that
customer input, bot and agent output and KB validation all use.

The list has categories, each with what to do when a customer writes one of its words
(``refuse``: a polite refusal, no retrieval; ``handoff``: a person takes over; ``log``:
answered as usual, only counted), and an allow-list of harmless longer phrases that
contain a listed word ("usb" contains "sb")::

    [辱骂] 拒答
    傻逼
    sb
    [赌博] 转人工
    博彩
    [允许]
    usb

Matching runs over a *skeleton* of the text: every character goes through the one
normaliser (``faqbot.normalize``: NFKC, so full-width "ＳＢ" is "sb"; 繁→简, so 賭博 is
赌博; case folding), homoglyph digits are folded ("〇", "o" → "0"; "l" → "1"), and what is
left that is not a letter or a digit (spaces, punctuation, symbols: "博*彩", "赌 博") is
dropped. The listed words get the same treatment, so they match however they are written.
Each skeleton character remembers the original character it came from, so a hit names
the span of the original text. A hit that lies inside an allowed phrase found in the same
text is no hit.

The words are compiled once per list (``SensitiveList.matcher``) into an Aho-Corasick
automaton (pyahocorasick): one pass over the text whatever the number of words. The list
an index version was built with travels in its folder (``sensitive.json``), like the
synonyms, so every server that serves a version checks with the same list.
"""

from __future__ import annotations

import enum
import functools
import json
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ahocorasick

from faqbot.normalize import normalize

SENSITIVE_JSON = "sensitive.json"  # in an index version folder


class SensitiveAction(enum.StrEnum):
    """What a customer's message with a word of the category gets, strongest first."""

    REFUSE = "refuse"
    HANDOFF = "handoff"
    LOG = "log"


# How editors may write an action in the file (Chinese or English).
ACTION_WORDS: dict[str, SensitiveAction] = {
    "拒答": SensitiveAction.REFUSE,
    "拒绝": SensitiveAction.REFUSE,
    "refuse": SensitiveAction.REFUSE,
    "转人工": SensitiveAction.HANDOFF,
    "handoff": SensitiveAction.HANDOFF,
    "记录": SensitiveAction.LOG,
    "只记录": SensitiveAction.LOG,
    "log": SensitiveAction.LOG,
}
ACTION_NAMES = {
    SensitiveAction.REFUSE: "拒答",
    SensitiveAction.HANDOFF: "转人工",
    SensitiveAction.LOG: "只记录",
}
# Strongest first: a message with words of several categories gets the strongest action.
# A refusal first: those categories (politics, abuse) are what the service does not take
# up at all, not even by routing it to a person.
_STRENGTH = (SensitiveAction.REFUSE, SensitiveAction.HANDOFF, SensitiveAction.LOG)

# Characters that stand in for a digit; folded in the text and in the words alike, before
# and after normalising ("○" is a symbol the normaliser would drop, "Ｏ" becomes "o").
_HOMOGLYPHS = {
    "〇": "0",
    "○": "0",
    "◯": "0",
    "o": "0",
    "о": "0",  # Cyrillic o
    "ο": "0",  # Greek omicron
    "l": "1",
    "ı": "1",
    "ǀ": "1",
}


@functools.lru_cache(maxsize=8192)
def _skeleton_char(ch: str) -> str:
    """What one original character becomes in the skeleton ("" when dropped)."""
    ch = _HOMOGLYPHS.get(ch, ch)
    out = []
    for c in normalize(ch):
        c = _HOMOGLYPHS.get(c, c)
        if c.isalnum() and unicodedata.category(c)[0] in "LN":
            out.append(c)
    return "".join(out)


def skeleton(text: str) -> tuple[str, list[int]]:
    """The text as words are matched in it, and for each of its characters the index of
    the original character it came from."""
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        for c in _skeleton_char(ch):
            chars.append(c)
            origin.append(i)
    return "".join(chars), origin


def skeleton_text(text: str) -> str:
    return skeleton(text)[0]


@dataclass(frozen=True)
class SensitiveCategory:
    name: str
    action: SensitiveAction
    words: tuple[str, ...] = ()  # as the editors wrote them


@dataclass(frozen=True)
class Hit:
    """One sensitive word found in a text: the listed word, its category and action, and
    the span of the original text it was found in (``text[start:end]``)."""

    word: str
    category: str
    action: SensitiveAction
    start: int
    end: int
    found: str  # text[start:end], as written ("賭 博")

    def to_json(self) -> dict[str, Any]:
        return {
            "word": self.word,
            "category": self.category,
            "action": str(self.action),
            "start": self.start,
            "end": self.end,
            "found": self.found,
        }


def strongest(hits: Iterable[Hit]) -> SensitiveAction | None:
    """The action a message with these hits gets (None: no hit)."""
    actions = {h.action for h in hits}
    return next((a for a in _STRENGTH if a in actions), None)


def describe(hits: Sequence[Hit]) -> str:
    """The hits for people, in Chinese: “赌博”（赌博）、“sb”（辱骂）."""
    seen = dict.fromkeys((h.word, h.category) for h in hits)
    return "、".join(f"“{word}”（{category}）" for word, category in seen)


class Matcher:
    """The list compiled: one Aho-Corasick automaton for the words and one for the allowed
    phrases, over skeletons. Read-only once built, so threads share it."""

    def __init__(self, categories: Sequence[SensitiveCategory], allow: Sequence[str]) -> None:
        self._words = ahocorasick.Automaton()
        entries: dict[str, list[tuple[str, str, SensitiveAction]]] = {}
        for category in categories:
            for word in category.words:
                key = skeleton_text(word)
                if key:
                    entries.setdefault(key, []).append((word, category.name, category.action))
        for key, owners in entries.items():
            self._words.add_word(key, (len(key), tuple(owners)))
        self._has_words = bool(entries)
        if self._has_words:
            self._words.make_automaton()
        self._allow = ahocorasick.Automaton()
        allowed = {skeleton_text(p) for p in allow} - {""}
        for key in allowed:
            self._allow.add_word(key, len(key))
        self._has_allow = bool(allowed)
        if self._has_allow:
            self._allow.make_automaton()

    def find(self, text: str) -> list[Hit]:
        """Every listed word in ``text`` not inside an allowed phrase, in the order found."""
        if not self._has_words or not text:
            return []
        skel, origin = skeleton(text)
        if not skel:
            return []
        allowed: list[tuple[int, int]] = []
        if self._has_allow:
            allowed = [(end - n + 1, end + 1) for end, n in self._allow.iter(skel)]
        hits: list[Hit] = []
        for end, (n, owners) in self._words.iter(skel):
            start, stop = end - n + 1, end + 1
            if any(a <= start and stop <= b for a, b in allowed):
                continue
            first, last = origin[start], origin[stop - 1] + 1
            for word, category, action in owners:
                hits.append(Hit(word, category, action, first, last, text[first:last]))
        return hits


@dataclass(frozen=True)
class SensitiveList:
    """The categories with their words and the allow-list, as ``sensitive_words.txt`` has them."""

    categories: tuple[SensitiveCategory, ...] = ()
    allow: tuple[str, ...] = ()
    _compiled: list[Matcher] = field(default_factory=list, compare=False, hash=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, hash=False, repr=False)

    def __bool__(self) -> bool:
        return any(c.words for c in self.categories)

    @property
    def matcher(self) -> Matcher:
        """The automaton, built the first time it is needed (once per list)."""
        if not self._compiled:
            with self._lock:
                if not self._compiled:
                    self._compiled.append(Matcher(self.categories, self.allow))
        return self._compiled[0]

    def find(self, text: str) -> list[Hit]:
        return self.matcher.find(text) if self else []

    def category(self, name: str) -> SensitiveCategory | None:
        return next((c for c in self.categories if c.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "categories": [{"name": c.name, "action": str(c.action), "words": list(c.words)} for c in self.categories],
            "allow": list(self.allow),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SensitiveList:
        categories = tuple(
            SensitiveCategory(str(c["name"]), SensitiveAction(c["action"]), tuple(str(w) for w in c["words"]))
            for c in data.get("categories", [])
        )
        return cls(categories, tuple(str(p) for p in data.get("allow", [])))

    def save(self, directory: Path) -> None:
        (directory / SENSITIVE_JSON).write_text(json.dumps(self.to_json(), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> SensitiveList:
        """The list an index version was built with (none for versions older than the list)."""
        path = directory / SENSITIVE_JSON
        if not path.exists():
            return cls()
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))

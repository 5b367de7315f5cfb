"""Synonyms (同义词): the editors' ``synonyms.txt``, and the one rewrite of matching text
to canonical words that index building and searching both use.

One group per line, words separated by ``=``, the first word canonical::

    提现 = 提币 = 取币   # 注释

After ``normalize``, every variant is replaced by its group's canonical word,
scanning left to right and taking the longest word that matches at each place
(canonical words match too, and stay as they are, so "解冻" is not read as
"解" + "冻"). KB questions are rewritten at build time and queries at search
time with the synonyms the index version was built with (``synonyms.json`` in
the version folder), never the current file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

SYNONYMS_JSON = "synonyms.json"  # in an index version folder


class Synonyms:
    """Groups of normalised words, each rewritten to its first (canonical) word."""

    def __init__(self, groups: Iterable[Sequence[str]] = ()) -> None:
        self.groups: tuple[tuple[str, ...], ...] = tuple(tuple(g) for g in groups if len(g) > 1)
        self._to: dict[str, str] = {}
        for group in self.groups:
            for word in group:
                self._to.setdefault(word, group[0])
        self._lengths = sorted({len(w) for w in self._to}, reverse=True)

    def __bool__(self) -> bool:
        return bool(self.groups)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Synonyms) and self.groups == other.groups

    def __hash__(self) -> int:
        return hash(self.groups)

    def __repr__(self) -> str:
        return f"Synonyms({[list(g) for g in self.groups]!r})"

    def _scan(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        if not self._to:
            return text, []
        out: list[str] = []
        applied: list[tuple[str, str]] = []
        i = 0
        while i < len(text):
            for n in self._lengths:
                word = text[i : i + n]
                if len(word) == n and word in self._to:
                    canonical = self._to[word]
                    out.append(canonical)
                    if canonical != word:
                        applied.append((word, canonical))
                    i += n
                    break
            else:
                out.append(text[i])
                i += 1
        return "".join(out), applied

    def apply(self, text: str) -> str:
        """``text`` (already normalised) with every variant replaced by its canonical word."""
        return self._scan(text)[0]

    def applied(self, text: str) -> list[tuple[str, str]]:
        """The (variant, canonical) replacements ``apply`` makes in ``text``, in order, each once."""
        return list(dict.fromkeys(self._scan(text)[1]))

    def to_json(self) -> list[list[str]]:
        return [list(g) for g in self.groups]

    @classmethod
    def from_json(cls, data: list[list[str]]) -> Synonyms:
        return cls(data)

    def save(self, directory: Path) -> None:
        (directory / SYNONYMS_JSON).write_text(json.dumps(self.to_json(), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> Synonyms:
        """The synonyms an index version was built with (none for versions older than synonyms)."""
        path = directory / SYNONYMS_JSON
        if not path.exists():
            return cls()
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))

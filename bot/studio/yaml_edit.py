"""Changes to FAQ entries written into the KB's YAML files, keeping everything else as it was.

The YAML in ``kb_content/`` stays the readable, diff-friendly form of the FAQ:
a change made in the studio edits only the entry it is about, in place, with
ruamel.yaml's round-trip mode, so the files' comments, key order, quoting and
list styles survive (a file nobody changed is written back byte for byte).
A new entry goes at the end of the file of its category (a new category gets
a new file); changing an entry's category moves it to that file.
"""

from __future__ import annotations

import dataclasses
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString

# KB files that are text, not YAML, edited whole (同义词, 敏感词)
PLAIN_FILES = ("synonyms.txt", "sensitive_words.txt")

# The fields an editor changes, in the order a new entry is written.
FIELDS = (
    "id",
    "question",
    "similar",
    "answer",
    "tags",
    "related",
    "handoff",
    "handoff_notice",
    "enabled",
    "hot",
    "valid_until",
)
LISTS = ("similar", "tags", "related")


class EditError(ValueError):
    """A change that cannot be applied to the files as they are (in Chinese: editors read it)."""


def _yaml() -> YAML:
    y = YAML()
    y.preserve_quotes = True  # type: ignore[assignment]
    y.width = 4096  # type: ignore[assignment]
    y.indent(mapping=2, sequence=4, offset=2)
    return y


@dataclass
class KbFiles:
    """The KB's YAML files, parsed for round-trip editing; ``texts()`` gives them back."""

    docs: dict[str, Any]
    original: dict[str, str]
    plain: dict[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def read(cls, kb_dir: Path) -> KbFiles:
        y = _yaml()
        original = {p.name: p.read_text(encoding="utf-8") for p in sorted(kb_dir.glob("*.yml"))}
        docs = {name: y.load(text) for name, text in original.items()}
        plain = {n: (kb_dir / n).read_text(encoding="utf-8") for n in PLAIN_FILES if (kb_dir / n).is_file()}
        return cls(docs, {**original, **plain}, dict(plain))

    def texts(self) -> dict[str, str]:
        """Every file's text after the changes (unchanged files exactly as read)."""
        y = _yaml()
        out = {}
        for name, doc in self.docs.items():
            buf = io.StringIO()
            y.dump(doc, buf)
            out[name] = buf.getvalue()
        return {**out, **self.plain}

    def set_text(self, name: str, text: str) -> None:
        """Replace a text file of the KB whole (``PLAIN_FILES``: the synonyms and sensitive-word lists)."""
        if name not in PLAIN_FILES:
            raise EditError(f"{name} 不能在工作室里整个替换")
        self.plain[name] = text if not text or text.endswith("\n") else text + "\n"

    def changed(self) -> dict[str, str]:
        """The files whose text differs from what was read (new files included)."""
        return {n: t for n, t in self.texts().items() if self.original.get(n) != t}

    def _entries(self, name: str) -> CommentedSeq:
        doc = self.docs[name]
        if not isinstance(doc, CommentedMap) or not isinstance(doc.get("entries"), list):
            raise EditError(f"{name} 的格式不对：没有 entries 列表，请先修正这个文件")
        return doc["entries"]

    def find(self, entry_id: str) -> tuple[str, int] | None:
        """The file and position of the entry with this id."""
        for name in self.docs:
            try:
                entries = self._entries(name)
            except EditError:
                continue
            for i, item in enumerate(entries):
                if isinstance(item, CommentedMap) and str(item.get("id")) == entry_id:
                    return name, i
        return None

    def file_for(self, category: str, entry_id: str) -> str:
        """The file holding ``category`` (created, named after the id's prefix, if none does)."""
        for name, doc in self.docs.items():
            if isinstance(doc, CommentedMap) and str(doc.get("category", "")) == category:
                return name
        stem = re.sub(r"[^a-z0-9-]+", "-", entry_id.split("-")[0].lower()).strip("-") or "faq"
        name, n = f"{stem}.yml", 1
        while name in self.docs:
            n += 1
            name = f"{stem}-{n}.yml"
        doc = CommentedMap()
        doc["category"] = category
        doc["entries"] = CommentedSeq()
        self.docs[name] = doc
        return name

    def category_of(self, name: str) -> str:
        doc = self.docs[name]
        return str(doc.get("category", "")) if isinstance(doc, CommentedMap) else ""

    def delete(self, entry_id: str) -> None:
        found = self.find(entry_id)
        if found is None:
            raise EditError(f"条目 {entry_id} 已经不在知识库里了")
        name, i = found
        del self._entries(name)[i]

    def put(self, data: dict[str, Any]) -> None:
        """Write one entry (``data``: its fields and ``category``), updating it in place if it exists."""
        entry_id = str(data["id"])
        category = str(data.get("category") or "")
        found = self.find(entry_id)
        if found is not None and (not category or self.category_of(found[0]) == category):
            name, i = found
            _update(self._entries(name)[i], data)
            return
        if not category:
            raise EditError(f"新条目 {entry_id} 需要一个分类")
        if found is not None:  # moved to another category: out of its old file, into the new one
            old, i = found
            item = self._entries(old)[i]
            del self._entries(old)[i]
        else:
            item = CommentedMap()
        _update(item, data)
        self._entries(self.file_for(category, entry_id)).append(item)


def _value(field: str, value: Any, old: Any) -> Any:
    if field in LISTS:
        items = [str(v) for v in value or []]
        if isinstance(old, CommentedSeq):  # keep the list's style ([a, b] or one "- " per line)
            old.clear()
            old.extend(items)
            return old
        seq = CommentedSeq(items)
        if field in ("tags", "related"):
            seq.fa.set_flow_style()
        return seq
    if field in ("answer", "handoff_notice") and "\n" in str(value).strip():
        return LiteralScalarString(str(value).strip() + "\n")
    if field == "answer":
        return LiteralScalarString(str(value).strip() + "\n")
    if field == "valid_until":  # written as a YAML date (2026-12-31, unquoted), as editors write it by hand
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            return str(value).strip()  # kept as written: the validator says what is wrong with it
    return value


DEFAULTS: dict[str, Any] = {
    "similar": [],
    "tags": [],
    "related": [],
    "handoff": "never",
    "handoff_notice": "",
    "enabled": True,
    "hot": False,
    "valid_until": "",
}


def _update(item: CommentedMap, data: dict[str, Any]) -> None:
    for field in FIELDS:
        if field not in data:
            continue
        value = data[field]
        if field not in item and field in DEFAULTS and value == DEFAULTS[field] and field not in ("handoff", "enabled"):
            continue  # a new, empty optional field is not written
        if (
            field in item
            and value == DEFAULTS.get(field, object())
            and field in ("handoff_notice", "related", "hot", "valid_until")
        ):
            del item[field]
            continue
        if field in item and _same(item[field], value):
            continue
        item[field] = _value(field, value, item.get(field))


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, date) and isinstance(new, str):  # valid_until as ruamel read it
        return old.isoformat() == new.strip()
    if isinstance(old, list):
        return [str(v) for v in old] == [str(v) for v in new or []]
    if isinstance(old, str) and isinstance(new, str):
        return old.strip() == new.strip()
    return bool(old == new)


def write_files(kb_dir: Path, texts: dict[str, str]) -> None:
    """Replace files atomically one by one (a reader sees each file whole, old or new);
    a file mapped to an empty text is removed."""
    for name, text in texts.items():
        path = kb_dir / name
        if not text:
            path.unlink(missing_ok=True)
            continue
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)

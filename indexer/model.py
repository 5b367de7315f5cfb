"""The KB's data types: an FAQ entry, a problem found in a KB file, the loaded KB.

A leaf of the KB layer: ``indexer/validate.py`` builds these from YAML and
``indexer/kb.py`` loads the KB with it (model ← validate ← kb, no cycle).
Everything else imports them from ``indexer.kb``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from faqbot.errors import UserError
from indexer.sensitive import SensitiveList
from indexer.synonyms import Synonyms

HANDOFF_POLICIES = ("never", "offer", "always")
SEVERITY_LABELS = {"error": "错误", "warning": "警告"}


@dataclass(frozen=True)
class FaqEntry:
    id: str
    question: str
    answer: str
    category: str
    similar: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    handoff: str = "never"
    handoff_notice: str = ""
    enabled: bool = True
    # Shown as a suggested question in the welcome message (subscribe, chat opened).
    hot: bool = False
    # Ids of entries shown after this one's answer as 猜你想问 buttons (the first 3 enabled ones).
    related: tuple[str, ...] = ()
    # The last day it answers ("YYYY-MM-DD", local day: ``indexer/expiry.py``); "" answers with no end.
    valid_until: str = ""
    source: str = ""  # "file:line" of the entry, for editors

    @property
    def questions(self) -> tuple[str, ...]:
        return (self.question, *self.similar)

    def to_json(self) -> dict:
        data = asdict(self)
        data["similar"] = list(self.similar)
        data["tags"] = list(self.tags)
        data["related"] = list(self.related)
        if not self.valid_until:
            # Absent when unset: an index of a KB without expiry dates is what it was before the field
            # existed (its content hash, and its entries.json for servers that do not know the field).
            del data["valid_until"]
        return data

    @classmethod
    def from_json(cls, data: dict) -> FaqEntry:
        return cls(
            **{
                **data,
                "similar": tuple(data.get("similar", ())),
                "tags": tuple(data.get("tags", ())),
                "related": tuple(data.get("related", ())),
            }
        )


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    field: str
    message: str
    severity: str = "error"  # or "warning"; machine-facing, shown to editors as 错误 / 警告

    def __str__(self) -> str:
        """``file:line: [field] 错误：message``, the line editors read (``field`` as written in the YAML)."""
        where = f"{self.file}:{self.line}" if self.line else self.file
        what = f" [{self.field}]" if self.field else ""
        return f"{where}:{what} {SEVERITY_LABELS.get(self.severity, self.severity)}：{self.message}"


class KBInvalid(UserError, ValueError):
    """The KB has errors; ``problems`` lists all of them."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        super().__init__(f"知识库有 {len(errors)} 个错误：\n" + "\n".join(str(p) for p in errors))


@dataclass
class KnowledgeBase:
    entries: list[FaqEntry]
    terms: list[str] = field(default_factory=list)  # jieba user dictionary
    warnings: list[Problem] = field(default_factory=list)
    # decision.yml: answer_threshold / clarify_threshold for the versions built from this KB ({}: the config's).
    decision: dict[str, float] = field(default_factory=dict)
    synonyms: Synonyms = field(default_factory=Synonyms)  # synonyms.txt
    sensitive: SensitiveList = field(default_factory=SensitiveList)  # sensitive_words.txt

    @property
    def enabled(self) -> list[FaqEntry]:
        return [e for e in self.entries if e.enabled]

    def content_hash(self) -> str:
        # "related" only when set: the hash of a KB that uses none is what it was before the field existed
        # (so is "valid_until": ``to_json`` leaves it out when unset).
        entries = [
            {k: v for k, v in (e.to_json() | {"source": ""}).items() if k != "related" or v} for e in self.entries
        ]
        content: dict = {"entries": entries, "terms": self.terms}
        if self.decision:  # absent from the hash without decision.yml: existing indexes stay up to date
            content["decision"] = self.decision
        if self.synonyms:  # absent when there are none: the hash of a KB without synonyms.txt is unchanged
            content["synonyms"] = self.synonyms.to_json()
        if self.sensitive or self.sensitive.allow:  # absent without a list: existing indexes stay up to date
            content["sensitive"] = self.sensitive.to_json()
        payload = json.dumps(
            content,
            ensure_ascii=False,
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

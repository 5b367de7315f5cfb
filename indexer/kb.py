"""The knowledge base as the rest of the project sees it: ``load_kb`` and the
entry model (defined in ``indexer/model.py``, re-exported here).

Loading never returns a partial KB: ``load_kb`` raises ``KBInvalid`` with every
problem found (file, line, field) when any file is invalid.
"""

from __future__ import annotations

from pathlib import Path

from indexer.model import HANDOFF_POLICIES, FaqEntry, KBInvalid, KnowledgeBase, Problem
from indexer.validate import read_decision, read_sensitive, validate_kb

__all__ = ["HANDOFF_POLICIES", "FaqEntry", "KBInvalid", "KnowledgeBase", "Problem", "load_kb"]


def load_kb(kb_dir: Path) -> KnowledgeBase:
    """Load and validate every ``*.yml`` file under ``kb_dir`` (and ``terms.txt``, ``synonyms.txt``,
    ``sensitive_words.txt``, ``decision.yml``: the thresholds)."""
    entries, terms, synonyms, problems = validate_kb(kb_dir)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise KBInvalid(problems)
    return KnowledgeBase(
        entries=entries,
        terms=terms,
        warnings=[p for p in problems if p.severity == "warning"],
        decision=read_decision(kb_dir)[0],
        synonyms=synonyms,
        sensitive=read_sensitive(kb_dir)[0],
    )

"""Bring this server's KB folder to what was last published, before a publish edits it.

Every server has its own ``kb_content/`` (``settings.kb_dir``); the studio's publishes are
recorded in the shared database with the text of every KB file (``kb_versions``). A server
whose folder is behind (another server published since) would otherwise apply its changes
to old files and publish an index that undoes the other server's publish. So a publish first
writes the last published texts into the folder (each file replaced atomically, files the
version does not have removed) and logs what it wrote.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bot.studio.changes import ChangeStore
from bot.studio.yaml_edit import write_files

log = logging.getLogger(__name__)

SUFFIXES = (".yml", ".txt")  # the KB files a version holds (``publishing.snapshot``)


def kb_texts(kb_dir: Path) -> dict[str, str]:
    """The text of every KB file in the folder (YAML files, terms and other word lists)."""
    return {
        p.name: p.read_text(encoding="utf-8")
        for p in sorted(kb_dir.iterdir())
        if p.is_file() and p.suffix in SUFFIXES and not p.name.startswith(".")
    }


def bring_up_to_date(kb_dir: Path, store: ChangeStore) -> dict[str, str]:
    """Write the last published version's files into ``kb_dir`` where they differ; returns what
    was written (an empty text: a file removed). Nothing when nothing was published yet."""
    latest = store.latest_files()
    if latest is None:
        return {}
    current = kb_texts(kb_dir)
    texts = {name: text for name, text in latest.items() if current.get(name, "") != text}
    texts.update({name: "" for name in current if name not in latest})
    if texts:
        write_files(kb_dir, texts)
        written = sorted(n for n, t in texts.items() if t)
        removed = sorted(n for n, t in texts.items() if not t)
        log.warning(
            "studio: %s was behind the last published KB version; wrote %s, removed %s",
            kb_dir,
            ", ".join(written) or "nothing",
            ", ".join(removed) or "nothing",
        )
    return texts

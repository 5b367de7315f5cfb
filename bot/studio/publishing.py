"""From approved changes to the answers customers get: apply, validate, build, publish, record.

``publish`` writes the approved (and due) changes into the KB's YAML files,
validates the whole KB in a scratch copy first (nothing is written when any
file would be invalid: the editor gets every problem in Chinese), builds and
publishes a new index version atomically (``indexer/service.build_and_publish``,
which the bot and the console follow without restart), then records a KB
version with the text of every file. ``rollback`` makes an earlier version
live again the same way. A failed build puts the files back as they were.

With several servers on one database each has its own KB folder: every publish holds the
lease ``studio_publish`` (``publish_lease.py``: one publish at a time across servers) and
first brings this server's folder to the last published version (``kb_sync.py``), so a
server whose folder is behind does not undo another server's publish.

Blocking (files, the embedder, the database): the console calls it in a worker thread.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bot.studio.changes import SYNONYMS, WORDS, Change, ChangeError, ChangeStore, Version
from bot.studio.kb_sync import bring_up_to_date, kb_texts
from bot.studio.publish_lease import WAIT_SECONDS, PublishBusy, publishing
from bot.studio.yaml_edit import FIELDS, EditError, KbFiles, write_files
from faqbot.config import Settings
from indexer.embedders import Embedder
from indexer.kb import FaqEntry, KBInvalid, Problem, load_kb
from indexer.regression import Case, RegressionReport, gate
from indexer.search import Searcher
from indexer.service import PublishResult, build_and_publish, candidate_index
from indexer.validate import SENSITIVE_FILE, SYNONYMS_FILE, validate_dir


@dataclass
class PublishOutcome:
    version: Version | None
    published: list[int]
    index_version: str = ""
    problems: list[Problem] = field(default_factory=list)
    report: RegressionReport | None = None  # the regression set, when there is one

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version.to_json() if self.version else None,
            "published": self.published,
            "index_version": self.index_version,
            "problems": [problem_json(p) for p in self.problems],
            "regression": self.report.to_json() if self.report else None,
        }


class PublishRefused(ChangeError):
    """The changes would make the KB invalid; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        errors = [p for p in problems if p.severity == "error"]
        super().__init__(f"发布前检查发现 {len(errors)} 个错误，没有发布任何内容")
        self.problems = errors


def problem_json(p: Problem) -> dict[str, Any]:
    return {
        "file": p.file,
        "line": p.line,
        "field": p.field,
        "message": p.message,
        "severity": p.severity,
        "text": str(p),
    }


def entry_data(entry: FaqEntry) -> dict[str, Any]:
    """An entry as the studio edits it: its fields and its category."""
    data = entry.to_json()
    return {k: data[k] for k in (*FIELDS, "category") if k in data}


def snapshot(kb_dir: Path) -> dict[str, str]:
    """The text of every KB file (YAML files, terms and other word lists)."""
    return kb_texts(kb_dir)


def synonyms_data(text: str) -> dict[str, Any]:
    """The synonyms list as a change holds it: one item per line (so the diff is per line)."""
    return {"synonyms": text.rstrip("\n").split("\n") if text.strip() else []}


def synonyms_text(data: dict[str, Any] | None) -> str:
    lines = [str(line) for line in (data or {}).get("synonyms", [])]
    return "\n".join(lines) + "\n" if lines else ""


def words_data(text: str) -> dict[str, Any]:
    """The sensitive-word list as a change holds it: one item per line (so the diff is per line)."""
    return {"words": text.rstrip("\n").split("\n") if text.strip() else []}


def words_text(data: dict[str, Any] | None) -> str:
    lines = [str(line) for line in (data or {}).get("words", [])]
    return "\n".join(lines) + "\n" if lines else ""


def _apply(files: KbFiles, entry_id: str, kind: str, data: dict[str, Any] | None) -> None:
    if kind == SYNONYMS:
        files.set_text(SYNONYMS_FILE, synonyms_text(data))
        return
    if kind == WORDS:
        files.set_text(SENSITIVE_FILE, words_text(data))
        return
    if kind == "delete":
        files.delete(entry_id)
        return
    if kind == "create" and files.find(entry_id) is not None:
        raise EditError(f"已经有 id 为 {entry_id} 的条目了，请换一个 id")
    files.put({**(data or {}), "id": entry_id})


def _apply_change(files: KbFiles, change: Change) -> None:
    try:
        _apply(files, change.entry_id, change.kind, change.data)
    except EditError as exc:
        raise ChangeError(f"修改 #{change.id}（{change.entry_id}）：{exc}") from None


@contextlib.contextmanager
def scratch_kb(kb_dir: Path, texts: dict[str, str]) -> Iterator[Path]:
    """A copy of the KB folder with ``texts`` written (an empty text removes the file)."""
    with tempfile.TemporaryDirectory(prefix="faqbot-studio-") as tmp:
        scratch = Path(tmp)
        for name, text in snapshot(kb_dir).items():
            (scratch / name).write_text(text, encoding="utf-8")
        for name, text in texts.items():
            if text:
                (scratch / name).write_text(text, encoding="utf-8")
            else:
                (scratch / name).unlink(missing_ok=True)
        yield scratch


def _check(kb_dir: Path, texts: dict[str, str], today: date | None = None) -> list[Problem]:
    """Every problem of the KB as it would be with ``texts`` written (in a scratch copy);
    with ``today``, entries already expired then are warned about."""
    with scratch_kb(kb_dir, texts) as scratch:
        return validate_dir(scratch, today)[2]


class NeedsConfirmation(ChangeError):
    """The regression set loses answers with these changes; publish again with ``confirm``."""

    def __init__(self, report: RegressionReport) -> None:
        super().__init__(f"回归测试集里有 {len(report.lost)} 个问题发布后不再答对，请确认后再发布")
        self.report = report


def _gate(
    settings: Settings, texts: dict[str, str], cases: Sequence[Case], published: Searcher | None, confirm: bool
) -> RegressionReport | None:
    """The regression set against the KB as it would be (built, not published) and the version
    served now; ``NeedsConfirmation`` when answers are lost and the editor has not confirmed."""
    if not cases:
        return None
    with scratch_kb(settings.kb_dir, texts) as scratch:
        embedder = published.embedder if published is not None else None
        with candidate_index(settings.replace(kb_dir=scratch), embedder) as candidate:
            report = gate(settings, candidate, published, cases)
    if report.needs_confirmation and not confirm:
        raise NeedsConfirmation(report)
    return report


def _key(p: Problem) -> tuple[str, str, str, str]:
    return (p.file, p.field, p.message, p.severity)  # not the line: a change moves the lines below it


def check_change(
    kb_dir: Path, entry_id: str, kind: str, data: dict[str, Any] | None, today: date | None = None
) -> list[Problem]:
    """The problems one draft would cause (validation as the editor types): those in the
    entry's own lines, and errors anywhere else it causes (a duplicate id, a broken link).
    ``today``: the day an expiry date is compared with (a date already past is warned about)."""
    files = KbFiles.read(kb_dir)
    baseline = {_key(p) for p in _check(kb_dir, {}, today)}
    try:
        _apply(files, entry_id, kind, data)
    except EditError as exc:
        raise ChangeError(str(exc)) from None
    problems = _check(kb_dir, files.changed(), today)
    return [p for p in problems if _key(p) not in baseline]


def publish(
    settings: Settings,
    store: ChangeStore,
    by: str,
    change_ids: list[int] | None = None,
    cases: Sequence[Case] = (),
    published: Searcher | None = None,
    confirm: bool = False,
    wait: float = WAIT_SECONDS,
) -> PublishOutcome:
    """Publish the approved changes that are due (or just ``change_ids``, each of which must be approved).

    With a regression set (``cases``) the KB as it would be is built first and the set is
    run against it and against ``published`` (the version served now): answers lost raise
    ``NeedsConfirmation`` unless ``confirm``; the outcome carries the report. Another server's
    publish is waited for up to ``wait`` seconds (``PublishBusy`` after that)."""
    with publishing(store, wait):
        return _publish(settings, store, by, change_ids, cases, published, confirm)


def publish_scheduled(
    settings: Settings, store: ChangeStore, by: str, embedder: Embedder | None = None
) -> PublishOutcome | None:
    """Scheduled publishing, run by every server's scheduler: the one that takes the lease
    publishes the approved changes whose publish time has come, the others (the lease held)
    do nothing this round; ``None`` when nothing was published. Each change is published once:
    the due ones are read after the lease is taken, so one another server has just published
    is no longer among them."""
    try:
        with publishing(store, wait=0.0):
            due = [c.id for c in store.due() if c.publish_at is not None]
            if not due:
                return None
            return _publish(settings, store, by, due, embedder=embedder)
    except PublishBusy:
        return None


def _publish(
    settings: Settings,
    store: ChangeStore,
    by: str,
    change_ids: list[int] | None = None,
    cases: Sequence[Case] = (),
    published: Searcher | None = None,
    confirm: bool = False,
    embedder: Embedder | None = None,
) -> PublishOutcome:
    """``publish`` with the lease held (``embedder``: when there is no ``published`` to take it from)."""
    due = store.due()
    if change_ids is not None:
        wanted = set(change_ids)
        missing = wanted - {c.id for c in due}
        if missing:
            raise ChangeError(f"修改 {'、'.join(f'#{i}' for i in sorted(missing))} 还没有批准或还没到发布时间")
        due = [c for c in due if c.id in wanted]
    if not due:
        raise ChangeError("没有可以发布的修改：修改要先提交审核并获批准")
    kb_dir = settings.kb_dir
    _catch_up(settings, store, by)
    files = KbFiles.read(kb_dir)
    for change in due:
        _apply_change(files, change)
    changed = files.changed()
    problems = _check(kb_dir, changed)
    if any(p.severity == "error" for p in problems):
        raise PublishRefused(problems)
    report = _gate(settings, changed, cases, published, confirm)
    result = _write_and_build(settings, changed, published.embedder if published is not None else embedder)
    note = f"发布 {len(due)} 项修改：" + "、".join(f"#{c.id} {c.entry_id}" for c in due)
    if report is not None and report.lost:
        note += f"（已确认：回归测试集少答对 {len(report.lost)} 个）"
    version = store.record_version(result.version, by, note, snapshot(kb_dir), tuple(c.id for c in due))
    return PublishOutcome(version, [c.id for c in due], result.version, report=report)


def publish_texts(
    settings: Settings,
    store: ChangeStore,
    by: str,
    note: str,
    texts: dict[str, str],
    embedder: Embedder | None = None,
    wait: float = WAIT_SECONDS,
) -> PublishOutcome:
    """Publish KB files written outside a change (the thresholds a recalibration chose), checked
    and built like a publish and recorded as a version, so it shows in 发布历史 and rolls back."""
    with publishing(store, wait):
        _catch_up(settings, store, by)
        problems = _check(settings.kb_dir, texts)
        if any(p.severity == "error" for p in problems):
            raise PublishRefused(problems)
        result = _write_and_build(settings, texts, embedder)
        version = store.record_version(result.version, by, note, snapshot(settings.kb_dir))
        return PublishOutcome(version, [], result.version)


@dataclass
class Draft:
    """The KB files as they would be with every open change (drafts, in review, approved)."""

    texts: dict[str, str]  # the files that would change
    changes: list[int]  # the changes applied
    skipped: list[str]  # why a change could not be applied (in Chinese)


def draft_texts(kb_dir: Path, changes: Sequence[Change]) -> Draft:
    """Apply ``changes`` in order to the files as they are, skipping (and saying why) any
    that no longer applies; nothing is written."""
    files = KbFiles.read(kb_dir)
    applied: list[int] = []
    skipped: list[str] = []
    for change in sorted(changes, key=lambda c: c.id):
        try:
            _apply_change(files, change)
        except ChangeError as exc:
            skipped.append(str(exc))
        else:
            applied.append(change.id)
    return Draft(files.changed(), applied, skipped)


def check_texts(kb_dir: Path, texts: dict[str, str]) -> list[Problem]:
    """Every problem of the KB with ``texts`` written (checked in a scratch copy)."""
    return _check(kb_dir, texts)


def rollback(
    settings: Settings, store: ChangeStore, version_id: int, by: str, wait: float = WAIT_SECONDS
) -> PublishOutcome:
    """Make KB version ``version_id`` live again (recorded as a new version: rolling back can itself be undone)."""
    with publishing(store, wait):
        wanted = store.version_files(version_id)
        kb_dir = settings.kb_dir
        if settings.index.shared:  # so a failed build puts back the last published files
            bring_up_to_date(kb_dir, store)
        current = snapshot(kb_dir)
        texts = {name: text for name, text in wanted.items() if current.get(name) != text}
        texts.update({name: "" for name in current if name not in wanted})
        problems = _check(kb_dir, texts)
        if any(p.severity == "error" for p in problems):
            raise PublishRefused(problems)
        result = _write_and_build(settings, texts)
        version = store.record_version(result.version, by, f"回滚到版本 #{version_id}", snapshot(kb_dir))
        return PublishOutcome(version, [], result.version)


def _catch_up(settings: Settings, store: ChangeStore, by: str) -> None:
    """The folder brought to the last published version (another server may have published
    since); before the studio's first publish, the folder as it is recorded as the baseline."""
    if store.latest_files() is None:  # the state before the studio's first publish, so it can be restored
        store.record_version(_serving_version(settings), by, "工作室首次发布前的知识库", snapshot(settings.kb_dir))
    elif settings.index.shared:  # several servers: this folder may be behind another's publish
        bring_up_to_date(settings.kb_dir, store)


def record_folder_publish(settings: Settings, version: str, by: str) -> bool:
    """``faqbot index build`` with several servers: the folder it published becomes the
    last published KB version, so the next studio publish (on any server) starts from it
    instead of putting back the files it replaced. ``False`` when nothing changed."""
    store = ChangeStore(settings.database_url)
    files = snapshot(settings.kb_dir)
    if store.latest_files() == files:
        return False
    store.record_version(version, by, "命令行发布（faqbot index build）", files)
    return True


def _write_and_build(settings: Settings, texts: dict[str, str], embedder: Embedder | None = None) -> PublishResult:
    kb_dir = settings.kb_dir
    backup = {name: (kb_dir / name).read_text(encoding="utf-8") if (kb_dir / name).exists() else "" for name in texts}
    write_files(kb_dir, texts)
    try:
        return build_and_publish(settings, embedder=embedder)
    except BaseException:
        write_files(kb_dir, backup)
        raise


def _serving_version(settings: Settings) -> str:
    from indexer.service import store_for

    current = store_for(settings).current()
    return current.name if current is not None else ""


def published_entries(settings: Settings) -> list[FaqEntry]:
    """The entries in the KB files now (what the last publish made live, or a git change since)."""
    return load_kb(settings.kb_dir).entries


def copy_kb(src: Path, dst: Path) -> None:
    """A KB folder copied (for tests and for building a candidate without touching the live one)."""
    shutil.copytree(src, dst, dirs_exist_ok=True)


__all__ = [
    "Draft",
    "KBInvalid",
    "PublishBusy",
    "PublishOutcome",
    "PublishRefused",
    "check_change",
    "check_texts",
    "draft_texts",
    "entry_data",
    "publish",
    "publish_scheduled",
    "publish_texts",
    "published_entries",
    "rollback",
    "scratch_kb",
    "snapshot",
    "synonyms_data",
    "synonyms_text",
    "words_data",
    "words_text",
]

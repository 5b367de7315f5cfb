"""Index versions on disk, atomic publish, rollback.

Layout under ``<data_dir>/index``::

    versions/<version>/   immutable, fully written before it is published
    current -> versions/<version>   symlink, switched with one rename
    history.json          published versions, oldest first

A reader resolves ``current`` once and reads that directory, so it never sees
a half-written index; old versions stay on disk (``keep_versions``) so that
readers in flight and ``rollback`` still find them. ``serving_order`` is the
current version, then the earlier published ones still on disk, newest first:
where readers fall back to when a version fails its integrity check.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from faqbot.errors import UserError

log = logging.getLogger(__name__)

T = TypeVar("T")


class StoreError(UserError, RuntimeError):
    """Publishing or rolling back is not possible (with the reason)."""


class IndexStore:
    def __init__(self, root: Path, keep_versions: int = 5) -> None:
        self.root = root
        self.versions = root / "versions"
        self.current_link = root / "current"
        self.history_file = root / "history.json"
        self.keep_versions = max(keep_versions, 2)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def history(self) -> list[str]:
        """Published versions, oldest first.

        A damaged ``history.json`` must not stop publishing or make pruning delete
        the versions readers fall back to: it is then rebuilt from the version
        folders (their names start with the UTC build time, so they sort in order).
        """
        if not self.history_file.exists():
            return []
        try:
            history = json.loads(self.history_file.read_text(encoding="utf-8"))
            if isinstance(history, list) and all(isinstance(v, str) for v in history):
                return list(history)
        except (OSError, UnicodeDecodeError, ValueError):
            pass
        on_disk = (
            sorted(p.name for p in self.versions.iterdir() if p.is_dir() and not p.name.startswith("."))
            if self.versions.is_dir()
            else []
        )
        log.warning(
            "%s is damaged; using the version folders on disk instead: %s",
            self.history_file,
            ", ".join(on_disk) or "none",
        )
        return on_disk

    def _write_history(self, history: list[str]) -> None:
        tmp = self.history_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(history, indent=1), encoding="utf-8")
        os.replace(tmp, self.history_file)

    def current(self) -> Path | None:
        """The published version directory, or None when nothing is published. A version
        pruned between reading the link and checking its folder (publishes back to back)
        means the link has moved on: read it again."""
        for _ in range(3):
            try:
                target = os.readlink(self.current_link)
            except (FileNotFoundError, OSError):
                return None
            path = (self.root / target).resolve()
            if path.is_dir():
                return path
        return None

    def current_version(self) -> str | None:
        path = self.current()
        return path.name if path else None

    def current_target(self) -> str | None:
        """The version ``current`` names, even when its folder is gone (a dangling link)."""
        try:
            return Path(os.readlink(self.current_link)).name
        except OSError:
            return None

    def serving_order(self) -> list[str]:
        """``current``, then the versions published before it that are still on disk, newest first."""
        current = self.current_target()
        history = self.history()
        earlier = history[: history.index(current)] if current in history else history
        order = [current] if current else []
        order += [v for v in reversed(earlier) if v != current and (self.versions / v).is_dir()]
        return order

    def version_dir(self, version: str) -> Path:
        return self.versions / version

    def _switch(self, version: str) -> None:
        tmp_link = self.root / f".current-{os.getpid()}-{time.monotonic_ns()}"
        os.symlink(os.path.join("versions", version), tmp_link)
        os.replace(tmp_link, self.current_link)  # atomic on POSIX
        _fsync_dir(self.root)

    def publish(self, build: Callable[[Path], T], label: str = "") -> tuple[str, T]:
        """Build into a fresh directory with ``build(dir)`` and make it current; returns the
        version and what ``build`` returned (the manifest)."""
        with self._locked():
            self.versions.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            version = f"{stamp}-{label[:8]}" if label else stamp
            manifest = self._stage(version, build)
            self._switch(version)
            self._write_history([v for v in self.history() if v != version] + [version])
            self._prune()
            return version, manifest

    def _stage(self, version: str, write: Callable[[Path], T]) -> T:
        """``write(dir)`` into a staging directory, synced, then renamed to ``version`` (under the lock)."""
        staging = self.versions / f".staging-{version}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            written = write(staging)
            for path in staging.iterdir():
                _fsync_file(path)
            os.rename(staging, self.versions / version)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _fsync_dir(self.versions)
        return written

    def install(self, version: str, write: Callable[[Path], None]) -> None:
        """Add ``version`` as another server published it (``write(dir)`` puts its files there)
        and make it current (``indexer/shared_index.py``)."""
        with self._locked():
            self.versions.mkdir(parents=True, exist_ok=True)
            if not (self.versions / version).is_dir():
                self._stage(version, write)
            self._switch(version)
            self._write_history([v for v in self.history() if v != version] + [version])
            self._prune()

    def make_current(self, version: str) -> None:
        """Serve ``version``, which this store holds (another server rolled back to it)."""
        with self._locked():
            if not (self.versions / version).is_dir():
                raise StoreError(f"index version {version} is not in {self.versions}")
            self._switch(version)
            self._write_history([v for v in self.history() if v != version] + [version])

    def rollback(self) -> str:
        """Make the previously published version current again; returns it."""
        with self._locked():
            history = self.history()
            current = self.current_version()
            if current in history:
                history = history[: history.index(current) + 1]
            while len(history) >= 2 and not (self.versions / history[-2]).is_dir():
                del history[-2]
            if len(history) < 2:
                raise StoreError("no earlier index version to roll back to")
            previous = history[-2]
            self._switch(previous)
            self._write_history(history[:-1])
            return previous

    def _prune(self) -> None:
        keep = set(self.history()[-self.keep_versions :])
        current = self.current_version()
        for path in self.versions.iterdir():
            if path.name.startswith(".staging-"):
                continue
            if path.name not in keep and path.name != current:
                shutil.rmtree(path, ignore_errors=True)


def _fsync_file(path: Path) -> None:
    if path.is_file():
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

"""The typed manifest of one index version: the integrity check every reader runs,
and the one compatibility check (``Manifest.check_compatible``) that loading,
``index status`` and the "up to date" skip of ``faqbot index build`` all use.

``manifest.json`` is written last by the build. Besides what the index was built
from (embedder, normaliser, KB content hash, counts) it records the size and
sha256 of every other file in the version (``files``) and a sha256 of its own
fields (``checksum``), so a damaged or hand-edited version is caught before it
is reported, loaded or skipped as up to date, not at the first question.

Versions written before checksums existed (format 1) cannot be verified; they
are treated as needing a rebuild (``IndexOutdated``, an ``IndexMismatch``:
never served, and ``faqbot index build`` rebuilds them).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from faqbot import normalize as normaliser
from faqbot.config import Settings
from faqbot.errors import UserError
from indexer.confidence import FIT_VERSION, ConfidenceModel
from indexer.evidence import BACKGROUND_NPY

if TYPE_CHECKING:  # the protocol only; loading an embedder is not this module's business
    from indexer.embedders import Embedder

FORMAT_VERSION = 2  # 2: files[] and checksum; 1 had neither
MANIFEST = "manifest.json"
# What a searcher reads; a manifest that does not vouch for all of them is corrupt.
INDEX_FILES = ("entries.json", "docs.json", "vectors.npy", "dense.faiss", "bm25.npz", "bm25_vocab.json", "userdict.txt")
_CHUNK = 1 << 20


class IndexMissing(UserError, FileNotFoundError):
    """No index has been published yet."""


class IndexMismatch(UserError, RuntimeError):
    """The index on disk was built for another embedder, normaliser or index format."""


class IndexOutdated(IndexMismatch):
    """Built before checksums were recorded (format 1): it cannot be verified, so it is rebuilt."""


class IndexCorrupt(UserError, RuntimeError):
    """A version's files are not the ones its build wrote (the message says which)."""


@dataclass(frozen=True)
class EmbedderInfo:
    backend: str
    model: str
    dim: int
    document_role: str


@dataclass(frozen=True)
class Counts:
    entries: int
    enabled: int
    disabled: int
    vectors: int
    bm25_terms: int
    newly_embedded: int


@dataclass(frozen=True)
class BM25Info:
    k1: float
    b: float
    term_weights: dict[str, float]


@dataclass(frozen=True)
class FileDigest:
    bytes: int
    sha256: str


@dataclass(frozen=True, eq=False)
class Manifest(Mapping[str, Any]):
    """One version's ``manifest.json``, typed; ``check_compatible`` is the one rule for
    whether this code may serve it (used to load it, to report it and to skip a rebuild).

    It also reads as the stored JSON (``m["counts"]["enabled"]``, ``m == json.load(f)``),
    for display and for tools that look at the file itself.
    """

    format_version: int
    embedder: EmbedderInfo
    normaliser_version: str
    content_hash: str
    counts: Counts
    dense_index: str
    bm25: BM25Info
    built_at: str
    build_seconds: float
    files: dict[str, FileDigest]
    checksum: str  # sha256 of the other fields (canonical JSON): catches edits to the manifest itself
    # The KB's decision.yml when it was built (answer_threshold, clarify_threshold): every
    # server serving this version decides with them, and a rollback brings the old ones back.
    # Absent from the stored JSON when the KB had none (the config's thresholds apply).
    decision: dict[str, float] | None = None
    # The confidence model fitted on this version's KB at build (``indexer/confidence.py``), with
    # its thresholds; absent when the KB had too few questions of its own to fit it on.
    confidence: ConfidenceModel | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        """The typed form of a stored manifest; ``KeyError``/``TypeError`` when a field is malformed."""
        return cls(
            format_version=data["format_version"],
            embedder=EmbedderInfo(**data["embedder"]),
            normaliser_version=data["normaliser_version"],
            content_hash=data["content_hash"],
            counts=Counts(**data["counts"]),
            dense_index=data["dense_index"],
            bm25=BM25Info(**data["bm25"]),
            built_at=data["built_at"],
            build_seconds=data["build_seconds"],
            files={name: FileDigest(**digest) for name, digest in data["files"].items()},
            checksum=data["checksum"],
            decision=_decision(data.get("decision")),
            confidence=ConfidenceModel.from_json(data["confidence"]) if data.get("confidence") else None,
        )

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        if data["decision"] is None:
            del data["decision"]
        if self.confidence is None:
            del data["confidence"]
        else:
            data["confidence"] = self.confidence.to_json()
        return data

    def __getitem__(self, key: str) -> Any:
        return self.to_json()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_json())

    def __len__(self) -> int:
        return len(self.to_json())

    def check_compatible(self, settings: Settings, embedder: Embedder | None = None) -> None:
        """Raise ``IndexMismatch`` when this code cannot search the index with the configured
        embedder (and ``embedder``, when one is loaded) and normaliser.

        The one compatibility rule: the searcher refuses exactly what ``faqbot index build``
        rebuilds instead of calling it up to date.
        """
        rebuild = "rebuild it with `faqbot index build --full`"
        if self.format_version != FORMAT_VERSION:
            raise IndexMismatch(f"index format {self.format_version} is not {FORMAT_VERSION}; {rebuild}")
        built, want = self.embedder, settings.embedder
        if built.backend != want.backend or (want.model and built.model != want.model):
            raise IndexMismatch(
                f"the index was built with embedder {built.backend}/{built.model} "
                f"({built.dim} dims) but the config asks for {want.backend}/{want.model}; {rebuild}"
            )
        if embedder is not None and (embedder.backend, embedder.model) != (built.backend, built.model):
            raise IndexMismatch(
                f"the index was built with embedder {built.backend}/{built.model} but the "
                f"embedder loaded is {embedder.backend}/{embedder.model}; {rebuild}"
            )
        if embedder is not None and embedder.dim != built.dim:
            raise IndexMismatch(
                f"the index has {built.dim}-dim vectors but the embedder gives {embedder.dim}; {rebuild}"
            )
        if self.normaliser_version != normaliser.NORMALISER_VERSION:
            raise IndexMismatch(
                f"the index was built with normaliser version {self.normaliser_version}"
                f", this code has {normaliser.NORMALISER_VERSION}; {rebuild}"
            )

    def is_up_to_date(self, content_hash: str, settings: Settings, embedder: Embedder | None = None) -> bool:
        """Built from this KB content and servable as is (``IndexMismatch`` when it is not servable).

        A version built before the fitted confidence (no ``background.npy``) is servable, with the
        configured decision, but not up to date while ``fit_confidence`` is on: it is rebuilt once;
        so is one whose model was fitted by an older ``FIT_VERSION``."""
        self.check_compatible(settings, embedder)
        fitted = not settings.decision.fit_confidence or (
            BACKGROUND_NPY in self.files
            and (self.confidence is None or self.confidence.fitted.get("version") == FIT_VERSION)
        )
        return self.content_hash == content_hash and fitted


def _decision(value: Any) -> dict[str, float] | None:
    """The stored thresholds; ``TypeError`` when the field is not a mapping of names to numbers."""
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool) for k, v in value.items()
    ):
        raise TypeError(f"'decision' must map threshold names to numbers, not {value!r}")
    return {k: float(v) for k, v in value.items()}


_TOP_LEVEL_TYPES: dict[str, type | tuple[type, ...]] = {
    "format_version": int,
    "embedder": dict,
    "normaliser_version": str,
    "content_hash": str,
    "counts": dict,
    "dense_index": str,
    "bm25": dict,
    "built_at": str,
    "build_seconds": (int, float),
    "files": dict,
    "checksum": str,
}


def file_digest(path: Path) -> FileDigest:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return FileDigest(size, digest.hexdigest())


def manifest_checksum(manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    ).hexdigest()


def write_manifest(directory: Path, fields: dict[str, Any]) -> Manifest:
    """Record every file already in ``directory`` and write the manifest (last, after the data)."""
    files = {
        p.name: dataclasses.asdict(file_digest(p))
        for p in sorted(directory.iterdir())
        if p.is_file() and p.name != MANIFEST
    }
    manifest: dict[str, Any] = {"format_version": FORMAT_VERSION, **fields, "files": files}
    manifest["checksum"] = manifest_checksum(manifest)
    (directory / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return Manifest.from_json(manifest)


def read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest as stored, unverified (for display); readers use ``verify_version``."""
    path = directory / MANIFEST
    if not path.exists():
        raise IndexMissing(f"no index manifest in {directory}")
    return json.loads(path.read_text(encoding="utf-8"))


def verify_version(directory: Path) -> Manifest:
    """The version's manifest, once every file matches it.

    Raises ``IndexCorrupt`` (damaged or missing files, a damaged or edited
    manifest) or ``IndexMismatch`` (an older format that cannot be verified).
    """
    path = directory / MANIFEST
    if not directory.is_dir():
        raise IndexCorrupt(f"the version folder {directory} is missing")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexCorrupt(f"{MANIFEST} is missing") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise IndexCorrupt(f"{MANIFEST} is unreadable ({type(exc).__name__}: {exc})") from None
    if not isinstance(manifest, dict):
        raise IndexCorrupt(f"{MANIFEST} is not a JSON object")
    if "checksum" not in manifest:
        if manifest.get("format_version") == FORMAT_VERSION:
            raise IndexCorrupt(f"{MANIFEST} has lost its checksum")
        raise IndexOutdated(
            f"built before checksums were recorded (index format {manifest.get('format_version')}), "
            "so it cannot be verified; rebuild it with `faqbot index build`"
        )
    if manifest["checksum"] != manifest_checksum(manifest):
        raise IndexCorrupt(f"{MANIFEST} does not match its checksum (edited or damaged)")
    for key, kind in _TOP_LEVEL_TYPES.items():
        if not isinstance(manifest.get(key), kind):
            raise IndexCorrupt(f"{MANIFEST} has no valid {key!r}")
    if manifest["format_version"] != FORMAT_VERSION:
        raise IndexMismatch(
            f"index format {manifest['format_version']} is not {FORMAT_VERSION}; rebuild it with `faqbot index build`"
        )
    files: dict[str, Any] = manifest["files"]
    unlisted = [name for name in INDEX_FILES if name not in files]
    if unlisted:
        raise IndexCorrupt(f"{MANIFEST} does not list {', '.join(unlisted)}")
    bad = []
    for name, want in sorted(files.items()):
        try:
            found = file_digest(directory / name)
        except FileNotFoundError:
            bad.append(f"{name} (missing)")
            continue
        except OSError as exc:
            bad.append(f"{name} (unreadable: {exc.strerror})")
            continue
        if not isinstance(want, dict) or dataclasses.asdict(found) != {
            "bytes": want.get("bytes"),
            "sha256": want.get("sha256"),
        }:
            size = want.get("bytes") if isinstance(want, dict) else "?"
            bad.append(
                f"{name} ({found.bytes} bytes, built as {size})" if found.bytes != size else f"{name} (content changed)"
            )
    if bad:
        raise IndexCorrupt(f"checksum mismatch: {', '.join(bad)}")
    try:
        return Manifest.from_json(manifest)
    except (KeyError, TypeError, ValueError) as exc:  # the right checksum over the wrong shape: written by hand
        raise IndexCorrupt(f"{MANIFEST} has a malformed field ({type(exc).__name__}: {exc})") from None

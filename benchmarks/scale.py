"""Index build time and query latency at 1k and 10k FAQ entries.

    .venv/bin/python benchmarks/scale.py [--sizes 1000 10000]

The KBs are synthetic (templated Chinese questions, 3 questions per entry);
only timing is measured here. Latency excludes process start: the searcher is
loaded once, then each query is timed alone (embedding, BM25, FAISS, fusion).
"""

from __future__ import annotations

import argparse
import random
import resource
import time

from _common import percentile_ms, save

from faqbot.config import load_settings
from indexer.kb import FaqEntry

TOPICS = [
    "提现",
    "充值",
    "账户",
    "密码",
    "订单",
    "退款",
    "退货",
    "发票",
    "物流",
    "会员",
    "积分",
    "优惠券",
    "POS机",
    "费率",
    "结算",
    "认证",
    "营业执照",
    "手续费",
    "冻结",
    "客服",
    "投诉",
    "保修",
    "换货",
]
ASKS = [
    "怎么{t}{o}",
    "{o}的{t}为什么失败",
    "{t}{o}要多久",
    "{o}{t}收费吗",
    "{t}{o}需要什么材料",
    "能不能取消{o}{t}",
    "{o}{t}在哪里查看",
    "{t}{o}有限额吗",
    "为什么我的{o}{t}还没到",
    "{o}怎么修改{t}",
]
OBJECTS = [
    "银行卡",
    "手机号",
    "邮箱",
    "app",
    "网页版",
    "子账户",
    "企业账户",
    "个人账户",
    "新设备",
    "海外账户",
    "旗舰店",
    "自营商品",
    "第三方商家",
    "定制商品",
    "二手商品",
    "小程序",
    "公众号",
    "门店",
    "商户",
    "代理商",
]


def synthetic_kb(n: int, seed: int = 7) -> list[FaqEntry]:
    rng = random.Random(seed)
    entries = []
    for i in range(n):
        t = rng.choice(TOPICS)
        o = f"{rng.choice(OBJECTS)}{i}号"
        qs = rng.sample(ASKS, 3)
        entries.append(
            FaqEntry(
                id=f"syn-{i}",
                question=qs[0].format(t=t, o=o),
                answer=f"答案 {i}",
                category="合成",
                similar=tuple(q.format(t=t, o=o) for q in qs[1:]),
            )
        )
    return entries


def run(size: int, settings, embedder) -> dict:
    import tempfile
    from pathlib import Path

    from indexer.build import build_index
    from indexer.embed_cache import EmbeddingCache
    from indexer.search import Searcher

    entries = synthetic_kb(size)
    cache = EmbeddingCache(settings.cache_dir / "bench-embeddings.sqlite")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        cold = build_index(entries, [], "bench", settings, embedder, cache, Path(tmp) / "a", full=True)
        cold_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        build_index(entries, [], "bench", settings, embedder, cache, Path(tmp) / "b")
        warm_s = time.perf_counter() - t0
        searcher = Searcher(Path(tmp) / "b", settings, embedder)
        rng = random.Random(1)
        queries = [f"{rng.choice(OBJECTS)}{rng.randrange(size)}号的{rng.choice(TOPICS)}怎么弄{k}" for k in range(300)]
        searcher.search("预热")
        unique = []
        for q in queries:
            t = time.perf_counter()
            searcher.decide(searcher.search(q).candidates)
            unique.append(time.perf_counter() - t)
        repeated = []
        for q in queries:  # the same questions again: query vectors come from the LRU cache
            t = time.perf_counter()
            searcher.decide(searcher.search(q).candidates)
            repeated.append(time.perf_counter() - t)
        embed_only = []
        for q in queries[:100]:
            t = time.perf_counter()
            embedder.embed([q + "x"], "query")
            embed_only.append(time.perf_counter() - t)
    cache.close()
    return {
        "entries": size,
        "vectors": cold["counts"]["vectors"],
        "dense_index": cold["dense_index"],
        "build_cold_s": round(cold_s, 1),
        "build_cached_embeddings_s": round(warm_s, 2),
        # fitting the confidence model (indexer/confidence.py), part of both builds
        "confidence_fit_s": cold.confidence.fitted.get("seconds") if cold.confidence else None,
        "query_p50_ms": percentile_ms(unique, 50),
        "query_p99_ms": percentile_ms(unique, 99),
        "repeat_query_p50_ms": percentile_ms(repeated, 50),
        "repeat_query_p99_ms": percentile_ms(repeated, 99),
        "embed_one_query_p50_ms": percentile_ms(embed_only, 50),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    from indexer.embedders import make_embedder

    settings = load_settings()
    embedder = make_embedder(settings.embedder)
    rows = []
    for size in args.sizes:
        row = run(size, settings, embedder)
        print(row, flush=True)
        rows.append(row)
    save("scale", {"results": rows})


if __name__ == "__main__":
    main()

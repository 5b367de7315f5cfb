"""How well and how fast `faqbot kb gaps` groups questions (issue #15, item 5).

Quality on real customer questions: the BQ dev benchmark's in-scope queries
(`../shared/eval/queries_dev.jsonl`), whose `gold` ids are their clusters of one meaning,
grouped against the BQ KB's questions as the background. Purity (the share of questions
in a group whose majority meaning is theirs) and completeness (the share of questions in
the biggest group of their meaning); the groups count next to the meanings count.

Speed: 10,000 distinct collected questions (the BQ KB's questions and similar questions,
the queries, and numbered variants of them to reach 10k), embedded and grouped, wall
time and peak memory, as `faqbot kb gaps` does it.

    .venv/bin/python benchmarks/gaps.py [--n 10000]
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections import Counter, defaultdict

from _common import EVAL, machine, save

from faqbot.config import load_settings
from indexer.embedders import make_embedder
from indexer.gaps import Asked, background_of, find_gaps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="questions for the speed run")
    args = parser.parse_args()
    kb = [json.loads(line) for line in (EVAL / "kb_dev.jsonl").read_text(encoding="utf-8").splitlines()]
    queries = [json.loads(line) for line in (EVAL / "queries_dev.jsonl").read_text(encoding="utf-8").splitlines()]
    embedder = make_embedder(load_settings(env={}).embedder)
    kb_questions = [e["question"] for e in kb] + [s for e in kb for s in e["similar"]]
    background = background_of(embedder, kb_questions)

    in_scope = [q for q in queries if q["gold"]]
    meaning = {q["query"]: q["gold"] for q in in_scope}
    asked = [Asked(q["query"], f"c{i}") for i, q in enumerate(in_scope)]
    started = time.perf_counter()
    gaps = find_gaps(asked, embedder, background=background)
    quality_seconds = time.perf_counter() - started
    members = [[meaning[q] for q in g.questions if q in meaning] for g in gaps]
    pure = sum(Counter(m).most_common(1)[0][1] for m in members if m)
    by_meaning: dict[str, Counter[int]] = defaultdict(Counter)
    for number, group in enumerate(members):
        for gold in group:
            by_meaning[gold][number] += 1
    complete = sum(c.most_common(1)[0][1] for c in by_meaning.values())
    total = sum(len(m) for m in members)

    texts = list(dict.fromkeys(kb_questions + [q["query"] for q in queries]))
    suffixes = ["", "呢", "啊", "？", "请问", "你好"]
    pool: list[str] = []
    for suffix in suffixes:
        pool += [f"{suffix}{t}" if suffix in ("请问", "你好") else f"{t}{suffix}" for t in texts]
    pool = list(dict.fromkeys(pool))[: args.n]
    started = time.perf_counter()
    big = find_gaps([Asked(t, f"u{i % 3000}") for i, t in enumerate(pool)], embedder, background=background)
    speed_seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "machine": machine(),
        "quality": {
            "questions": total,
            "meanings": len(by_meaning),
            "groups": len(gaps),
            "purity": round(pure / total, 4),
            "completeness": round(complete / total, 4),
            "seconds": round(quality_seconds, 2),
        },
        "speed": {
            "questions": len(pool),
            "groups": len(big),
            "seconds": round(speed_seconds, 2),
            "peak_rss_mb": round(peak_mb, 1),
        },
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))
    save("gaps", result)


if __name__ == "__main__":
    main()

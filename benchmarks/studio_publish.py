"""Studio publish time: one entry edited in the studio → live on every server (issue #15, item 9).

    .venv/bin/python benchmarks/studio_publish.py [--rounds 5] [--cases 100]

The sample KB in a temporary folder, the studio's change store on SQLite there, and a
regression set of ``--cases`` questions (similar questions of the sample KB with their
entries). Each round: an editor's draft of one answer (and one similar question) is
submitted, approved by another editor and published through ``bot/studio/publishing.py``
exactly as the console does — whole-KB validation in a scratch copy, the regression gate
(the candidate built without publishing and the set run on it and on the served version),
the YAML written in place, the index built and published. Timed: the publish call, and
until a second server's ``LiveSearcher`` (its own process state, as the action server or
another node has) answers with the new text.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from _common import ROOT, percentile_ms, save

from bot.studio.changes import ChangeStore
from bot.studio.publishing import entry_data, publish
from faqbot.config import load_settings
from indexer.embedders import make_embedder
from indexer.kb import load_kb
from indexer.live import LiveSearcher
from indexer.regression import Case
from indexer.service import build_and_publish, open_current

ENTRY = "ex-withdraw-fee"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cases", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="faqbot-bench-") as tmp:
        root = Path(tmp)
        shutil.copytree(ROOT / "kb_content", root / "kb")
        settings = load_settings(env={}).replace(kb_dir=root / "kb", data_dir=root / "var")
        embedder = make_embedder(settings.embedder)
        build_and_publish(settings, embedder=embedder)
        served = open_current(settings, embedder)  # the console's searcher
        other = LiveSearcher(settings, embedder)  # another server following the publishes
        other.get()
        entries = load_kb(settings.kb_dir).entries
        cases = [Case(q, e.id) for e in entries for q in e.similar[:1]][: args.cases]
        store = ChangeStore(f"sqlite:///{root / 'studio.sqlite'}")
        publish_s, live_s = [], []
        for n in range(args.rounds):
            current = next(e for e in load_kb(settings.kb_dir).entries if e.id == ENTRY)
            before = entry_data(current)
            text = f"提现手续费按币种和网络收取（第 {n + 1} 次修改），以提现页面显示为准。"
            data = {**before, "answer": text, "similar": [*before["similar"], f"提现手续费第{n + 1}次"]}
            change = store.save_draft("ann", ENTRY, "edit", data, before)
            store.submit(change.id, "ann")
            store.approve(change.id, "bob")
            started = time.perf_counter()
            outcome = publish(settings, store, "bob", None, cases, served, confirm=True)
            publish_s.append(time.perf_counter() - started)
            deadline = started + 120  # polls the condition; fails loudly rather than hanging
            while other.get().directory.name != outcome.index_version:
                if time.perf_counter() > deadline:
                    raise SystemExit(f"the other server never served {outcome.index_version}")
                time.sleep(0.01)
            answer = next(e for e in other.get().entries if e.id == ENTRY).answer
            assert f"第 {n + 1} 次修改" in answer
            live_s.append(time.perf_counter() - started)
            served = open_current(settings, embedder)
        result = {
            "entries": len(entries),
            "cases": len(cases),
            "rounds": args.rounds,
            "publish_p50_ms": percentile_ms(publish_s, 50),
            "publish_max_ms": percentile_ms(publish_s, 100),
            "live_p50_ms": percentile_ms(live_s, 50),
            "live_max_ms": percentile_ms(live_s, 100),
        }
        print(result)
        save("studio_publish", result)


if __name__ == "__main__":
    main()

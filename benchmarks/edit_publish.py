"""Time from editing one KB entry to a published index.

    .venv/bin/python benchmarks/edit_publish.py

Copies the sample KB to a temporary folder, publishes it, then five times:
edits one entry (answer and one similar question) and publishes again, timed
both in-process (the embedder already loaded, as in a running bot) and as the
`faqbot index build` command an editor runs (process start included).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, percentile_ms, save

from faqbot.config import load_settings
from indexer.embedders import make_embedder
from indexer.service import build_and_publish


def edit(kb_dir: Path, round_no: int) -> None:
    path = kb_dir / "exchange-deposit-withdrawal.yml"
    if not path.exists():
        path = sorted(kb_dir.glob("*.yml"))[0]
    text = path.read_text(encoding="utf-8")
    marker = "    answer: |\n"
    text = text.replace(marker, marker + f"      （更新 {round_no}）\n", 1)
    text = text.replace("    similar:\n", f"    similar:\n      - 第{round_no}次修改后新增的问法\n", 1)
    path.write_text(text, encoding="utf-8")


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="faqbot-bench-"))
    shutil.copytree(ROOT / "kb_content", tmp / "kb")
    settings = load_settings().replace(kb_dir=tmp / "kb", data_dir=tmp / "var")
    embedder = make_embedder(settings.embedder)
    build_and_publish(settings, embedder=embedder)
    in_process, cli = [], []
    for i in range(5):
        edit(settings.kb_dir, i)
        t = time.perf_counter()
        result = build_and_publish(settings, embedder=embedder)
        in_process.append(time.perf_counter() - t)
        assert result.manifest["counts"]["newly_embedded"] == 1, result.manifest["counts"]
    faqbot = Path(sys.executable).parent / "faqbot"
    env = {**os.environ, "FAQBOT_KB_DIR": str(settings.kb_dir), "FAQBOT_DATA_DIR": str(settings.data_dir)}
    for i in range(5, 8):
        edit(settings.kb_dir, i)
        t = time.perf_counter()
        subprocess.run([str(faqbot), "index", "build"], env=env, check=True, capture_output=True)
        cli.append(time.perf_counter() - t)
    shutil.rmtree(tmp, ignore_errors=True)
    row = {
        "entries": result.manifest["counts"]["enabled"],
        "vectors": result.manifest["counts"]["vectors"],
        "in_process_p50_ms": percentile_ms(in_process, 50),
        "in_process_max_ms": percentile_ms(in_process, 100),
        "cli_p50_ms": percentile_ms(cli, 50),
        "cli_max_ms": percentile_ms(cli, 100),
    }
    print(row)
    save("edit_publish", {"results": row})


if __name__ == "__main__":
    main()

"""Our bot next to a bare ``rasa init`` bot, in one run, with the same client
and the same messages: REST latency at 40 messages/s over 20 conversations,
and server CPU per message (from ``/proc``: what the ratio is made of).

The peer is Rasa's own starter project (``rasa init --no-prompt``, trained
once and cached under ``var/bench/``), served by ``rasa run`` with its own
defaults (in-memory conversation store, no action server). It does no
retrieval at all, so it is the floor a Rasa bot cannot go below: the target
is our p50 at most half of the peer's. Absolute times depend on the machine,
the ratio much less; rows alternate (ours, peer, ours, peer) so both see the
same machine.

    .venv/bin/python benchmarks/vs_rasa_init.py [--seconds 20] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _common import ROOT, save
from rest_latency import MESSAGES, free_port, load, post

from bot.process.runner import start_bot
from faqbot.config import load_settings

PEER_DIR = ROOT / "var" / "bench" / "rasa-init"
RASA = str(Path(sys.executable).with_name("rasa"))


def peer_project() -> Path:
    """Rasa's starter project, trained once (about two minutes on 2 cores)."""
    if list((PEER_DIR / "models").glob("*.tar.gz")):
        return PEER_DIR
    shutil.rmtree(PEER_DIR, ignore_errors=True)
    PEER_DIR.mkdir(parents=True)
    print("training the rasa init peer (once) …", flush=True)
    subprocess.run(
        [RASA, "init", "--no-prompt", "--init-dir", str(PEER_DIR)],
        cwd=PEER_DIR,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return PEER_DIR


def start_peer(project: Path, port: int, log: Path) -> subprocess.Popen:
    command = [RASA, "run", "--port", str(port), "--credentials", "credentials.yml", "--model", "models"]
    with open(log, "ab") as out:
        process = subprocess.Popen(
            command, cwd=project, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
        )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the peer exited; see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as reply:
                if reply.status == 200:
                    return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("the peer did not start within 180 s")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def measure(name: str, url: str, pids: list[int], seconds: float) -> dict:
    before = cpu_seconds(pids)
    run = load(url, 20, seconds, 40.0)
    spent = cpu_seconds(pids) - before
    run = {"bot": name, **run, "server_cpu_ms_per_message": round(spent * 1000 / max(run["messages"], 1), 1)}
    print(run, flush=True)
    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    project = peer_project()
    work = Path(tempfile.mkdtemp(prefix="faqbot-vs-peer-"))
    shutil.copytree(ROOT / "kb_content", work / "kb")
    base = load_settings(env={})
    settings = base.replace(
        kb_dir=work / "kb",
        data_dir=work / "var",
        bot=base.bot.__class__(rasa_port=free_port(), action_port=free_port()),
    )
    from indexer.service import build_and_publish

    build_and_publish(settings)
    ours = start_bot(settings, models_dir=ROOT / "var" / "models", log_dir=work / "logs", say=lambda _: None)
    peer_port = free_port()
    peer_url = f"http://127.0.0.1:{peer_port}/webhooks/rest/webhook"
    our_pids = [p.pid for p in ours.processes.values()]
    runs: list[dict] = []
    peer: subprocess.Popen | None = None
    try:
        peer = start_peer(project, peer_port, work / "peer.log")
        for url in (ours.rest_webhook, peer_url):
            for _ in range(20):
                post(url, "warmup", random.choice(MESSAGES))
        for _ in range(args.rounds):
            runs.append(measure("faqbot", ours.rest_webhook, our_pids, args.seconds))
            runs.append(measure("rasa init", peer_url, [peer.pid], args.seconds))
    finally:
        ours.stop()
        if peer is not None:
            peer.terminate()
            peer.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)

    def median(bot: str, key: str) -> float:
        return round(statistics.median(r[key] for r in runs if r["bot"] == bot), 1)

    summary = {
        key: {"faqbot": median("faqbot", key), "rasa init": median("rasa init", key)}
        for key in ("p50_ms", "p99_ms", "server_cpu_ms_per_message")
    }
    for values in summary.values():
        values["ratio"] = round(values["faqbot"] / values["rasa init"], 2) if values["rasa init"] else None
    print(summary)
    save(
        "vs_rasa_init",
        {"seconds_per_run": args.seconds, "load": "20 conversations, 40 messages/s", "runs": runs, "summary": summary},
    )


if __name__ == "__main__":
    main()

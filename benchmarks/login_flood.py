"""Console sign-in flood vs the customers' answers: health-check and REST latency
while clients post wrong sign-ins as fast as they can (random account names,
each request from a new address behind a trusted proxy: the worst case, where
no per-client limit applies and every attempt costs a password hash).

Before the fix scrypt ran on the Rasa server's event loop: 6 such clients
raised the health check from 6 ms to p90 1.3 s and one answer took 7 s.

    .venv/bin/python benchmarks/login_flood.py [--seconds 15] [--clients 6]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from _common import ROOT, percentile_ms, save
from rest_latency import free_port, post

from bot.process.runner import start_bot
from faqbot.config import load_settings


def probe(url: str, seconds: float, stop: threading.Event | None = None) -> list[float]:
    """GET ``url`` every 50 ms for ``seconds``: the latencies."""
    found = []
    end = time.monotonic() + seconds
    while time.monotonic() < end and not (stop and stop.is_set()):
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=30) as reply:
            reply.read()
        found.append(time.perf_counter() - started)
        time.sleep(0.05)
    return found


def flood(url: str, stop: threading.Event, counts: dict[int, int]) -> None:
    rng = random.Random(threading.get_ident())
    while not stop.is_set():
        body = json.dumps({"name": f"guess{rng.randrange(10**9)}", "password": "wrong-password"}).encode()
        client = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        request = urllib.request.Request(
            url,
            data=body,
            headers={"Content-Type": "application/json", "X-Faqbot-Console": "1", "X-Forwarded-For": client},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                status = reply.status
        except urllib.error.HTTPError as error:
            status = error.code
        counts[status] = counts.get(status, 0) + 1


def measure(bot, seconds: float) -> dict:
    health = probe(f"{bot.rasa_url}/webhooks/rest/", seconds)
    answers = [post(bot.rest_webhook, f"bench-login-{i}", "提现手续费是多少")[1] for i in range(10)]
    return {
        "health_p50_ms": percentile_ms(health, 50),
        "health_p90_ms": percentile_ms(health, 90),
        "health_max_ms": percentile_ms(health, 100),
        "answer_p50_ms": percentile_ms(answers, 50),
        "answer_max_ms": percentile_ms(answers, 100),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=6)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="faqbot-bench-"))
    shutil.copytree(ROOT / "kb_content", work / "kb")
    base = load_settings(env={})
    settings = base.replace(
        kb_dir=work / "kb",
        data_dir=work / "var",
        bot=dataclasses.replace(base.bot, rasa_port=free_port(), action_port=free_port()),
        console=dataclasses.replace(base.console, trusted_proxies="127.0.0.1"),
    )
    bot = start_bot(settings, models_dir=ROOT / "var" / "models", log_dir=work / "logs", say=lambda _: None)
    try:
        for _ in range(10):
            post(bot.rest_webhook, "warmup", "提现手续费是多少")
        quiet = measure(bot, args.seconds / 3)
        stop, counts = threading.Event(), {}  # type: ignore[var-annotated]
        threads = [
            threading.Thread(target=flood, args=(f"{bot.rasa_url}/console/api/login", stop, counts))
            for _ in range(args.clients)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        loaded = measure(bot, args.seconds)
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    finally:
        bot.stop()
        shutil.rmtree(work, ignore_errors=True)
    result = {
        "clients": args.clients,
        "seconds": args.seconds,
        "quiet": quiet,
        "during_flood": loaded,
        "sign_ins_answered": {str(k): v for k, v in sorted(counts.items())},
        "sign_ins_per_s": round(sum(counts.values()) / elapsed, 1),
    }
    print(json.dumps(result, indent=2))
    save("login_flood", result)


if __name__ == "__main__":
    main()

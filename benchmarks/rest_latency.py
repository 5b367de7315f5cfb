"""REST round trip through the whole bot (Rasa server + action server + index)
with 1, 10 and 20 concurrent conversations on loopback, server start-up time,
and how soon a published FAQ edit is served (with no failed request meanwhile).

    .venv/bin/python benchmarks/rest_latency.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import socket
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from _common import ROOT, percentile_ms, save

from bot.process.runner import start_bot
from faqbot.config import load_settings

# A realistic mix: FAQ paraphrases, small talk, feedback and the odd miss.
MESSAGES = [
    "提现手续费是多少",
    "提币一般要多久到账",
    "充值一直没到账怎么办",
    "忘记登录密码了怎么办",
    "收不到短信验证码",
    "账户被冻结了怎么回事",
    "七天无理由退货运费谁出",
    "退款多久能到账",
    "怎么投诉商家",
    "个人能申请POS机吗",
    "企业认证可以取消吗",
    "你好",
    "谢谢",
    "/feedback_positive",
    "提現手續費怎麼算",
    "这个问题你们肯定回答不了吧",
    "那要多久？",
    "商家不发货怎么办",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(url: str, sender: str, text: str) -> tuple[bool, float]:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            ok = reply.status == 200 and bool(json.loads(reply.read()))
    except OSError:
        ok = False
    return ok, time.perf_counter() - started


def load(url: str, users: int, seconds: float, rate: float | None = None) -> dict:
    """``users`` conversations for ``seconds``. Without ``rate`` each sends its
    next message as soon as the reply arrives (closed loop: the capacity);
    with ``rate`` (messages/s over all users) each waits between messages like
    a person reading the answer, so latency is measured at that load.

    One asyncio client with keep-alive connections, like a chat gateway, so
    the load generator takes little of the 2 cores the servers need."""
    return asyncio.run(_load(url, users, seconds, rate))


async def _load(url: str, users: int, seconds: float, rate: float | None) -> dict:
    import aiohttp

    latencies: list[float] = []
    failures = 0
    stop_at = time.monotonic() + seconds

    async def user(session: aiohttp.ClientSession, n: int) -> None:
        nonlocal failures
        rng = random.Random(n)
        interval = users / rate if rate else 0.0
        next_at = time.monotonic() + rng.uniform(0, interval)
        turn = 0
        while time.monotonic() < stop_at:
            if interval:
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                next_at += rng.expovariate(1 / interval)
            body = {"sender": f"bench-{users}-{rate}-{n}-{turn // 8}", "message": rng.choice(MESSAGES)}
            turn += 1
            started = time.perf_counter()
            try:
                async with session.post(url, json=body) as reply:
                    ok = reply.status == 200 and bool(await reply.json())
            except aiohttp.ClientError:
                ok = False
            latencies.append(time.perf_counter() - started)
            failures += not ok

    started = time.monotonic()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=users)) as session:
        await asyncio.gather(*(user(session, n) for n in range(users)))
    elapsed = time.monotonic() - started
    return {
        "users": users,
        "offered_rate": rate or "closed loop",
        "messages": len(latencies),
        "failures": failures,
        "messages_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": percentile_ms(latencies, 50),
        "p99_ms": percentile_ms(latencies, 99),
    }


def edit_to_served(bot, settings) -> dict:
    from indexer.service import build_and_publish

    path = settings.kb_dir / "exchange-deposit-withdrawal.yml"
    marker = f"（更新 {time.time():.0f}）"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("提现手续费主要用于支付区块链网络费用", marker + "提现手续费主要用于支付区块链网络费用", 1),
        encoding="utf-8",
    )
    failures, stop = 0, threading.Event()

    def hammer() -> None:  # traffic during the switch must not fail
        nonlocal failures
        while not stop.is_set():
            failures += not post(bot.rest_webhook, "bench-hammer", "退款多久能到账")[0]

    thread = threading.Thread(target=hammer)
    thread.start()
    started = time.monotonic()
    build_and_publish(settings)
    published = time.monotonic()
    served = None
    while time.monotonic() - published < 30:
        body = json.dumps({"sender": "bench-edit", "message": "提现手续费是多少"}).encode()
        request = urllib.request.Request(bot.rest_webhook, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as reply:
            if any(marker in m.get("text", "") for m in json.loads(reply.read())):
                served = time.monotonic()
                break
        time.sleep(0.05)
    stop.set()
    thread.join()
    return {
        "publish_s": round(published - started, 2),
        "published_to_served_s": round(served - published, 2) if served else None,
        "failed_requests_during_switch": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="faqbot-bench-"))
    shutil.copytree(ROOT / "kb_content", work / "kb")
    base = load_settings(env={})
    settings = base.replace(
        kb_dir=work / "kb",
        data_dir=work / "var",
        bot=base.bot.__class__(rasa_port=free_port(), action_port=free_port()),
    )
    from indexer.service import build_and_publish

    build_and_publish(settings)  # index build is measured elsewhere (scale.py)
    started = time.monotonic()
    bot = start_bot(settings, models_dir=ROOT / "var" / "models", log_dir=work / "logs", say=lambda _: None)
    startup = time.monotonic() - started
    try:
        for _ in range(20):  # warm up both servers
            post(bot.rest_webhook, "warmup", random.choice(MESSAGES))
        # Paced runs first: the closed-loop runs fill the tracker store with
        # thousands of conversations, which then slows every later run.
        runs = [load(bot.rest_webhook, 20, args.seconds, rate) for rate in (20.0, 40.0)]
        runs += [load(bot.rest_webhook, users, args.seconds) for users in (1, 10, 20)]
        for run in runs:
            print(run)
        edit = edit_to_served(bot, settings)
        print(edit)
    finally:
        bot.stop()
        shutil.rmtree(work, ignore_errors=True)
    save("rest_latency", {"startup_s": round(startup, 1), "seconds_per_run": args.seconds, "runs": runs, "edit": edit})


if __name__ == "__main__":
    main()

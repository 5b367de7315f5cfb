"""WeChat's 5-second window under load: AES safe-mode callbacks (signed and
encrypted as WeChat does) from 20 followers at a paced rate, through the real
Rasa and action servers. Measures the webhook's response time and how many
answers fit in the passive reply (the rest go through the customer-service
API of a local fake platform, as they would when the bot is slow).

    .venv/bin/python benchmarks/channel_latency.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

from _common import ROOT, percentile_ms, save

from bot.process.runner import start_bot
from faqbot.config import load_settings
from tests.connectors.fake_platform import FakePlatform
from tests.connectors.wechat_client import encrypt, http, new_aes_key, sha1_sign, stamp, with_query, xml_of

MESSAGES = [
    "提现手续费是多少",
    "提币一般要多久到账",
    "充值一直没到账怎么办",
    "忘记登录密码了怎么办",
    "账户被冻结了怎么回事",
    "七天无理由退货运费谁出",
    "你好",
    "谢谢",
    "提現手續費怎麼算",
    "商家不发货怎么办",
]
TOKEN, APP_ID, SECRET, AES_KEY = "bench-token", "wx0000000000bench", "bench-secret", new_aes_key()
MSG_IDS = iter(range(10**9, 2 * 10**9))  # unique across rows: a repeated MsgId is a retry, answered from cache


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def callback(webhook: str, user: str, text: str, msg_id: int) -> tuple[float, str, int]:
    inner = xml_of(
        ToUserName="gh_bench",
        FromUserName=user,
        CreateTime=int(time.time()),
        MsgType="text",
        Content=text,
        MsgId=msg_id,
    )
    ts, nonce = stamp()
    encrypted = encrypt(AES_KEY, inner, APP_ID)
    url = with_query(
        webhook,
        signature=sha1_sign(TOKEN, ts, nonce),
        timestamp=ts,
        nonce=nonce,
        openid=user,
        encrypt_type="aes",
        msg_signature=sha1_sign(TOKEN, ts, nonce, encrypted),
    )
    answer = http("POST", url, xml_of(ToUserName="gh_bench", Encrypt=encrypted))
    return answer.seconds, answer.body, answer.status


def rest_call(webhook: str, user: str, text: str, msg_id: int) -> tuple[float, str, int]:
    """The same message over the REST channel: the baseline without WeChat's crypto and XML."""
    import json
    import urllib.request

    request = urllib.request.Request(
        webhook,
        data=json.dumps({"sender": user, "message": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as reply:
        body = reply.read().decode()
        return time.perf_counter() - started, "<xml>" if body.startswith("[{") else body, reply.status


def paced(webhook: str, users: int, rate: float, seconds: float, send=callback) -> dict:
    """``users`` followers sending ``rate`` messages/s in all, exponential gaps."""
    results: list[tuple[float, str, int]] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def follower(n: int) -> None:
        rng = random.Random(n)
        while time.monotonic() < stop_at:
            time.sleep(rng.expovariate(rate / users))
            with lock:
                msg_id = next(MSG_IDS)
            result = send(webhook, f"o_bench_{n}", rng.choice(MESSAGES), msg_id)
            with lock:
                results.append(result)

    threads = [threading.Thread(target=follower, args=(n,)) for n in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies = [r[0] for r in results]
    passive = sum(1 for _, body, status in results if status == 200 and body.startswith("<xml>"))
    return {
        "users": users,
        "offered_per_s": rate,
        "messages": len(results),
        "failures": sum(1 for r in results if r[2] != 200),
        "p50_ms": percentile_ms(latencies, 50),
        "p99_ms": percentile_ms(latencies, 99),
        "max_ms": round(max(latencies) * 1000, 1) if latencies else None,
        "passive_share": round(passive / len(results), 3) if results else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    fake = FakePlatform()
    fake.route("GET", "/cgi-bin/token", lambda call: (200, {"access_token": "bench", "expires_in": 7200}))
    fake.route("POST", "/cgi-bin/message/custom/send", lambda call: (200, {"errcode": 0, "errmsg": "ok"}))
    work = Path(tempfile.mkdtemp(prefix="faqbot-channel-bench-"))
    shutil.copytree(ROOT / "kb_content", work / "kb")
    base = load_settings(env={})
    settings = base.replace(
        kb_dir=work / "kb",
        data_dir=work / "var",
        bot=dataclasses.replace(base.bot, rasa_port=free_port(), action_port=free_port()),
        channels=dataclasses.replace(base.channels, wechat_api=fake.url),
    )
    env = {"WECHAT_TOKEN": TOKEN, "WECHAT_APP_ID": APP_ID, "WECHAT_APP_SECRET": SECRET, "WECHAT_AES_KEY": AES_KEY}
    bot = start_bot(settings, models_dir=ROOT / "var" / "models", log_dir=work / "logs", env=env)
    try:
        webhook = bot.rasa_url + "/webhooks/wechat/webhook"
        for text in MESSAGES:  # warm-up
            callback(webhook, "o_warm", text, random.randrange(10**8))
        rows = []
        for rate in (5.0, 10.0, 20.0):
            for name, url, send in (("wechat", webhook, callback), ("rest", bot.rest_webhook, rest_call)):
                row = {"channel": name, **paced(url, 20, rate, args.seconds, send)}
                row["api_sends"] = len(fake.calls_to("/cgi-bin/message/custom/send"))
                print(row, flush=True)
                rows.append(row)
        save(
            "channel_latency",
            {
                "channel": "wechat (AES safe mode)",
                "seconds": args.seconds,
                "passive_reply_seconds": settings.channels.passive_reply_seconds,
                "rows": rows,
            },
        )
    finally:
        bot.stop()
        fake.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

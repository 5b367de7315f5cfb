"""The conversation corpus (``tests/data/conversations/*.yml``): multi-turn chats
with what each bot reply must and must not do, run over the REST channel
against a real bot.

Used by ``tests/bot/test_conversations_e2e.py`` (one test per conversation) and
from a shell against any running bot::

    python -m tests.conversations --url http://127.0.0.1:5005 [files...]

The format is documented in ``tests/data/conversations/README.md``. Checks read
only what a customer sees (texts and buttons), plus the KB to know an answer's
text: the runner is generic, not tuned to the cases it ships with.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CORPUS_DIR = Path(__file__).parent / "data" / "conversations"
KNOWN_CHECKS = {
    "answer",
    "not_answer",
    "clarify",
    "clarify_excludes",
    "fallback",
    "handoff",
    "ticket",
    "contains",
    "not_contains",
    "buttons",
    "no_buttons",
    "silent",
    "max_replies",
}
# What the bot says when it clarifies, hands off or submits a 留言 (bot/domain.yml).
CLARIFY_MARK = "您是想问"
FALLBACK_MARK = "没有找到"
HANDOFF_MARKS = ("已为您转接人工客服", "您已在人工客服队列中", "手机号或邮箱")
TICKET_MARK = "留言已提交"


class CorpusError(ValueError):
    """A conversation file that does not follow the format (says which and where)."""


@dataclass(frozen=True)
class Turn:
    text: str | None  # typed by the customer
    click: str | None  # or: the title of a button to click
    click_turn: int | None  # from the reply to this (1-based) turn; None: the latest reply
    expect: dict[str, Any]


@dataclass(frozen=True)
class Conversation:
    name: str
    file: str
    turns: list[Turn]
    tags: list[str] = field(default_factory=list)
    xfail: str | None = None  # why the bot fails it today


@dataclass
class Reply:
    messages: list[dict[str, Any]]

    @property
    def texts(self) -> list[str]:
        return [m.get("text") or "" for m in self.messages]

    @property
    def buttons(self) -> list[dict[str, str]]:
        return [b for m in self.messages for b in m.get("buttons") or []]


@dataclass
class Outcome:
    conversation: Conversation
    failures: list[str]
    transcript: list[str]

    @property
    def passed(self) -> bool:
        return not self.failures

    def report(self) -> str:
        """A readable diff: the transcript up to the failing turn and what was expected."""
        lines = [f"conversation {self.conversation.name!r} ({self.conversation.file})"]
        lines += self.transcript
        lines += [f"  ✗ {f}" for f in self.failures]
        return "\n".join(lines)


def _turn(raw: Any, where: str) -> Turn:
    if not isinstance(raw, dict):
        raise CorpusError(f"{where}: a turn is a mapping with 'user' or 'click'")
    expect = raw.get("expect") or {}
    if not isinstance(expect, dict):
        raise CorpusError(f"{where}: 'expect' must be a mapping")
    unknown = set(expect) - KNOWN_CHECKS
    if unknown:
        raise CorpusError(f"{where}: unknown checks {sorted(unknown)}; known: {sorted(KNOWN_CHECKS)}")
    click = raw.get("click")
    if "user" in raw:
        return Turn(str(raw["user"]), None, None, expect)
    if isinstance(click, str):
        return Turn(None, click, None, expect)
    if isinstance(click, dict) and "title" in click:
        return Turn(None, str(click["title"]), int(click["turn"]) if "turn" in click else None, expect)
    raise CorpusError(f"{where}: a turn needs 'user: text' or 'click: title' / 'click: {{title, turn}}'")


def load(paths: Iterable[Path] | None = None) -> list[Conversation]:
    """Every conversation in ``paths`` (default: the corpus), names unique."""
    files = sorted(paths) if paths is not None else sorted(CORPUS_DIR.glob("*.yml"))
    found: list[Conversation] = []
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        if not isinstance(data, list):
            raise CorpusError(f"{path.name}: the file is a list of conversations")
        for i, raw in enumerate(data, 1):
            where = f"{path.name}, conversation {i}"
            if not isinstance(raw, dict) or not raw.get("name") or not raw.get("turns"):
                raise CorpusError(f"{where}: needs 'name' and 'turns'")
            turns = [_turn(t, f"{where}, turn {j}") for j, t in enumerate(raw["turns"], 1)]
            tags = list(raw.get("tags") or [])
            found.append(Conversation(str(raw["name"]), path.name, turns, tags, raw.get("xfail")))
    names = [c.name for c in found]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise CorpusError(f"conversation names must be unique: {duplicates}")
    return found


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _choice_ids(reply: Reply) -> list[str]:
    ids = []
    for button in reply.buttons:
        payload = button.get("payload") or ""
        if payload.startswith("/choose_faq{"):
            try:
                ids.append(str(json.loads(payload[len("/choose_faq") :])["faq_id"]))
            except (ValueError, KeyError):
                continue
    return ids


def check(reply: Reply, expect: dict[str, Any], answers: dict[str, str]) -> list[str]:
    """What in ``reply`` does not meet ``expect`` (empty: all met)."""
    problems: list[str] = []
    said = _squash("".join(reply.texts))
    titles = [b.get("title") for b in reply.buttons]

    def answered(faq_id: str) -> bool:
        if faq_id not in answers:
            problems.append(f"unknown FAQ id {faq_id!r} in the expectation")
            return False
        return _squash(answers[faq_id]) in said

    def as_list(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [value]

    if "answer" in expect and not answered(expect["answer"]):
        problems.append(f"expected the answer of {expect['answer']}")
    for faq_id in as_list(expect.get("not_answer", [])):
        if answered(faq_id):
            problems.append(f"must not answer with {faq_id}")
    if "clarify" in expect:
        ids = _choice_ids(reply)
        if CLARIFY_MARK not in said:
            problems.append("expected a clarify question (您是想问)")
        missing = [i for i in as_list(expect["clarify"]) if i not in ids]
        if missing:
            problems.append(f"clarify choices {ids} lack {missing}")
    for faq_id in as_list(expect.get("clarify_excludes", [])):
        if faq_id in _choice_ids(reply):
            problems.append(f"clarify must not offer {faq_id}")
    if "fallback" in expect and (FALLBACK_MARK in said) != bool(expect["fallback"]):
        problems.append("expected 没有找到" if expect["fallback"] else "must not say 没有找到")
    if "handoff" in expect and any(m in said for m in HANDOFF_MARKS) != bool(expect["handoff"]):
        problems.append("expected a hand-off or 留言 offer" if expect["handoff"] else "must not hand off")
    if "ticket" in expect and (TICKET_MARK in said) != bool(expect["ticket"]):
        problems.append("expected 留言已提交" if expect["ticket"] else "must not submit a 留言")
    for fragment in as_list(expect.get("contains", [])):
        if _squash(str(fragment)) not in said:
            problems.append(f"expected the text to contain {fragment!r}")
    for fragment in as_list(expect.get("not_contains", [])):
        if _squash(str(fragment)) in said:
            problems.append(f"the text must not contain {fragment!r}")
    for title in as_list(expect.get("buttons", [])):
        if title not in titles:
            problems.append(f"expected a button {title!r}")
    if expect.get("no_buttons") and titles:
        problems.append(f"expected no buttons, got {titles}")
    if "silent" in expect and (not reply.messages) != bool(expect["silent"]):
        problems.append("expected no reply" if expect["silent"] else "expected a reply")
    if "max_replies" in expect and len(reply.messages) > int(expect["max_replies"]):
        problems.append(f"expected at most {expect['max_replies']} messages, got {len(reply.messages)}")
    return problems


Send = Callable[[str, str], list[dict[str, Any]]]


def run(conversation: Conversation, send: Send, answers: dict[str, str]) -> Outcome:
    """Play ``conversation`` as a fresh customer; stop at the first turn that fails."""
    sender = f"corpus-{uuid.uuid4().hex[:12]}"
    replies: list[Reply] = []
    transcript: list[str] = []
    for number, turn in enumerate(conversation.turns, 1):
        if turn.text is not None:
            text, shown = turn.text, turn.text
        else:
            source = replies[turn.click_turn - 1] if turn.click_turn else (replies[-1] if replies else Reply([]))
            payloads = [b["payload"] for b in source.buttons if b.get("title") == turn.click]
            if not payloads:
                titles = [b.get("title") for b in source.buttons]
                transcript.append(f"  {number}. [click {turn.click}]")
                problem = f"turn {number}: no button {turn.click!r} to click (had {titles})"
                return Outcome(conversation, [problem], transcript)
            text, shown = payloads[0], f"[click {turn.click}]"
        reply = Reply(send(sender, text))
        replies.append(reply)
        transcript.append(f"  {number}. 客户: {shown}")
        for line in reply.texts:
            transcript.append(f"     机器人: {line[:120]}")
        if reply.buttons:
            transcript.append("     按钮: " + " | ".join(str(b.get("title")) for b in reply.buttons))
        problems = check(reply, turn.expect, answers)
        if problems:
            return Outcome(conversation, [f"turn {number}: {p}" for p in problems], transcript)
    return Outcome(conversation, [], transcript)


def kb_answers(kb_dir: Path) -> dict[str, str]:
    from indexer.kb import load_kb

    return {e.id: e.answer.strip() for e in load_kb(kb_dir).entries}


def rest_sender(url: str) -> Send:
    """Send over a running bot's REST channel (``url`` is the server, e.g. http://127.0.0.1:5005)."""
    from tests.http import send

    webhook = url.rstrip("/") + "/webhooks/rest/webhook"

    def post(sender: str, text: str) -> list[dict[str, Any]]:
        body = json.dumps({"sender": sender, "message": text}, ensure_ascii=False).encode()
        reply = send(webhook, body, {"Content-Type": "application/json"})
        data = reply.json()
        return data if isinstance(data, list) else []

    return post


def summary(outcomes: list[Outcome]) -> str:
    passed = sum(o.passed for o in outcomes)
    lines = [f"{'PASS' if o.passed else 'FAIL'}  {o.conversation.name}" for o in outcomes]
    lines.append(f"conversations: {passed} passed, {len(outcomes) - passed} failed, {len(outcomes)} in all")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run conversation corpus files against a running bot over REST.")
    parser.add_argument("--url", default="http://127.0.0.1:5005", help="the Rasa server (default %(default)s)")
    parser.add_argument("--kb", type=Path, default=Path("kb_content"), help="the KB the bot serves")
    parser.add_argument("files", nargs="*", type=Path, help="corpus files (default: tests/data/conversations)")
    args = parser.parse_args(argv)
    try:
        conversations = load(args.files or None)
    except CorpusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    answers, send = kb_answers(args.kb), rest_sender(args.url)
    outcomes = [run(c, send, answers) for c in conversations]
    for outcome in outcomes:
        if not outcome.passed:
            print(outcome.report(), end="\n\n")
    print(summary(outcomes))
    return 0 if all(o.passed for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())

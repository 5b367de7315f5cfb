"""Issue #18: no raw personal data at rest where it should be masked. A scripted session over
the REST channel against the real Rasa and action servers, with the records on SQLite and on
the local PostgreSQL: the customer types a mobile number, an ID-card number, a bank card, an
e-mail address and an order number (a configured ``[masking]`` pattern), asks for a person
while nobody is on duty and leaves a 留言. Then every table of the database, every log file
under the data dir and the analysis exports are read back: none holds a raw value, except
the stores that serve the customer (the 留言 and hand-offs, behind the console's access by
need) and Rasa's own conversation store, which must hold them — proof that they were typed."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.handoff.conversation_export import ConversationExport
from bot.handoff.history import Query
from bot.handoff.kpis import TABLES, compute_kpis, to_csv
from bot.handoff.tables import csv_text
from bot.handoff.tickets import TicketStore
from faqbot.config import Settings
from faqbot.masking import masker_for
from faqbot.normalize import normalize
from tests.bot.conftest import Chat
from tests.databases import scratch_database
from tests.polling import tracker_texts, wait_until

pytestmark = pytest.mark.slow

# Rasa logs each user message at DEBUG: the logs would hold every raw value without masking.
ENV = {"LOG_LEVEL": "DEBUG"}
ORDER_PATTERN = r"DD[0-9]{12}"

MOBILE, ID_CARD, CARD, EMAIL, ORDER = (
    "13812345678",
    "110101199003071233",  # its GB 11643 check digit is right
    "6222021234567890128",  # Luhn-valid
    "zhangsan.li@example.com",
    "DD202612031234",
)
RAW = (MOBILE, ID_CARD, CARD, EMAIL, ORDER)
MASKED = ("138****5678", "110101********1233", "6222********0128", "z***@example.com", "DD2********234")
SAID = (
    f"我的手机{MOBILE}收不到验证码",
    f"身份证{ID_CARD}怎么实名认证",
    f"银行卡{CARD}绑定失败怎么办",
    f"邮箱{EMAIL}收不到邮件",
    f"订单{ORDER}还没发货",
    f"提现手续费是多少 手机{MOBILE}",
)
# These serve the customer: the agent handling the 留言 (its transcript, follow-ups and where the
# answer went) or the chat reads them as written, behind the console's access by need.
SERVING_TABLES = {"tickets", "ticket_transcripts", "ticket_events", "ticket_deliveries", "handoffs", "handoff_events"}
SENDER = "privacy-scan"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def bot_settings(bot_settings: Settings, request: pytest.FixtureRequest, tmp_path_factory) -> Settings:
    with scratch_database(request.param, tmp_path_factory.mktemp("db")) as url:
        masking = replace(bot_settings.masking, patterns=(ORDER_PATTERN,))
        yield bot_settings.replace(bot=replace(bot_settings.bot, database_url=url), masking=masking)


@pytest.fixture(scope="module")
def session(running_bot, bot_settings: Settings) -> Settings:
    """The scripted session, once per database."""
    chat = Chat(running_bot.rest_webhook, SENDER)
    for text in SAID:
        assert chat.say(text).status == 200
    answered = chat.say(SAID[-1])  # the retrieval saw the original text: the fee is answered
    assert "手续费" in answered.text, answered.texts
    chat.say(answered.payload("没帮助"))
    offer = chat.say("转人工")
    assert "手机号或邮箱" in offer.text, offer.texts
    confirm = chat.say(f"我的手机是 {MOBILE}")
    assert MOBILE in confirm.text  # the customer is told what was understood, as typed
    done = chat.say(confirm.payload("提交"))
    assert "留言" in done.text, done.texts
    engine = sa.create_engine(bot_settings.database_url)
    try:
        wait_until(lambda: _count(engine, "turns") >= len(SAID) + 1, what="the turns flushed")  # TURN_FLUSH_SECONDS
    finally:
        engine.dispose()
    return bot_settings


def _count(engine: sa.engine.Engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE conversation_id = :c"), {"c": SENDER}).scalar()


def _tables(url: str) -> dict[str, str]:
    """Every table of the database at ``url``, its rows as one text."""
    engine = sa.create_engine(url)
    try:
        found: dict[str, str] = {}
        meta = sa.MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            for table in meta.sorted_tables:
                found[table.name] = "\n".join(repr(tuple(row)) for row in conn.execute(sa.select(table)))
        return found
    finally:
        engine.dispose()


def _sqlite_files(data_dir: Path) -> dict[str, str]:
    """Every table of every SQLite file under the data dir but Rasa's conversation store and the
    serving tables (on SQLite the records' own database is one of them)."""
    found: dict[str, str] = {}
    for path in data_dir.rglob("*"):
        if not path.is_file() or path.name == "tracker.db":
            continue
        with path.open("rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                continue
        with sqlite3.connect(path) as conn:
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
                if name in SERVING_TABLES:
                    continue
                rows = conn.execute(f'SELECT * FROM "{name}"').fetchall()
                found[f"{path.relative_to(data_dir)}:{name}"] = "\n".join(repr(r) for r in rows)
    return found


def _raw_in(text: str) -> list[str]:
    """The raw values in ``text``, also in the normaliser's form (``dd2026…``, ``zhangsan li
    example com``): a question stored normalised must not slip past the masking."""
    folded = text.casefold()
    return [raw for raw in RAW if raw in text or raw.casefold() in folded or normalize(raw) in folded]


def test_the_values_were_typed_and_the_customer_was_served_with_them(session: Settings):
    typed = "\n".join(tracker_texts(session.data_dir, SENDER))
    assert _raw_in(typed) == list(RAW)  # Rasa's conversation store serves the turn: as written
    [ticket] = [t for t in TicketStore(session.database_url).in_states() if t.conversation_id == SENDER]
    assert ticket.contact == MOBILE  # the agent answering the 留言 needs the number
    stored = _tables(session.database_url)
    assert _raw_in(stored["tickets"]) and MOBILE in stored["tickets"]


def test_no_analysis_table_holds_a_raw_value(session: Settings):
    stored = _tables(session.database_url)
    assert {"unanswered", "feedback", "outcomes", "turns", "tickets"} <= set(stored)
    analysis = {name: text for name, text in stored.items() if name not in SERVING_TABLES}
    analysis.update(_sqlite_files(session.data_dir))
    leaks = {name: _raw_in(text) for name, text in analysis.items() if _raw_in(text)}
    assert not leaks, f"raw personal data in {leaks}"
    kept = stored["unanswered"] + stored["outcomes"] + stored["feedback"]
    assert [m for m in MASKED if m in kept] == list(MASKED)  # the questions are there, masked
    assert "手续费" in stored["feedback"] and MASKED[0] in stored["feedback"]


def test_no_log_file_holds_a_raw_value(session: Settings, running_bot):
    logs = sorted((session.data_dir / "logs").glob("*.log"))
    assert {p.name for p in logs} >= {"rasa.log", "actions.log"}
    every = {p.name: p.read_text(encoding="utf-8", errors="replace") for p in logs}
    every.update({str(p): p.read_text(encoding="utf-8", errors="replace") for p in session.data_dir.rglob("*.log")})
    leaks = {name: _raw_in(text) for name, text in every.items() if _raw_in(text)}
    assert not leaks, f"raw personal data in the logs: {leaks}"
    assert MASKED[0] in every["rasa.log"]  # the messages were logged, masked


def test_the_analysis_exports_hold_no_raw_value(session: Settings):
    report = compute_kpis(session.database_url, days=1, tz=session.handoff.timezone)
    kpis = "\n".join(to_csv(report, name) for name in TABLES)
    export = csv_text(
        ConversationExport(session.database_url, session.handoff.timezone, masker_for(session.masking)).rows(Query())
    )
    assert "提现手续费" in export or "订单" in export  # the 留言's question is exported, masked
    assert not _raw_in(kpis) and not _raw_in(export), (_raw_in(kpis), _raw_in(export))

"""The ``faqbot`` command line: KB validation and import, index build and
rollback, hit-testing (``ask``, ``hittest``), evaluation, training, ``run``
(the whole bot) and the editors' reports.

Every expected failure (bad arguments, invalid KB, missing index, bad
benchmark file) prints one clear message and exits non-zero; set
``FAQBOT_DEBUG=1`` to see tracebacks of unexpected errors.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from datetime import date, datetime
from pathlib import Path

warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

from faqbot.config import ConfigError, Settings, load_settings  # noqa: E402
from faqbot.errors import UserError  # noqa: E402

EXIT_INVALID = 1
EXIT_USAGE = 2


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings()
    if getattr(args, "kb_dir", None):
        settings = settings.replace(kb_dir=Path(args.kb_dir).resolve())
    return settings


def _kb_not_indexed(errors: int, warnings_: int, kb_dir: Path | None = None) -> str:
    """The last line editors read when the KB has errors (kb validate, kb import, index build)."""
    return f"{errors} 个错误，{warnings_} 个警告" + (f"（{kb_dir}）" if kb_dir else "") + "；没有建立索引。"


def _today(settings: Settings) -> date:
    """The day ``valid_until`` is compared with: now, in ``[handoff] timezone``."""
    from indexer.expiry import local_today

    return local_today(settings.handoff.timezone)


def cmd_kb_validate(args: argparse.Namespace) -> int:
    from indexer.validate import validate_dir

    settings = _settings(args)
    entries, _, problems = validate_dir(settings.kb_dir, _today(settings))
    errors = [p for p in problems if p.severity == "error"]
    for problem in problems:
        # An expired entry is shown even without --warnings: it has stopped answering.
        if problem.severity == "error" or args.warnings or problem.field == "valid_until":
            print(problem, file=sys.stderr if problem.severity == "error" else sys.stdout)
    warnings_ = len(problems) - len(errors)
    if errors:
        print(_kb_not_indexed(len(errors), warnings_, settings.kb_dir), file=sys.stderr)
        return EXIT_INVALID
    enabled = sum(e.enabled for e in entries)
    print(
        f"检查通过：{len(entries)} 个条目（{enabled} 个启用），"
        f"{sum(len(e.questions) for e in entries)} 个问法，{warnings_} 个警告"
        + ("" if args.warnings or not warnings_ else "（用 --warnings 查看）")
    )
    return 0


def cmd_kb_gaps(args: argparse.Namespace) -> int:
    """What the KB is missing: the questions the bot did not answer well, grouped by meaning."""
    from datetime import UTC, datetime, timedelta

    from bot.studio.gap_report import nearest_in
    from indexer.embedders import make_embedder
    from indexer.gaps import Asked, background_of, find_gaps, no_nearest, read_questions
    from indexer.kb import KBInvalid, load_kb
    from indexer.live import LiveSearcher
    from indexer.manifest import IndexMissing

    settings = _settings(args)
    if args.from_file:
        try:
            asked = read_questions(Path(args.from_file).read_text(encoding="utf-8").splitlines())
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            print(f"error: {args.from_file}: {exc}", file=sys.stderr)
            return EXIT_USAGE
    else:
        from bot.handoff.records import Records
        from bot.studio.gap_report import GapActions
        from faqbot.normalize import normalize

        since = datetime.now(UTC) - timedelta(days=args.days)
        done = GapActions(settings.database_url).handled_keys()  # handled in the studio: not a gap any more
        asked = [
            Asked(q, c, source)
            for q, c, source in Records(settings.database_url).asked_since(since)
            if normalize(q) not in done
        ]
    try:
        searcher = LiveSearcher(settings).get()
    except IndexMissing:
        searcher = None
    embedder = searcher.embedder if searcher is not None else make_embedder(settings.embedder)
    if searcher is not None:
        questions = searcher.texts
    else:
        try:
            questions = [q for e in load_kb(settings.kb_dir).entries for q in e.questions]
        except KBInvalid:  # the gaps need no valid KB; the questions are then their own background
            questions = []

    nearest = nearest_in(searcher) if searcher is not None else no_nearest
    gaps = find_gaps(asked, embedder, nearest, args.threshold, background_of(embedder, questions))[: args.limit]
    if args.json:
        print(json.dumps({"gaps": [g.to_json() for g in gaps]}, ensure_ascii=False, indent=2))
        return 0
    if not gaps:
        print("没有需要补充的问题（没有未答出、澄清、兜底或“没帮助”的提问）。")
        return 0
    print(f"{len(gaps)} 组问题（{sum(g.asks for g in gaps)} 次提问），按提问人数排序：")
    for n, gap in enumerate(gaps, 1):
        near = f"最接近：{gap.nearest_faq}（{gap.nearest_score:.2f}）" if gap.nearest_faq else "知识库中没有接近的条目"
        print(f"\n{n}. {gap.typical}    [{gap.count} 人 / {gap.asks} 次]  {near}")
        others = [w for w in gap.questions if w != gap.typical]
        for wording in others[:5]:
            print(f"   - {wording}")
        if len(others) > 5:
            print(f"   …还有 {len(others) - 5} 种问法")
    if searcher is None:
        print("\n（没有已发布的索引：未给出最接近的条目；先运行 `faqbot index build`）")
    return 0


def cmd_kb_health(args: argparse.Namespace) -> int:
    """How each FAQ entry does with customers, and the entries to review (most 没帮助 first)."""
    from bot.handoff.faq_health import Health, faq_health, needs_review
    from indexer.expiry import is_expired
    from indexer.kb import KBInvalid, load_kb

    settings = _settings(args)
    try:
        found = {h.faq_id: h for h in faq_health(settings.database_url, args.days)}
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        entries = {e.id: e for e in load_kb(settings.kb_dir).entries}
    except KBInvalid:
        entries = {}
    for faq_id in entries:  # entries nobody was answered with are health too: maybe never reached
        found.setdefault(faq_id, Health(faq_id))
    rows = (
        needs_review(list(found.values()))
        if args.review
        else sorted(found.values(), key=lambda h: (-h.answers, h.faq_id))
    )
    today = _today(settings)
    expired = {faq_id for faq_id, e in entries.items() if is_expired(e, today)}
    if args.json:
        out = [
            {
                **h.to_json(),
                "question": entries[h.faq_id].question if h.faq_id in entries else None,
                "valid_until": entries[h.faq_id].valid_until if h.faq_id in entries else "",
                "expired": h.faq_id in expired,
            }
            for h in rows
        ]
        print(json.dumps({"days": args.days, "entries": out}, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("没有需要复查的条目（最近没有“没帮助”）。" if args.review else "知识库里还没有条目。")
        return 0
    print(f"最近 {args.days} 天：回答次数 / 反问后选中 / 有帮助 / 没帮助 / 之后转人工")
    for h in rows:
        question = entries[h.faq_id].question if h.faq_id in entries else "（已不在知识库中）"
        if h.faq_id in expired:
            question += f"（已过期：有效期至 {entries[h.faq_id].valid_until}，不再回答）"
        rate = "-" if h.helpful_rate is None else f"{h.helpful_rate * 100:.0f}%"
        print(
            f"{h.faq_id}\t{question}\t{h.answers} / {h.picked} / {h.helpful} / {h.not_helpful}（有帮助率 {rate}）"
            f" / {h.handoffs_after}"
        )
    return 0


def _regression_cases(settings: Settings, path: str | None) -> list:
    """The regression set: from ``path`` (JSON Lines) or the database the bot records to."""
    from bot.studio.regression_set import RegressionSet, read_jsonl

    if path:
        if not Path(path).is_file():
            raise _CliError(f"{path}: file not found")
        return read_jsonl(Path(path).read_text(encoding="utf-8"))
    return RegressionSet(settings.database_url).as_cases()


class _CliError(UserError, ValueError):
    """A regression-set file or option that cannot be used."""


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _curve_lines(points: list, answer_threshold: float) -> list[str]:
    lines = ["阈值   准确率  覆盖率  回答数"]
    for p in points:
        mark = "  ← 当前" if abs(p.threshold - answer_threshold) < 0.025 else ""
        lines.append(f"{p.threshold:.2f}  {_percent(p.precision):>6}  {_percent(p.coverage):>6}  {p.answered:>4}{mark}")
    return lines


def _change_line(change) -> str:
    after = change.after
    now = after.answered or ("反问" if after.action == "clarify" else "没找到")
    before = change.before.answered if change.before is not None and change.before.answered else "-"
    return f"  {change.question} → 应答 {change.expected}（之前：{before}；现在：{now}）"


def cmd_kb_regress(args: argparse.Namespace) -> int:
    """The regression set against the published index (or the published one and the KB as
    it is now, built without publishing: ``--candidate``); exit 1 when a case is lost."""
    from indexer.regression import compare, curve, run_cases
    from indexer.service import candidate_index, fallback_notice, open_serving

    settings = _settings(args)
    cases = _regression_cases(settings, args.set)
    if not cases:
        print("回归测试集是空的：在知识库页的命中测试里点“加入回归集”，或用 --set FILE.jsonl 指定。")
        return 0
    searcher, refused = open_serving(settings)
    if refused:
        print(f"WARNING: {fallback_notice(searcher.directory.name, refused)}", file=sys.stderr)
    published = run_cases(searcher, cases)
    if args.candidate:
        with candidate_index(settings, searcher.embedder) as candidate:
            results = run_cases(candidate, cases)
            config = candidate.decision
        report = compare(published, results)
    else:
        results, config = published, searcher.decision
        report = compare(None, results)
    points = curve(results)
    if args.json:
        print(
            json.dumps(
                {
                    "index_version": searcher.directory.name,
                    "candidate": args.candidate,
                    "answer_threshold": config.answer_threshold,
                    "clarify_threshold": config.clarify_threshold,
                    **report.to_json(),
                    "curve": [p.to_json() for p in points],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        total = report.total
        right_published = sum(r.correct for r in published)
        print(f"回归测试集 {total} 条；已发布的索引 {searcher.directory.name} 答对 {right_published}/{total}")
        if args.candidate:
            print(
                f"当前知识库（未发布）答对 {report.right_after}/{total}：新答对 {len(report.gained)} 条，"
                f"不再答对 {len(report.lost)} 条，换了答案 {len(report.changed)} 条"
            )
            for title, changes in (("不再答对", report.lost), ("新答对", report.gained), ("换了答案", report.changed)):
                if changes:
                    print(f"{title}：")
                    print("\n".join(_change_line(c) for c in changes))
        else:
            wrong = [r for r in results if not r.correct]
            if wrong:
                print("没有答对：")
                for r in wrong:
                    now = r.answered or ("反问" if r.action == "clarify" else "没找到")
                    print(f"  {r.question} → 应答 {r.expected}（现在：{now}，置信度 {r.confidence:.2f}）")
        print(f"\n直接回答阈值 {config.answer_threshold:g}，反问阈值 {config.clarify_threshold:g}")
        print("\n".join(_curve_lines(points, config.answer_threshold)))
    if report.needs_confirmation:
        print(f"有 {len(report.lost)} 条已发布的索引能答对、当前知识库答不对：发布前请确认。", file=sys.stderr)
        return EXIT_INVALID
    return 0


def cmd_kb_recalibrate(args: argparse.Namespace) -> int:
    """The lowest answer threshold reaching ``--target`` precision on the regression set
    (published index); ``--write`` writes it to decision.yml for the next publish."""
    from indexer.regression import recalibrate, run_cases
    from indexer.service import open_serving
    from indexer.validate import DECISION_FILE, write_thresholds

    settings = _settings(args)
    if not 0 < args.target <= 1:
        print("error: --target is a precision between 0 and 1, e.g. 0.9", file=sys.stderr)
        return EXIT_USAGE
    cases = _regression_cases(settings, args.set)
    if not cases:
        print("回归测试集是空的：没有可以用来校准的问题。", file=sys.stderr)
        return EXIT_INVALID
    searcher, _ = open_serving(settings)
    chosen = recalibrate(run_cases(searcher, cases), searcher.decision, args.target)
    if args.json:
        print(json.dumps({"index_version": searcher.directory.name, **chosen.to_json()}, indent=2))
    else:
        b, a = chosen.before, chosen.after
        print(f"回归测试集 {b.total} 条，目标准确率 {_percent(chosen.target)}（索引 {searcher.directory.name}）")
        print(
            f"校准前：直接回答阈值 {chosen.answer_before:g}，反问阈值 {chosen.clarify_before:g}；"
            f"准确率 {_percent(b.precision)}，覆盖率 {_percent(b.coverage)}"
        )
        print(
            f"校准后：直接回答阈值 {chosen.answer_after:g}，反问阈值 {chosen.clarify_after:g}；"
            f"准确率 {_percent(a.precision)}，覆盖率 {_percent(a.coverage)}"
        )
        if not chosen.reached:
            print("没有哪个阈值能达到目标准确率：阈值不变，请先改进没答对的条目。")
    if args.write and chosen.reached and chosen.changed:
        path = write_thresholds(settings.kb_dir, chosen.answer_after, chosen.clarify_after)
        print(f"已写入 {path}；运行 `faqbot index build` 发布后生效。", file=sys.stderr)
    elif args.write:
        print(f"阈值没有变化，没有写 {DECISION_FILE}。", file=sys.stderr)
    return 0


def cmd_kb_related(args: argparse.Namespace) -> int:
    """猜你想问 to add: the entries customers were answered with next, not yet in ``related:``."""
    from bot.handoff.related_suggestions import related_suggestions
    from indexer.kb import KBInvalid, load_kb

    settings = _settings(args)
    try:
        entries = {e.id: e for e in load_kb(settings.kb_dir).entries}
    except KBInvalid:
        entries = {}
    try:
        found = related_suggestions(settings.database_url, {i: e.related for i, e in entries.items()}, args.days)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    def question(faq_id: str) -> str | None:
        return entries[faq_id].question if faq_id in entries else None

    if args.json:
        out = [{**s.to_json(), "question": question(s.faq_id), "next_question": question(s.next_id)} for s in found]
        print(json.dumps({"days": args.days, "suggestions": out}, ensure_ascii=False, indent=2))
        return 0
    if not found:
        print(f"最近 {args.days} 天没有可以建议的相关问题。")
        return 0
    print(f"最近 {args.days} 天：回答了 A 之后几分钟内又问到 B 的次数（B 还不在 A 的 related 里）")
    for s in found:
        a, b = question(s.faq_id) or "（已不在知识库中）", question(s.next_id) or "（已不在知识库中）"
        print(f"{s.count}\t{s.faq_id} → {s.next_id}\t{a} → {b}")
    return 0


def cmd_kb_import(args: argparse.Namespace) -> int:
    from indexer.kb_import import KBImportError, import_file

    settings = _settings(args)
    try:
        result = import_file(Path(args.file), settings.kb_dir)
    except KBImportError as exc:  # editors read it: 错误, not main's English "error:"
        print(f"错误：{exc}", file=sys.stderr)
        return EXIT_INVALID
    for path in result.files:
        print(f"已写入 {path}")
    print(f"已导入 {result.entries} 个条目；正在检查知识库：")
    return cmd_kb_validate(argparse.Namespace(kb_dir=str(settings.kb_dir), warnings=False))


def cmd_index_build(args: argparse.Namespace) -> int:
    from indexer.expiry import expiry_problems
    from indexer.progress import stderr_progress
    from indexer.service import build_and_publish

    settings = _settings(args)
    started = time.monotonic()
    result = build_and_publish(settings, full=args.full, progress=stderr_progress("embedding questions"))
    # Expired entries are built into the index (they stop answering at query time), but editors should know.
    for problem in expiry_problems(result.kb.entries, _today(settings)):
        print(problem, file=sys.stderr)
    counts = result.manifest.counts
    if settings.index.shared:  # several servers: the studio's next publish starts from this folder
        from bot.studio.publishing import record_folder_publish

        if record_folder_publish(settings, result.version, _cli_actor()):
            print("recorded as the last published KB version (the studio starts from it)")
    if result.rebuilt_because:
        print(f"rebuilt: {result.rebuilt_because}")
    if result.skipped:
        print(f"index {result.version} is up to date ({counts.enabled} entries); use --full to rebuild")
    else:
        print(
            f"published index {result.version}: {counts.enabled} entries "
            f"({counts.disabled} disabled), {counts.vectors} questions, "
            f"{counts.newly_embedded} newly embedded, {result.manifest.dense_index} FAISS, "
            f"{time.monotonic() - started:.1f}s"
        )
    return 0


def cmd_index_rollback(args: argparse.Namespace) -> int:
    from indexer.service import rollback

    version = rollback(_settings(args))
    print(f"current index is now {version}")
    return 0


def cmd_index_status(args: argparse.Namespace) -> int:
    """Every version the bot could serve, checked against its checksums; exit 1 when the
    current one cannot be served (so scripts notice) or nothing is published."""
    from indexer.search import read_manifest
    from indexer.service import store_for, version_states

    settings = _settings(args)
    store = store_for(settings)
    states = version_states(settings)
    if not states:
        print("no index published yet; run `faqbot index build`")
        return EXIT_INVALID
    current = states[0]
    serving = next((s.version for s in states if s.ok), None)
    try:
        manifest = read_manifest(store.version_dir(current.version))
    except Exception:  # a damaged manifest is shown as null; the versions map says why
        manifest = None
    print(
        json.dumps(
            {
                "current": current.version,
                "serving": serving,
                "history": store.history(),
                "versions": {s.version: "ok" if s.ok else f"{s.state}: {s.reason}" for s in states},
                "manifest": manifest,
            },
            ensure_ascii=False,
            indent=2,
        )
    )
    if current.ok:
        return 0
    print(
        f"WARNING: {current.describe()}; the bot serves {serving or 'nothing'}; run `faqbot index build`",
        file=sys.stderr,
    )
    return EXIT_INVALID


def _ensure_index(settings: Settings):
    """Publish the KB if the current index is missing, stale or corrupt, then open what is served."""
    from indexer.progress import stderr_progress
    from indexer.service import publish_and_open

    ready = publish_and_open(settings, progress=stderr_progress("embedding questions"))
    lines = ready.summary()
    if ready.published is None or not ready.published.skipped or len(lines) > 1:
        print("\n".join(lines), file=sys.stderr)
    return ready.searcher


def _explain(result, decision, as_json: bool) -> str:
    if as_json:
        return json.dumps(
            {
                "query": result.query,
                "normalised": result.normalised,
                "synonyms": [{"from": variant, "to": canonical} for variant, canonical in result.synonyms],
                "decision": decision.action,
                "confidence": round(decision.confidence, 4),
                "chosen": [c.entry.id for c in decision.candidates],
                "candidates": [
                    {
                        "id": c.entry.id,
                        "question": c.entry.question,
                        "matched": c.matched_question,
                        "fused": round(c.fused, 4),
                        "dense": round(c.dense, 4),
                        "bm25": round(c.bm25, 4),
                        "shared_terms": list(c.shared_terms),
                        "no_shared_content": not c.shares_content,
                    }
                    for c in result.candidates
                ],
            },
            ensure_ascii=False,
            indent=2,
        )
    lines = [
        f"问题: {result.query}   (规范化: {result.normalised})",
        *([f"同义词: {'，'.join(f'{v} → {c}' for v, c in result.synonyms)}"] if result.synonyms else []),
        f"决定: {decision.action}   置信度 {decision.confidence:.2f}"
        + (f"   → {', '.join(c.entry.id for c in decision.candidates)}" if decision.candidates else ""),
        f"{'#':>2} {'fused':>6} {'dense':>6} {'bm25':>6}  id / 标准问 / 命中的问法 / 共有词",
    ]
    for rank, c in enumerate(result.candidates, 1):
        lines.append(f"{rank:>2} {c.fused:6.3f} {c.dense:6.3f} {c.bm25:6.3f}  {c.entry.id}  {c.entry.question}")
        excluded = "   无共同内容（不会推荐）" if not c.shares_content else ""
        lines.append(f"{'':>24}命中: {c.matched_question}   共有词: {' '.join(c.shared_terms) or '-'}{excluded}")
    if decision.action == "answer":
        lines += ["", decision.candidates[0].entry.answer]
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace) -> int:
    from indexer.service import ask, fallback_notice, open_serving

    settings = _settings(args)
    question = " ".join(args.question).strip()
    if not question:
        print('error: give a question, e.g. faqbot ask "提现手续费是多少"', file=sys.stderr)
        return EXIT_USAGE
    searcher, refused = open_serving(settings)
    if refused:
        print(f"WARNING: {fallback_notice(searcher.directory.name, refused)}", file=sys.stderr)
    result, decision = ask(searcher, question, k=args.k, explain=True)
    result.candidates = result.candidates[: args.k]
    print(_explain(result, decision, args.json))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from indexer.evaluate import evaluate
    from indexer.kb import KBInvalid
    from indexer.progress import stderr_progress
    from indexer.validate import parse_synonyms

    settings = _settings(args)
    synonyms = None
    if args.synonyms:
        path = Path(args.synonyms)
        synonyms, problems = parse_synonyms(path.read_text(encoding="utf-8"), path.name)
        if any(p.severity == "error" for p in problems):
            raise KBInvalid(problems)
    result = evaluate(
        Path(args.kb),
        Path(args.queries),
        settings,
        progress=stderr_progress("embedding") if not args.json else (lambda d, t: None),
        synonyms=synonyms,
    )
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"queries: {result['n_queries']}\n"
            f"top-1 accuracy:            {result['top1']:.3f}\n"
            f"recall@5:                  {result['recall_at_5']:.3f}\n"
            f"MRR@10:                    {result['mrr_at_10']:.3f}\n"
            f"out-of-scope rejection:    {result['oos_rejection']:.3f}\n"
            f"in-scope false rejection:  {result['in_scope_false_rejection']:.3f}"
        )
    return 0


def cmd_hittest(args: argparse.Namespace) -> int:
    """Interactive hit-test over the published index: question in, ranked FAQs and the decision out."""
    from indexer.service import ask

    settings = _settings(args)
    searcher = _ensure_index(settings)
    print(
        f"FAQ 命中测试 — 索引 {searcher.directory.name}，{len(searcher.entries)} 条 FAQ。"
        "输入问题回车；空行或 Ctrl-D 退出。"
    )
    while True:
        try:
            question = input("问> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not question:
            return 0
        result, decision = ask(searcher, question, explain=True)
        print(_explain(result, decision, as_json=False))
        print()


def cmd_train(args: argparse.Namespace) -> int:
    from bot.process.training import train

    model, trained = train(_settings(args), force=args.force)
    print(f"{'trained' if trained else 'up to date, not retrained:'} {model}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Index, model, action server and Rasa server; Ctrl-C stops both servers."""
    from bot.process.runner import run_forever

    return run_forever(_settings(args))


def cmd_report(args: argparse.Namespace) -> int:
    """What editors and agents read: unanswered questions, feedback, hand-off requests, service KPIs."""
    from bot.handoff.handoffs import HandoffStore
    from bot.handoff.kpis import compute_kpis, format_kpis, to_csv, to_xlsx
    from bot.handoff.records import Records
    from bot.handoff.tickets import TicketStore

    settings = _settings(args)
    if args.what == "conversations":
        return _report_conversations(args, settings)
    if args.what == "kpis":
        try:
            report = compute_kpis(settings.database_url, days=args.days, tz=settings.handoff.timezone)
        except ValueError as exc:  # --days below 1 or an unknown handoff.timezone
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if args.xlsx:
            Path(args.xlsx).write_bytes(to_xlsx(report))
            print(f"wrote {args.xlsx}")
        elif args.csv:
            sys.stdout.write(to_csv(report, args.csv))
        else:
            print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else format_kpis(report))
        return 0
    records = Records(settings.database_url)
    if args.what == "handoffs":
        rows = [h.to_json() for h in HandoffStore(settings.database_url).recent(args.limit)]
    elif args.what == "tickets":
        rows = [t.to_json() for t in TicketStore(settings.database_url).recent(args.limit)]
    else:
        rows = {"unanswered": records.recent_unanswered, "feedback": records.recent_feedback}[args.what](args.limit)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        if args.what == "unanswered":
            best = ", ".join(f"{c['id']}({c['fused']:.2f})" for c in row["candidates"][:3]) or "-"
            print(f"{row['created_at'][:19]}  [{row['channel']}] {row['question']}   候选: {best}")
        elif args.what == "tickets":
            print(
                f"{row['created_at'][:19]}  [{row['channel']}] {row['ticket']} {row['state']}  "
                f"{row['conversation_id']}  {row['question'] or '-'}"
            )
        elif args.what == "feedback":
            print(
                f"{row['created_at'][:19]}  [{row['channel']}] {'有帮助' if row['helpful'] else '没帮助'}  "
                f"{row['faq_id'] or '-'}  {row['question'] or ''}"
            )
        else:
            print(
                f"{row['created_at'][:19]}  [{row['channel']}] {row['ticket']} {row['reason']} "
                f"{row['state']}  {row['conversation_id']}  ({len(row['transcript'])} messages)"
            )
    if not rows:
        print(f"no {args.what} records yet")
    return 0


def _report_conversations(args: argparse.Namespace, settings: Settings) -> int:
    """The last ``--days`` local days' conversations and 留言, one row each: CSV on stdout,
    ``--xlsx FILE``, or ``--json``."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from bot.handoff.conversation_export import ConversationExport
    from bot.handoff.history import Query
    from bot.handoff.tables import csv_text, xlsx_bytes
    from faqbot.masking import masker_for

    if args.days < 1:
        print(f"error: days must be at least 1, not {args.days}", file=sys.stderr)
        return EXIT_USAGE
    today = datetime.now(UTC).astimezone(ZoneInfo(settings.handoff.timezone)).date()
    query = Query(since=today - timedelta(days=args.days - 1), until=today)
    export = ConversationExport(settings.database_url, settings.handoff.timezone, masker_for(settings.masking))
    rows = export.rows(query)
    from bot.handoff.audit import Action, AuditLog

    kind = "xlsx" if args.xlsx else "json" if args.json else "csv"
    detail = {"rows": len(rows) - 1, "days": args.days, "via": "cli"}
    AuditLog(settings.database_url).record(_cli_actor(), Action.EXPORT_CONVERSATIONS, "export", kind, detail)
    if args.xlsx:
        Path(args.xlsx).write_bytes(xlsx_bytes({"会话与留言": rows}))
        print(f"wrote {args.xlsx} ({len(rows) - 1} rows)")
    elif args.json:
        print(json.dumps([dict(zip(rows[0], row, strict=True)) for row in rows[1:]], ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(csv_text(rows))
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise ConfigError("no terminal to ask for the password on: pipe it in with --password-stdin")
    import getpass

    first = getpass.getpass("密码 / password: ")
    if getpass.getpass("再输入一次 / again: ") != first:
        raise ConfigError("the two passwords differ; nothing changed")
    return first


def cmd_agent(args: argparse.Namespace) -> int:
    """Console accounts: add, change password, role, list, disable."""
    from bot.handoff.agents import AgentError, AgentStore
    from bot.handoff.audit import Action, AuditLog
    from bot.handoff.teams import ADMIN, TeamError, Teams

    settings = _settings(args)
    agents = AgentStore(settings.database_url, settings.handoff.session_hours)
    teams = Teams(settings.database_url)
    audit = AuditLog(settings.database_url)
    actor = _cli_actor()  # the audit log says these changes came from the command line
    try:
        if args.agent_command == "add":
            # The first account administers the console (accounts, groups, team replies).
            role = args.role or (ADMIN if not teams.any_admin() else "agent")
            agent = agents.add(args.name, _read_password(args), args.display_name)
            teams.set_role(agent.name, role)
            audit.record(actor, Action.ACCOUNT_CREATE, "account", agent.name, {"new_role": role, "via": "cli"})
            print(f"added {role} {agent.name} ({agent.display_name}); sign in at /console/ on the bot's server")
        elif args.agent_command == "role":
            if not any(a.name == args.name for a in agents.accounts()):
                raise AgentError(f"no account named {args.name!r}")
            before = teams.role_of(args.name)
            teams.set_role(args.name, args.role)
            change = {"old": before, "new": args.role, "via": "cli"}
            audit.record(actor, Action.ROLE_CHANGE, "account", args.name, change)
            print(f"{args.name} is now {args.role}")
        elif args.agent_command == "passwd":
            agents.set_password(args.name, _read_password(args))
            audit.record(actor, Action.ACCOUNT_UPDATE, "account", args.name, {"changed": ["password"], "via": "cli"})
            print(f"password of {args.name} changed; their open sessions were signed out")
        elif args.agent_command == "disable":
            agents.disable(args.name)
            audit.record(actor, Action.ACCOUNT_DISABLE, "account", args.name, {"via": "cli"})
            print(f"agent {args.name} disabled and signed out")
        else:
            listed, roles = agents.accounts(), teams.roles()
            for agent in listed:
                seen = agent.last_seen.isoformat(timespec="seconds") if agent.last_seen else "never"
                print(f"{agent.name}\t{agent.display_name}\t{roles.get(agent.name, 'agent')}\tlast seen: {seen}")
            if not listed:
                print("no agents yet: add one with `faqbot agent add NAME`")
    except (AgentError, TeamError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    return 0


def _cli_actor() -> str:
    """Who the audit log names for a change made with this command: ``cli:<OS user>``."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid (a bare container)
        return f"cli:uid-{os.getuid()}"


def _since(text: str) -> datetime:
    """``--since``: an ISO date or time (UTC unless it says), or ``7d`` / ``12h`` back from now."""
    from datetime import UTC, timedelta

    text = text.strip()
    if text[:-1].isdigit() and text[-1:] in ("d", "h"):
        amount = int(text[:-1])
        return datetime.now(UTC) - (timedelta(days=amount) if text.endswith("d") else timedelta(hours=amount))
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: use 2026-12-07, 2026-12-07T08:00, 7d or 12h") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def cmd_audit(args: argparse.Namespace) -> int:
    """The audit log, newest first: who did what in the console and the studio."""
    from bot.handoff.audit import Action, AuditLog, Filter

    if args.action and args.action not in {a.value for a in Action}:
        print(f"error: --action must be one of {', '.join(a.value for a in Action)}", file=sys.stderr)
        return EXIT_INVALID
    settings = _settings(args)
    entries, total = AuditLog(settings.database_url).search(
        Filter(actor=args.actor or "", action=args.action or "", target=args.target or "", since=args.since),
        args.limit,
    )
    if args.json:
        print(json.dumps({"entries": [e.to_json() for e in entries], "total": total}, ensure_ascii=False, indent=2))
        return 0
    for e in entries:
        target = " ".join(t for t in (e.target_kind, e.target_id) if t)
        detail = json.dumps(e.detail, ensure_ascii=False, sort_keys=True) if e.detail else ""
        at = e.at.isoformat(timespec="seconds")
        print(f"{at}\t{e.actor}\t{e.role or '-'}\t{e.action}\t{target or '-'}\t{detail}\t{e.ip or '-'}")
    if not entries:
        print("no audit entries match")
    elif total > len(entries):
        print(f"({len(entries)} of {total}; --limit shows more)", file=sys.stderr)
    return 0


def cmd_privacy_purge(args: argparse.Namespace) -> int:
    """Delete what is older than its ``[retention]`` days (``--dry-run``: only count it)."""
    from bot.privacy.retention import KIND_NAMES, purge_and_record

    found = purge_and_record(_settings(args), _cli_actor(), dry_run=args.dry_run)
    if args.json:
        kinds = [p.to_json() for p in found]
        print(json.dumps({"dry_run": args.dry_run, "kinds": kinds}, ensure_ascii=False, indent=2))
        return 0
    verb = "将删除" if args.dry_run else "已删除"
    for p in found:
        if not p.days:
            print(f"{KIND_NAMES[p.kind]}（{p.kind}）：永久保留，不清理")
            continue
        tables = "，".join(f"{name} {n}" for name, n in p.tables.items())
        print(f"{KIND_NAMES[p.kind]}（{p.kind}，保留 {p.days} 天）：{verb} {p.total} 行（{tables}）")
    if args.dry_run:
        print("这是预演（--dry-run）：什么都没有删除。")
    return 0


def cmd_privacy_mask(args: argparse.Namespace) -> int:
    """Mask personal data in rows stored before masking at rest (``--dry-run``: only count them)."""
    from bot.privacy.backfill import mask_stored_and_record

    changed = mask_stored_and_record(_settings(args), _cli_actor(), dry_run=args.dry_run)
    tables = "，".join(f"{name} {n}" for name, n in changed.items())
    print(f"{'将遮盖' if args.dry_run else '已遮盖'} {sum(changed.values())} 行中的个人信息（{tables}）")
    if args.dry_run:
        print("这是预演（--dry-run）：什么都没有改。")
    return 0


def cmd_privacy_export(args: argparse.Namespace) -> int:
    """Everything stored about one person, as one JSON document (``--out FILE`` or stdout)."""
    from bot.privacy.subject import export_and_record

    data = export_and_record(_settings(args), args.user, _cli_actor())
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if args.out:
        try:
            Path(args.out).write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise _CliError(f"{args.out}: {exc.strerror or exc}") from None
        rows = sum(len(found) for found in data["stores"].values())
        print(f"已导出 {len(data['conversations'])} 个会话、{rows} 行到 {args.out}", file=sys.stderr)
    else:
        print(text)
    return 0


def cmd_privacy_delete(args: argparse.Namespace) -> int:
    """Delete everything stored about one person; without ``--yes`` only say what would go."""
    from bot.privacy.subject import delete, delete_and_record

    settings = _settings(args)
    if not args.yes:
        found = delete(settings, args.user, dry_run=True)
        tables = "，".join(f"{name} {n}" for name, n in found.tables.items() if n) or "没有数据"
        print(
            f"将删除 {args.user} 的 {len(found.conversations)} 个会话、共 {found.total} 行（{tables}）。\n"
            "删除不可恢复，什么都还没有删：确认后加 --yes 再运行一次。",
            file=sys.stderr,
        )
        return EXIT_INVALID
    done = delete_and_record(settings, args.user, _cli_actor())
    tables = "，".join(f"{name} {n}" for name, n in done.tables.items() if n) or "没有数据"
    print(f"已删除 {args.user} 的 {len(done.conversations)} 个会话、共 {done.total} 行（{tables}）。")
    return 0


def cmd_cluster(args: argparse.Namespace) -> int:
    """Several nodes behind nginx on this machine (``bot/process/cluster.py``)."""
    from bot.process import cluster, nginx_conf

    settings = _settings(args)
    if args.cluster_command == "down":
        cluster.down(settings)
        return 0
    if args.cluster_command == "status":
        print("\n".join(cluster.status_lines(settings)))
        return 0
    if args.cluster_command == "roll":
        cluster.roll(settings)
        return 0
    if args.cluster_command == "nginx-config":
        if args.servers:  # production: the nodes' addresses on their machines
            try:
                upstreams = [nginx_conf.Upstream.parse(text) for text in args.servers.split(",") if text.strip()]
            except ValueError as exc:
                raise cluster.ClusterError(f"--servers: {exc}") from None
        else:
            upstreams = [nginx_conf.Upstream(args.host, n.rasa_port) for n in cluster.plan(args.nodes, args.port_base)]
        print(nginx_conf.site(upstreams, args.listen, args.server_name), end="")
        return 0
    running = cluster.up(
        settings, args.nodes, listen=args.listen, port_base=args.port_base, database=args.database, redis=args.redis
    )
    print(
        f"\n{len(running.nodes)} nodes are running behind nginx.\n"
        f"  REST:      POST {running.url}/webhooks/rest/webhook\n"
        f"  widget:    {running.url}/demo/\n  console:   {running.url}/console/\n"
        f"  state:     {running.database} and {running.redis}\n"
        "`faqbot cluster status` shows each node; `faqbot cluster down` stops them all.",
        flush=True,
    )
    return 0


def _cluster_parser(sub: argparse._SubParsersAction) -> None:
    from bot.process.cluster import DEFAULT_DATABASE, DEFAULT_LISTEN, DEFAULT_PORT_BASE, DEFAULT_REDIS

    cluster = sub.add_parser("cluster", help="several bot nodes behind nginx on this machine").add_subparsers(
        dest="cluster_command", required=True
    )
    up = cluster.add_parser("up", help="start N nodes (Rasa + action server each) and nginx in front")
    config = cluster.add_parser("nginx-config", help="print the nginx site configuration (production: conf.d)")
    for command in (up, config):
        command.add_argument("--nodes", type=int, default=2, help="how many nodes (default 2)")
        command.add_argument("--listen", default=DEFAULT_LISTEN, help=f"nginx's address (default {DEFAULT_LISTEN})")
        command.add_argument(
            "--port-base",
            type=int,
            default=DEFAULT_PORT_BASE,
            help=f"node i serves on port-base+2(i-1), its actions on the next port (default {DEFAULT_PORT_BASE})",
        )
    up.add_argument("--database", default=DEFAULT_DATABASE, help=f"PostgreSQL (default {DEFAULT_DATABASE}, created)")
    up.add_argument("--redis", default=DEFAULT_REDIS, help=f"Redis (default {DEFAULT_REDIS})")
    config.add_argument("--host", default="127.0.0.1", help="where nginx reaches the nodes (default 127.0.0.1)")
    config.add_argument("--servers", help="the nodes as host:port,host:port,… (instead of --nodes/--host)")
    config.add_argument("--server-name", default="_", help="nginx server_name (default _)")
    cluster.add_parser("down", help="stop nginx and every node")
    cluster.add_parser("status", help="each node: running, ready")
    cluster.add_parser("roll", help="restart the nodes one at a time (a new version), never all at once")
    for command in cluster.choices.values():
        command.set_defaults(func=cmd_cluster)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="faqbot", description="Chinese FAQ customer-service bot")
    parser.add_argument("--kb-dir", help="knowledge-base folder (default: config kb_dir)")
    sub = parser.add_subparsers(dest="command", required=True)

    kb = sub.add_parser("kb", help="knowledge-base content").add_subparsers(dest="kb_command", required=True)
    validate = kb.add_parser("validate", help="check every KB file; non-zero exit on errors")
    validate.add_argument("--warnings", action="store_true", help="also print warnings")
    validate.set_defaults(func=cmd_kb_validate)
    imp = kb.add_parser("import", help="import a CSV/XLSX (问题, 相似问题, 答案, 分类) into kb_content/")
    imp.add_argument("file")
    imp.set_defaults(func=cmd_kb_import)
    gaps = kb.add_parser(
        "gaps",
        help="what the KB is missing: questions the bot did not answer well (misses, clarifies, fallbacks,"
        " 没帮助), grouped by meaning, most customers first, with the nearest FAQ",
    )
    gaps.add_argument(
        "--from",
        dest="from_file",
        metavar="FILE",
        help="questions from a file: one per line, or JSON lines with 'text'",
    )
    gaps.add_argument("--days", type=int, default=7, help="the bot's records of the last N days (default 7)")
    gaps.add_argument("--limit", type=int, default=50, help="at most this many groups (default 50)")
    gaps.add_argument("--threshold", type=float, default=None, help="grouping cut (cosine after centring; default 0.5)")
    gaps.add_argument("--json", action="store_true", help='print {"gaps": [{"questions", "count", ...}]}')
    gaps.set_defaults(func=cmd_kb_gaps)
    health = kb.add_parser(
        "health", help="how each entry does: answers, picks, 有帮助/没帮助, hand-offs right after it"
    )
    health.add_argument("--days", type=int, default=30, help="the last N days (default 30)")
    health.add_argument("--review", action="store_true", help="only the entries to review, most 没帮助 first")
    health.add_argument("--json", action="store_true")
    health.set_defaults(func=cmd_kb_health)
    regress = kb.add_parser(
        "regress", help="the regression set (questions with the FAQ that should answer them) against the index"
    )
    regress.add_argument("--set", metavar="FILE.jsonl", help='cases from a file: {"question", "faq_id"} a line')
    regress.add_argument(
        "--candidate",
        action="store_true",
        help="also build the KB as it is now (not published) and compare; exit 1 when a case is lost",
    )
    regress.add_argument("--json", action="store_true")
    regress.set_defaults(func=cmd_kb_regress)
    recal = kb.add_parser("recalibrate", help="the lowest answer threshold reaching a precision on the regression set")
    recal.add_argument("--target", type=float, default=0.9, help="precision to reach (default 0.9)")
    recal.add_argument("--write", action="store_true", help="write it to decision.yml (published by index build)")
    recal.add_argument("--set", metavar="FILE.jsonl", help="cases from a file instead of the database")
    recal.add_argument("--json", action="store_true")
    recal.set_defaults(func=cmd_kb_recalibrate)

    related = kb.add_parser(
        "related", help="猜你想问 to add: entries customers were answered with next, not yet in related:"
    )
    related.add_argument("--days", type=int, default=30, help="the bot's records of the last N days (default 30)")
    related.add_argument("--json", action="store_true")
    related.set_defaults(func=cmd_kb_related)
    index = sub.add_parser("index", help="search index").add_subparsers(dest="index_command", required=True)
    build = index.add_parser("build", help="validate, build and publish a new index version")
    build.add_argument("--full", action="store_true", help="re-embed everything, ignoring the cache")
    build.set_defaults(func=cmd_index_build)
    index.add_parser("rollback", help="go back to the previously published version").set_defaults(
        func=cmd_index_rollback
    )
    index.add_parser("status", help="show the current version and its manifest").set_defaults(func=cmd_index_status)

    ask_p = sub.add_parser("ask", help="hit-test one question against the published index")
    ask_p.add_argument("question", nargs="+")
    ask_p.add_argument("-k", type=int, default=5, help="candidates to show (default 5)")
    ask_p.add_argument("--json", action="store_true")
    ask_p.set_defaults(func=cmd_ask)

    ev = sub.add_parser("eval", help="retrieval quality on a benchmark (shared/eval format)")
    ev.add_argument("--kb", required=True, help="KB JSON Lines file")
    ev.add_argument("--queries", required=True, help="queries JSON Lines file")
    ev.add_argument("--synonyms", help="apply this synonyms.txt to the benchmark's questions and queries")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.set_defaults(func=cmd_eval)

    sub.add_parser("hittest", help="interactive hit-test prompt over the published index").set_defaults(
        func=cmd_hittest
    )
    tr = sub.add_parser("train", help="train the Rasa model if its inputs changed")
    tr.add_argument("--force", action="store_true", help="train even when a model for these inputs exists")
    tr.set_defaults(func=cmd_train)
    sub.add_parser(
        "run", help="run the bot: index, model, action server and Rasa server (REST + socket.io)"
    ).set_defaults(func=cmd_run)
    agent = sub.add_parser("agent", help="agent console accounts").add_subparsers(dest="agent_command", required=True)
    for name, text in (
        ("add", "create an account (password asked twice, or --password-stdin)"),
        ("passwd", "set a new password (signs the agent out everywhere)"),
        ("disable", "disable an account and sign it out"),
    ):
        command = agent.add_parser(name, help=text)
        command.add_argument("name")
        if name != "disable":
            command.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
        if name == "add":
            command.add_argument("--display-name", help="the name users see, e.g. 小李 (default: the account name)")
            command.add_argument(
                "--role",
                choices=["admin", "agent", "editor"],
                help="admin manages the console, editor uses the studio (default: admin for the first)",
            )
        command.set_defaults(func=cmd_agent)
    role = agent.add_parser(
        "role", help="make an account an admin (manages accounts, groups), an editor (the studio) or an agent"
    )
    role.add_argument("name")
    role.add_argument("role", choices=["admin", "agent", "editor"])
    role.set_defaults(func=cmd_agent)
    agent.add_parser("list", help="accounts and when they were last signed in").set_defaults(func=cmd_agent)
    audit = sub.add_parser("audit", help="the audit log of the console and studio").add_subparsers(
        dest="audit_command", required=True
    )
    listing = audit.add_parser("list", help="who did what, newest first (tab-separated, or --json)")
    listing.add_argument("--actor", help="exactly this account (cli:<user> for command-line changes)")
    listing.add_argument("--action", help="one action, e.g. sign_in, reply, role_change, kb_publish, view")
    listing.add_argument("--target", help="the target's id contains this (a hand-off id, an account name)")
    listing.add_argument("--since", type=_since, help="2026-12-07, 2026-12-07T08:00 (UTC unless given), 7d or 12h")
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_audit)
    privacy = sub.add_parser(
        "privacy", help="personal data: retention purge, a person's data exported or deleted"
    ).add_subparsers(dest="privacy_command", required=True)
    purge = privacy.add_parser("purge", help="delete what is older than its [retention] days, per kind")
    purge.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    purge.add_argument("--json", action="store_true")
    purge.set_defaults(func=cmd_privacy_purge)
    mask = privacy.add_parser(
        "mask-stored", help="mask personal data in rows stored before masking at rest (or a new pattern)"
    )
    mask.add_argument("--dry-run", action="store_true", help="only count the rows that would change")
    mask.set_defaults(func=cmd_privacy_mask)
    exp = privacy.add_parser("export", help="everything stored about one person, as JSON (个人信息查阅、复制)")
    exp.add_argument("--user", required=True, help="their conversation id (e.g. wecom:…) or verified site user id")
    exp.add_argument("--out", metavar="FILE", help="write the JSON here (default: stdout)")
    exp.set_defaults(func=cmd_privacy_export)
    rm = privacy.add_parser("delete", help="delete everything stored about one person, in every store (个人信息删除)")
    rm.add_argument("--user", required=True, help="their conversation id (e.g. wecom:…) or verified site user id")
    rm.add_argument("--yes", action="store_true", help="really delete (without it: only show what would be deleted)")
    rm.set_defaults(func=cmd_privacy_delete)
    rep = sub.add_parser(
        "report",
        help="recent unanswered questions, feedback, hand-off requests or 留言 (tickets: drafting, open,"
        " answered, cancelled, escaped), the service KPIs (kpis), or every conversation and 留言 of the"
        " last --days as a table (conversations: CSV on stdout, --xlsx FILE, --json)",
    )
    rep.add_argument("what", choices=["unanswered", "feedback", "handoffs", "tickets", "kpis", "conversations"])
    rep.add_argument("--limit", type=int, default=50)
    rep.add_argument("--days", type=int, default=14, help="kpis: the last N local days, today included (default 14)")
    rep.add_argument("--json", action="store_true")
    rep.add_argument(
        "--csv",
        metavar="TABLE",
        choices=["by_day", "by_channel", "by_agent", "by_category", "top_questions", "top_unanswered", "sensitive"],
        help="kpis: one table as CSV on stdout (by_day, by_channel, by_agent, by_category, top_questions,"
        " top_unanswered, sensitive)",
    )
    rep.add_argument(
        "--xlsx", metavar="FILE", help="kpis: every table, one sheet each; conversations: the table, into an Excel file"
    )
    rep.set_defaults(func=cmd_report)
    _cluster_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from indexer.kb import KBInvalid

    try:
        return args.func(args)
    except KBInvalid as exc:
        errors = [p for p in exc.problems if p.severity == "error"]
        for problem in errors:
            print(problem, file=sys.stderr)
        warnings_ = len(exc.problems) - len(errors)
        see = "运行 `faqbot kb validate --warnings` 查看警告。" if warnings_ else ""
        print(_kb_not_indexed(len(errors), warnings_) + see, file=sys.stderr)
        return EXIT_INVALID
    except UserError as exc:  # an expected failure (faqbot/errors.py): its message says what to fix
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # last resort: one line, not a traceback
        if os.environ.get("FAQBOT_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (set FAQBOT_DEBUG=1 for details)", file=sys.stderr)
        return EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())

"""The fitted confidence (indexer/confidence.py) and the out-of-scope signals it reads
(indexer/evidence.py), on real indexes: the sample KB's (fitted at build) and the tiny KB's
(too small to fit: the configured decision applies)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from sklearn.metrics import roc_auc_score

from indexer import confidence
from indexer.confidence import ConfidenceModel
from indexer.decide import ANSWER, FALLBACK, decide
from indexer.evidence import Exclusion, QueryContent
from indexer.manifest import MANIFEST, IndexCorrupt, manifest_checksum, verify_version
from indexer.search import Searcher
from indexer.service import ask, build_and_publish, open_current, store_for

DATA = Path(__file__).parent.parent / "data"


def out_of_scope() -> list[str]:
    lines = (DATA / "out_of_scope.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def paraphrases() -> list[tuple[str, str]]:
    rows = []
    for path in sorted((DATA / "paraphrases").glob("*.jsonl")):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(row["query"], row["id"]) for row in rows]


def test_the_evaluation_set_is_not_in_the_kb(sample_searcher):
    questions = {q for e in sample_searcher.entries for q in e.questions}
    assert len(out_of_scope()) >= 40
    assert not questions & set(out_of_scope())
    assert not questions & {q for q, _ in paraphrases()}


def test_coverage_and_novelty_say_what_the_entry_does_not_talk_about(sample_searcher):
    top = sample_searcher.search("POS机怎么激活").candidates[0]
    assert top.entry.id == "pos-activation"
    assert top.evidence.coverage == pytest.approx(1.0) and top.evidence.novelty == 0.0
    # 护照 is nowhere in the KB: what the best guess covers of the question is small, and new.
    guess = sample_searcher.search("怎么申请护照").candidates[0]
    assert guess.evidence.coverage < 0.5 and guess.evidence.novelty > 0.3
    assert guess.evidence.dense_rank >= 0 and guess.evidence.query_chars == len("怎么申请护照")


def test_leaving_a_question_out_searches_as_if_it_were_not_indexed(sample_searcher):
    s = sample_searcher
    doc = s.texts.index("提现手续费是多少？")
    entry = int(s.owners[doc])
    alone = s.search(s.texts[doc], query_vector=s.vectors[doc])
    assert alone.candidates[0].matched_question == s.texts[doc] and alone.candidates[0].bm25 == pytest.approx(1.0)
    held = s.search(s.texts[doc], query_vector=s.vectors[doc], without=Exclusion(frozenset({doc})))
    assert all(c.matched_question != s.texts[doc] for c in held.candidates)
    assert held.candidates[0].entry.id == s.entries[entry].id  # its other questions still find it
    whole = frozenset(range(int(s.starts[entry]), int(s.starts[entry + 1])))
    gone = s.search(s.texts[doc], query_vector=s.vectors[doc], without=Exclusion(whole))
    assert s.entries[entry].id not in [c.entry.id for c in gone.candidates]


def test_a_word_only_the_left_out_questions_hold_is_unseen(sample_searcher):
    s = sample_searcher
    units = frozenset({"防钓鱼码"})
    seen = QueryContent.read(units, s.bm25)
    holders = frozenset(d for d in range(len(s.texts)) if "防钓鱼码" in s.match_text(s.texts[d]))
    assert holders and seen.novelty == 0.0
    assert QueryContent.read(units, s.bm25, holders).novelty == pytest.approx(1.0)


def test_the_sample_kb_version_carries_its_fitted_model(sample_searcher):
    model = sample_searcher.model
    assert model is not None and model.features == confidence.FEATURES
    assert 0.0 < model.clarify_threshold < model.answer_threshold < 1.0
    assert model.fitted["in_scope"] >= confidence.MIN_IN_SCOPE and model.fitted["auc"] > 0.8
    # The version decides with the model's thresholds (no decision.yml in the sample KB).
    assert sample_searcher.decision.answer_threshold == model.answer_threshold
    assert ConfidenceModel.from_json(json.loads(json.dumps(model.to_json()))) == model


def test_the_model_ranks_right_answers_above_wrong_ones_better_than_the_score_alone(sample_searcher):
    asked = [(q, gold) for q, gold in paraphrases()] + [(q, None) for q in out_of_scope()]
    configured = sample_searcher.settings.decision
    right, before, after = [], [], []
    for question, gold in asked:
        candidates = sample_searcher.search(question).candidates
        right.append(candidates[0].entry.id == gold)
        before.append(decide(candidates, configured).confidence)
        after.append(sample_searcher.decide(candidates).confidence)
    assert roc_auc_score(right, after) > roc_auc_score(right, before) > 0.9


def test_out_of_scope_questions_fall_back_and_paraphrases_are_served(sample_searcher):
    rejected = [q for q in out_of_scope() if ask(sample_searcher, q)[1].action == FALLBACK]
    assert len(rejected) >= 0.55 * len(out_of_scope())
    assert ask(sample_searcher, "今天比特币的价格是多少")[1].action == FALLBACK
    served = answered = right = 0
    for question, gold in paraphrases():
        decision = ask(sample_searcher, question)[1]
        served += decision.action != FALLBACK
        if decision.action == ANSWER:
            answered += 1
            right += decision.candidates[0].entry.id == gold
    assert served >= 0.97 * len(paraphrases())
    assert answered >= 0.6 * len(paraphrases()) and right >= 0.97 * answered


def test_a_long_message_is_read_by_the_fit_over_its_scores(sample_searcher):
    short = sample_searcher.search("提币要收多少手续费").candidates
    long = [dataclasses.replace(c, evidence=dataclasses.replace(c.evidence, query_chars=500)) for c in short]
    model = sample_searcher.model
    assert model is not None and model.long_coef
    assert model.probability(long) != model.probability(short)


def test_fit_confidence_off_decides_as_before(sample_searcher):
    settings = sample_searcher.settings
    off = settings.replace(decision=dataclasses.replace(settings.decision, fit_confidence=False))
    plain = Searcher(sample_searcher.directory, off, sample_searcher.embedder)
    assert plain.model is None and plain.decision.answer_threshold == settings.decision.answer_threshold
    candidates = plain.search("提现多久到账").candidates
    assert plain.decide(candidates).confidence == decide(candidates, settings.decision).confidence


def test_a_tiny_kb_keeps_the_configured_decision(tiny_kb, embedder):
    manifest = build_and_publish(tiny_kb, embedder=embedder).manifest
    assert "confidence" not in manifest  # 3 entries: too few questions to fit on
    searcher = open_current(tiny_kb, embedder)
    assert searcher.model is None and searcher.decision == tiny_kb.decision


def test_a_malformed_model_is_a_corrupt_version(tiny_kb, embedder, sample_searcher):
    build_and_publish(tiny_kb, embedder=embedder)
    version = store_for(tiny_kb).current()
    assert sample_searcher.model is not None
    data = json.loads((version / MANIFEST).read_text(encoding="utf-8"))
    data["confidence"] = {**sample_searcher.model.to_json(), "coef": [1.0]}  # one coefficient, 13 features
    data["checksum"] = manifest_checksum(data)
    (version / MANIFEST).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(IndexCorrupt, match="malformed"):
        verify_version(version)


def test_a_model_fitted_by_an_older_fit_is_refitted_by_the_next_build(sample_searcher):
    # The KB unchanged, a version whose model an older fit made is not up to date: the fit's
    # thresholds changed (FIT_VERSION), so `faqbot index build` refits instead of "up to date".
    settings = sample_searcher.settings
    manifest = verify_version(store_for(settings).current())
    assert manifest.confidence is not None and manifest.confidence.fitted["version"] == confidence.FIT_VERSION
    assert manifest.is_up_to_date(manifest.content_hash, settings, sample_searcher.embedder)
    older = dataclasses.replace(
        manifest.confidence, fitted={**manifest.confidence.fitted, "version": confidence.FIT_VERSION - 1}
    )
    stale = dataclasses.replace(manifest, confidence=older)
    assert not stale.is_up_to_date(manifest.content_hash, settings, sample_searcher.embedder)
    unversioned = dataclasses.replace(manifest, confidence=dataclasses.replace(older, fitted={"auc": 0.9}))
    assert not unversioned.is_up_to_date(manifest.content_hash, settings, sample_searcher.embedder)

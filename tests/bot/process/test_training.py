"""Training is keyed by its inputs: FAQ edits never retrain, dictionary edits do."""

from __future__ import annotations

import shutil

from bot.process.training import jieba_dictionary, model_path, training_hash
from tests.conftest import SAMPLE_KB


def test_faq_edits_do_not_change_the_model_but_terms_do(settings):
    shutil.copytree(SAMPLE_KB, settings.kb_dir, dirs_exist_ok=True)
    before = training_hash(settings)
    some_file = next(p for p in sorted(settings.kb_dir.glob("*.yml")))
    some_file.write_text(
        some_file.read_text(encoding="utf-8").replace("answer: |", "answer: |\n      新增一句。", 1), encoding="utf-8"
    )
    assert training_hash(settings) == before
    with open(settings.kb_dir / "terms.txt", "a", encoding="utf-8") as terms:
        terms.write("数字人民币\n")
    assert training_hash(settings) != before
    assert "数字人民币 2000" in jieba_dictionary(settings)
    assert model_path(settings).name == f"bot-{training_hash(settings)}.tar.gz"

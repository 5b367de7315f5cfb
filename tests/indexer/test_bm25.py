import numpy as np

from faqbot.normalize import normalize
from indexer.bm25 import BM25
from indexer.tokenize import Tokenizer


def test_user_dictionary_keeps_domain_terms_whole():
    plain = Tokenizer().words(normalize("企业认证可以取消吗"))
    assert "企业认证" not in plain
    tok = Tokenizer(["企业认证", "POS机", "人工客服"])
    assert "企业认证" in tok.words(normalize("企业认证可以取消吗"))
    assert "pos机" in tok.words(normalize("个人能申请ＰＯＳ機吗"))
    assert "人工客服" in tok.words(normalize("我要找人工客服"))


def test_bm25_ranks_and_normalises(tmp_path):
    tok = Tokenizer(["提现"])
    docs = ["提现手续费是多少", "账户被冻结了怎么办", "个人可以申请pos机吗"]
    bm25 = BM25.build([tok.terms(d) for d in docs])
    scores = bm25.scores(tok.terms("提现要多少手续费"))
    assert int(np.argmax(scores)) == 0
    self_score = bm25.scores(tok.terms(docs[1]))[1]
    assert abs(self_score - 1.0) < 1e-4
    assert bm25.scores(tok.terms("完全无关的天气预报"))[0] < 0.2
    bm25.save(tmp_path)
    again = BM25.load(tmp_path)
    assert np.allclose(again.scores(tok.terms("提现手续费")), bm25.scores(tok.terms("提现手续费")))


def test_terms_of_a_range_of_documents():
    tok = Tokenizer(["提现"])
    docs = ["提现手续费是多少", "账户被冻结了怎么办", "个人可以申请pos机吗"]
    bm25 = BM25.build([tok.terms(d) for d in docs])
    first, rest = set(bm25.doc_terms(0, 1).tolist()), set(bm25.doc_terms(1, 3).tolist())
    assert set(bm25.term_ids(["w:提现", "c:提现"]).tolist()) <= first and not first & set(bm25.term_ids(["w:冻结"]))
    assert set(bm25.term_ids(["w:冻结", "w:pos机"]).tolist()) <= rest
    assert len(bm25.term_ids(["w:天气"])) == 0  # a term the KB never saw has no column

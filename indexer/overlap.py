"""Does a candidate entry share any content with the question? (issue #16)

The dense model scores "今天比特币的价格是多少" close to "今天刷的钱怎么还没到": both are
short customer questions. A button or an answer whose entry has not one content word in
common with the question tells the customer the bot is guessing, so the decision
(``indexer/decide.py``) offers only candidates with ``shares_content``.

"Content" of a normalised text (synonyms applied, so 提币 and 提现 are the same word):

- its jieba words (with the KB's user dictionary: ``terms.txt`` and the tags), without
  stopwords, question and time words (``GENERIC_WORDS``: 多少, 怎么办, 今天 …) and
  one-character particles (``STOP_CHARS``);
- its CJK character bigrams, without those of the generic words and those containing a
  particle: they survive segmentation differences (注销账户 / 注销账号 share 注销) and typos;
- its runs of two or more Latin letters or digits (app, erc20).

An entry's content is that of all its questions (looked up in the BM25 index, which holds
their words and bigrams already), its tags and its answer (a paraphrase often uses the
answer's words, not the question's; bigrams and Latin runs only, to spare a jieba pass).
A candidate shares content when the two sets meet, or when its BM25 score (IDF-weighted lexical coverage of the query,
1.0 = verbatim) reaches ``BM25_FLOOR``: segmentation can split a word both sides have
("为什么不扣我钱" / "为什么不扣钱"). Chosen by measurement: BENCHMARKS.md, "Clarify buttons".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from indexer.tokenize import STOPWORDS

# Words every kind of question has: they say nothing about which entry is meant.
GENERIC_WORDS = frozenset(
    "怎么办 多少 多久 什么时候 时候 哪里 哪儿 哪些 为啥 怎么样 是不是 能不能 可不可以 有没有 需要 "
    "怎么回事 咋办 咋整 没有 不是 现在 今天 明天 昨天 一直 已经 知道 告诉 帮我 我们 你们 他们 一个 "
    "一些 还是 或者 但是 因为 所以 然后 可是 还要 之后 以后 什么样 几天 多长时间 应该 是否 到底 为何".split()
)
# One-character particles, pronouns and negations: neither a word nor part of a bigram that counts.
STOP_CHARS = frozenset({w for w in STOPWORDS if len(w) == 1} | set("吗么啥咋哪几多少怎没不给把被让"))
# The bigrams inside generic words and stopwords (什么, 怎么, 可以 …).
GENERIC_BIGRAMS = frozenset(w[i : i + 2] for w in GENERIC_WORDS | STOPWORDS for i in range(len(w) - 1))
# A candidate whose BM25 score reaches this shares content whatever the sets say.
BM25_FLOOR = 0.4

_CJK_RUN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]+")
_LATIN_RUN = re.compile(r"[a-z0-9]{2,}")


def content_units(text: str, words: Iterable[str]) -> frozenset[str]:
    """The content of normalised ``text``; ``words``: its jieba words (``Tokenizer.words``)."""
    units = {w for w in words if w not in GENERIC_WORDS and w not in STOP_CHARS}
    for run in _CJK_RUN.findall(text):
        for i in range(len(run) - 1):
            gram = run[i : i + 2]
            if gram not in GENERIC_BIGRAMS and gram[0] not in STOP_CHARS and gram[1] not in STOP_CHARS:
                units.add(gram)
    units.update(_LATIN_RUN.findall(text))
    return frozenset(units)


def shares_content(query_units: frozenset[str], entry_units: frozenset[str], bm25: float) -> bool:
    """The rule above: a content unit in common, or enough lexical coverage."""
    return bm25 >= BM25_FLOOR or not query_units.isdisjoint(entry_units)

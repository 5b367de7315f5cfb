"""Follow-up resolution: a short, unconfident message right after an answer is
read with that answer's topic ("那要多久？" after 提现手续费).

One step of the turn's decision (``bot/dialogue/turn.py`` composes it): it runs
retrieval and may turn its ``Decision`` into an answer. Pure apart from the
search itself (the embedding is CPU work: callers on an event loop run it in
an executor); no Rasa imports.
"""

from __future__ import annotations

from indexer.decide import ANSWER, CLARIFY, FALLBACK, Decision
from indexer.search import Searcher, SearchResult
from indexer.service import ask

# How far down the follow-up's own ranking the resolved FAQ may sit.
FOLLOWUP_POOL = 20
# How many of the follow-up's word-sharing candidates are looked at for the
# previous answer's category.
FOLLOWUP_TOPIC_WINDOW = 5


# The topic's entry is taken over another topic's answer when the message's own words match it
# at least this well (BM25 of the message alone, relative to the other answer's).
LEXICAL_PAR = 0.8


def resolve(
    searcher: Searcher, text: str, last_faq_id: str | None, followup_max_chars: int
) -> tuple[SearchResult, Decision, bool]:
    """Search ``text``; a short message right after an answer may be a follow-up
    and is resolved within that topic first:

    1. the message is retried with the previous answer's tags (its topic); the
       retry's answer (the previous entry itself left out: the customer asks
       something else about it) wins when it is confident, shares words with
       the message, and is in the previous answer's category, or the message
       alone was not confident; the retry's best clarify choice wins the same
       way when the message alone found nothing (a fallback) and it is in the
       previous answer's category ("退货退款" + "那要多久？" → 退款多久能到账;
       "怎么投诉商家" + "那怎么查进度" → 投诉处理进度, not POS 申请进度);
    2. otherwise, for an unconfident message, exactly one of its own
       word-sharing candidates is in the previous answer's category → that one.

    Nonsense ("啊啊") shares no words with any FAQ and is never "resolved".
    The flag says the context was used.
    """
    # One search, deep enough for the follow-up checks; the decision only
    # looks at the first few candidates.
    result, decision = ask(searcher, text, k=FOLLOWUP_POOL)
    previous = searcher.by_id.get(last_faq_id) if last_faq_id else None
    if previous is None or len(result.normalised.replace(" ", "")) > followup_max_chars:
        return result, decision, False
    lexical = {c.entry.id: c for c in result.candidates if c.bm25 > 0}
    topic = " ".join(previous.tags) if previous.tags else previous.question
    result2 = searcher.search(f"{topic} {text}", k=FOLLOWUP_POOL)
    decision2 = searcher.decide([c for c in result2.candidates if c.entry.id != previous.id])
    if decision2.action in (ANSWER, CLARIFY) and decision2.candidates:
        best = decision2.candidates[0]
        in_topic = best.entry.category == previous.category
        if decision2.action == ANSWER:
            taken = in_topic or decision.action != ANSWER
        else:  # unsure with its topic: the topic decides when the message alone found nothing, or
            # found another topic's entry that its words fit no better ("手续费呢" after a POS answer)
            alone = decision.candidates[0] if decision.action == ANSWER and decision.candidates else None
            fits_as_well = (
                alone is not None
                and alone.entry.category != previous.category
                and best.entry.id in lexical
                and lexical[best.entry.id].bm25 >= LEXICAL_PAR * alone.bm25
            )
            taken = in_topic and (decision.action == FALLBACK or fits_as_well)
            decision2 = decision2.answered_with(best)
        if best.entry.id in lexical and taken:
            changed = decision.action != ANSWER or decision.candidates[0].entry.id != best.entry.id
            return result2, decision2, changed
    if decision.action == ANSWER:
        return result, decision, False
    same_topic = [c for c in list(lexical.values())[:FOLLOWUP_TOPIC_WINDOW] if c.entry.category == previous.category]
    if len(same_topic) == 1 and same_topic[0].entry.id != previous.id:
        return result, decision.answered_with(same_topic[0]), True
    return result, decision, False

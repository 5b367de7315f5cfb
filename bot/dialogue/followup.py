"""Follow-up resolution: a short, unconfident message right after an answer is
read with that answer's topic ("那要多久？" after 提现手续费).

One step of the turn's decision (``bot/dialogue/turn.py`` composes it): it runs
retrieval and may turn its ``Decision`` into an answer. Pure apart from the
search itself (the embedding is CPU work: callers on an event loop run it in
an executor); no Rasa imports.
"""

from __future__ import annotations

from indexer.decide import ANSWER, Decision
from indexer.search import Searcher, SearchResult
from indexer.service import ask

# How far down the follow-up's own ranking the resolved FAQ may sit.
FOLLOWUP_POOL = 20
# How many of the follow-up's word-sharing candidates are looked at for the
# previous answer's category.
FOLLOWUP_TOPIC_WINDOW = 5


def resolve(
    searcher: Searcher, text: str, last_faq_id: str | None, followup_max_chars: int
) -> tuple[SearchResult, Decision, bool]:
    """Search ``text``; a short, unconfident message right after an answer may
    be a follow-up and is resolved with that topic:

    1. among the message's own candidates that share words with it, exactly
       one is in the previous answer's category → that one;
    2. otherwise the message is retried with the previous answer's tags, and
       the retry wins when it is confident and lands on an FAQ the message
       itself shares words with.

    Nonsense ("啊啊") shares no words with any FAQ and is never "resolved".
    The flag says the context was used.
    """
    # One search, deep enough for the follow-up checks; the decision only
    # looks at the first few candidates.
    result, decision = ask(searcher, text, k=FOLLOWUP_POOL)
    previous = searcher.by_id.get(last_faq_id) if last_faq_id else None
    if decision.action == ANSWER or previous is None or len(result.normalised.replace(" ", "")) > followup_max_chars:
        return result, decision, False
    lexical = [c for c in result.candidates if c.bm25 > 0]
    same_topic = [c for c in lexical[:FOLLOWUP_TOPIC_WINDOW] if c.entry.category == previous.category]
    if len(same_topic) == 1:
        return result, decision.answered_with(same_topic[0]), True
    topic = " ".join(previous.tags) if previous.tags else previous.question
    result2, decision2 = ask(searcher, f"{topic} {text}")
    if decision2.action == ANSWER and decision2.candidates[0].entry.id in {c.entry.id for c in lexical}:
        return result2, decision2, True
    return result, decision, False
